"""A bounded load generator on loopback: N threads, each POSTing pre-signed notifications over a
new connection per request (gunicorn's sync workers close it), until a request count or a time
limit is reached."""

import http.client
import itertools
import threading
import time


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def fire(port, path, requests, *, concurrency, max_seconds):
    """POST each ``(body, headers)`` of ``requests`` (at most, within ``max_seconds``) with
    ``concurrency`` threads. Returns throughput, latencies (ms) and errors, and per request the
    ``(index, accepted_at)`` of the 2xx answers."""
    lock = threading.Lock()
    counter = itertools.count()
    latencies, errors, accepted = [], {}, []
    deadline = time.monotonic() + max_seconds

    def worker():
        while time.monotonic() < deadline:
            index = next(counter)
            if index >= len(requests):
                return
            body, headers = requests[index]
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                conn.close()
            except OSError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                    accepted.append((index, time.time()))
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - began
    return {
        "concurrency": concurrency,
        "requests": len(latencies) + sum(errors.values()),
        "ok": len(latencies),
        "errors": errors,
        "seconds": duration,
        "rps": len(latencies) / duration if duration else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "accepted": accepted,
    }

"""Ingestion benchmarks of ``make bench``, decided by medians of alternated rounds (the cores are
shared, so absolute figures move; runs made side by side, A/B/A/B, move together):

- ``ingestion_rounds``: the callback against the floor at one concurrency, alternating.
- ``drain_rounds``: the callback with the site's workers running, idle against while a burst of
  paid notifications drains (the workers and the web processes share the database's write lock).
- ``pay_flood``: how many orders 600 clicks of one pay link from one client create.
"""

import http.client
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.load import fire
from tests.stack import paid_body, signed_headers

FLOOR_PATH = "/bench/floor/"
_serials = itertools.count(1)


def notifications(secret, count, prefix):
    """``count`` signed notifications, each for a payment nobody made (the callback's work
    without the workers' work), each with an event id of its own."""
    requests = []
    for _ in range(count):
        serial = next(_serials)
        payment = {
            "reference": f"GPBENCH{prefix}{serial:09d}",
            "amount": "49.00",
            "currency": "EUR",
            "provider_reference": f"ch_bench{prefix}{serial}",
        }
        body = paid_body(payment, f"ingest{serial}@example.com", event_id=f"evt_{prefix}{serial}")
        requests.append((body, signed_headers(secret, body)))
    return requests


def _run(stack, path, requests, level, seconds, **labels):
    result = fire(stack.port, path, requests, concurrency=level, max_seconds=seconds)
    result.pop("accepted")
    return {**labels, **result}


def ingestion_rounds(
    stack, *, secret, floor_secret, notify_path, level, rounds, requests, seconds, log
):
    """``rounds`` pairs of (floor, guestpay) runs at ``level`` clients; every run as a row."""
    rows = []
    for index in range(rounds):
        for target in ("floor", "guestpay"):
            batch = notifications(
                floor_secret if target == "floor" else secret,
                requests,
                "f" if target == "floor" else "g",
            )
            row = _run(
                stack,
                FLOOR_PATH if target == "floor" else notify_path,
                batch,
                level,
                seconds,
                setup=stack.kind,
                target=target,
                round=index,
            )
            rows.append(row)
            log(
                f"  {stack.kind} {target:8} c={level:<3} round {index}: {row['rps']:7.1f} "
                f"req/s p99 {row['p99_ms']:6.1f} ms errors {row['errors']}"
            )
    return rows


def drain_rounds(stack, *, secret, notify_path, burst, level, rounds, requests, seconds, log):
    """With one qcluster running: ``rounds`` pairs of (idle, draining) ingestion runs at
    ``level`` clients; before each draining run, ``burst`` paid notifications for real orders
    are accepted (16 clients), and the run starts while the workers drain them."""
    import httpx

    def click(_):
        with httpx.Client() as client:
            return stack.click_pay(client)

    rows = []
    for index in range(rounds):
        idle = _run(
            stack,
            notify_path,
            notifications(secret, requests, "i"),
            level,
            seconds,
            setup=stack.kind,
            target="idle",
            round=index,
        )
        rows.append(idle)
        with ThreadPoolExecutor(max_workers=4) as pool:
            payments = list(pool.map(click, range(burst)))
        _wait_drained(stack, 120)
        paid = []
        for payment in payments:
            body = paid_body(payment, f"drain{payment['reference'].lower()}@example.com")
            paid.append((body, signed_headers(secret, body)))
        fired = fire(stack.port, notify_path, paid, concurrency=16, max_seconds=120)
        draining = _run(
            stack,
            notify_path,
            notifications(secret, requests, "d"),
            level,
            seconds,
            setup=stack.kind,
            target="draining",
            round=index,
            burst_accepted=fired["ok"],
            backlog_after=_backlog(stack),
        )
        rows.append(draining)
        for row in (idle, draining):
            log(
                f"  {stack.kind} {row['target']:8} c={level} round {index}: {row['rps']:7.1f} "
                f"req/s p99 {row['p99_ms']:6.1f} ms errors {row['errors']}"
                + (
                    f" (burst accepted {row['burst_accepted']}, still waiting after the run: "
                    f"{row['backlog_after']})"
                    if row["target"] == "draining"
                    else ""
                )
            )
        _wait_drained(stack, 180)
    return rows


def _backlog(stack):
    return stack.scalar(
        "SELECT COUNT(*) FROM wagtail_guestpay_paymentevent WHERE "
        "processed_at IS NULL AND signature_valid = %s",
        (True,),
    )


def _wait_drained(stack, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _backlog(stack):
        time.sleep(0.5)


def pay_flood(stack, *, clicks=600, concurrency=32, slug="demo-course"):
    """``clicks`` cookieless GETs of one pay link from one client (a crawler, a script), as in
    issue 12: returns the answers by status and the orders the flood created."""
    before = stack.scalar("SELECT COUNT(*) FROM wagtail_guestpay_order")
    counter = itertools.count()
    statuses, lock = {}, threading.Lock()

    def worker():
        while next(counter) < clicks:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
                conn.request("GET", f"/guestpay/pay/{slug}/")
                response = conn.getresponse()
                response.read()
                status = str(response.status)
                conn.close()
            except OSError as exc:
                status = type(exc).__name__
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "clicks": clicks,
        "concurrency": concurrency,
        "statuses": statuses,
        "seconds": time.perf_counter() - started,
        "orders": stack.scalar("SELECT COUNT(*) FROM wagtail_guestpay_order") - before,
    }

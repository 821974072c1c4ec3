"""Running requests at the same time, each thread with its own database connection (real
transactions and row locks, not the test's transaction)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are real only on PostgreSQL: runs in make test's PostgreSQL pass "
    "(python -m tests.servers -- pytest)",
)


def in_own_connection(func):
    """``func`` as a thread runs it: its own connection, closed afterwards."""

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return run


def storm(jobs, *, threads=16):
    """Run the callables in ``jobs`` concurrently (the first ``threads`` of them released at the
    same instant, the rest as threads free up); returns their results in order, raising the
    first exception."""
    go = threading.Event()

    def start_together(job):
        go.wait(timeout=30)
        return in_own_connection(job)()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(start_together, job) for job in jobs]
        go.set()
        return [future.result(timeout=120) for future in futures]


class Poller:
    """Polls URLs in background threads (a buyer's return page) until stopped; counts the
    answers by status code."""

    def __init__(self, urls, *, threads=2):
        self.urls = list(urls)
        self.stop_event = threading.Event()
        self.codes = {}
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, index):
        client = Client()
        try:
            while not self.stop_event.is_set():
                for url in self.urls[index :: len(self.threads)]:
                    code = client.get(url).status_code
                    with self.lock:
                        self.codes[code] = self.codes.get(code, 0) + 1
        finally:
            connections.close_all()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=60)

"""One drain at a time on an SQLite file (fulfilment/drain.py, one_at_a_time)."""

import threading
import time

import pytest

from wagtail_guestpay.fulfilment import drain as drain_module
from wagtail_guestpay.fulfilment.drain import drain, lock_path, one_at_a_time


@pytest.fixture
def lock_file(tmp_path, monkeypatch):
    path = str(tmp_path / "db.sqlite3-guestpay-drain.lock")
    monkeypatch.setattr(drain_module, "lock_path", lambda: path)
    return path


def test_a_second_drain_waits_for_the_first_and_then_runs(lock_file):
    order = []
    first_in = threading.Event()
    release = threading.Event()

    def first():
        with one_at_a_time(time.monotonic() + 5) as mine:
            order.append(("first", mine))
            first_in.set()
            release.wait(5)
            order.append(("first out", True))

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    timer = threading.Timer(0.2, release.set)
    timer.start()
    with one_at_a_time(time.monotonic() + 5) as mine:
        order.append(("second", mine))
    thread.join()
    assert order == [("first", True), ("first out", True), ("second", True)]


def test_a_drain_that_never_gets_the_lock_queues_another_and_processes_nothing(
    lock_file, monkeypatch
):
    queued = []
    monkeypatch.setattr(drain_module.queueing, "enqueue", lambda *args: queued.append(args))
    with one_at_a_time(time.monotonic() + 5) as mine:
        assert mine
        assert drain(budget=0.05) == 0
    assert queued == [(drain_module.DRAIN_TASK,)]


def test_the_lock_is_for_sqlite_files_only(settings):
    # The test database is SQLite in memory (or PostgreSQL): drains run side by side there.
    assert lock_path() is None

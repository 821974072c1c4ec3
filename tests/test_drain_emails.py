"""A drain sends the e-mails of the events it applies itself, after their commit (no task row,
dequeue and acknowledgement per e-mail), keeping the outbox's lease and retry path; and the
SQLite backend of the sandbox (wagtail_guestpay.sqlite) waits for the write lock in short steps,
outside transactions only."""

import sqlite3
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.sqlite3 import base as sqlite_base
from django.db.utils import ConnectionHandler
from django.utils import timezone

from tests.conftest import order_of
from wagtail_guestpay.emails import LEASE, STAFF_NOTICE, queue_email, sending_here
from wagtail_guestpay.fulfilment.drain import drain
from wagtail_guestpay.models import OrderStatus, OutboundEmail
from wagtail_guestpay.tasks import run_maintenance

NOTICE = {"reason": "event_failed", "detail": "test"}


@pytest.fixture
def no_wake():
    with (
        mock.patch("wagtail_guestpay.fulfilment.dispatch.wake") as wake,
        mock.patch("wagtail_guestpay.fulfilment.intake.wake", wake),
    ):
        yield wake


@pytest.mark.django_db
def test_a_drain_sends_the_access_email_itself_once(offer, testpay, run_on_commit, outbox, no_wake):
    _order, payment, _charge = testpay.start(offer)
    assert testpay.notify(payment, "paid", email="inline@example.com").status_code == 200
    with mock.patch("wagtail_guestpay.queueing.enqueue") as enqueue:
        assert drain(budget=60) == 1
        run_on_commit()  # the event's commit: the drain sends
    assert enqueue.call_count == 0  # no send_email task
    assert [m.to for m in outbox] == [["inline@example.com"]]
    sent = OutboundEmail.objects.get(order=order_of(payment))
    assert sent.sent_at is not None and sent.attempts == 1 and sent.next_attempt_at is None
    assert run_maintenance()["emails"] == 0
    assert len(outbox) == 1


@pytest.mark.django_db
def test_a_drained_email_that_fails_goes_to_the_retry_path(
    offer, testpay, run_on_commit, outbox, no_wake
):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="retry-inline@example.com")
    with mock.patch(
        "wagtail_guestpay.adapter.GuestPayAdapter.send_mail", side_effect=ConnectionError("down")
    ):
        assert drain(budget=60) == 1
        run_on_commit()
    assert order_of(payment).status == OrderStatus.PAID  # the grant stays
    queued = OutboundEmail.objects.get(order=order_of(payment))
    assert queued.sent_at is None and queued.attempts == 1 and "down" in queued.last_error
    assert queued.next_attempt_at > timezone.now()  # backed off, not hot
    assert run_maintenance()["emails"] == 0
    OutboundEmail.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
    assert run_maintenance()["emails"] == 1
    assert [m.to for m in outbox] == [["retry-inline@example.com"]]


@pytest.mark.django_db
def test_an_email_whose_worker_died_before_sending_is_sent_once_its_lease_passed(outbox):
    """Queued for sending here, committed, and the worker gone before its callback ran."""
    with sending_here():
        queued = queue_email(STAFF_NOTICE, "died@example.com", dedupe_key="died", data=NOTICE)
    # the on-commit callback never runs (the test's transaction never commits)
    queued.refresh_from_db()
    assert queued.attempts == 1  # claimed by the worker that queued it
    assert queued.next_attempt_at > timezone.now() + LEASE - timedelta(seconds=5)
    assert run_maintenance()["emails"] == 0  # leased: nobody else sends it meanwhile
    OutboundEmail.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
    assert run_maintenance()["emails"] == 1
    assert run_maintenance()["emails"] == 0
    assert [m.to for m in outbox] == [["died@example.com"]]


@pytest.mark.django_db
def test_outside_a_worker_an_email_is_a_task_of_its_own(run_on_commit, outbox):
    with mock.patch("wagtail_guestpay.queueing.enqueue") as enqueue:
        queued = queue_email(STAFF_NOTICE, "task@example.com", data=NOTICE)
        run_on_commit()
    assert enqueue.call_args.args == ("wagtail_guestpay.tasks.send_email", queued.pk)
    queued.refresh_from_db()
    assert queued.attempts == 0 and outbox == []


# The SQLite backend ---------------------------------------------------------------------------
@pytest.fixture
def sqlite_file(tmp_path, django_db_blocker, monkeypatch):
    """A WAL SQLite file with one table, a connection of wagtail_guestpay.sqlite on it (timeout
    from the test), and a plain sqlite3 connection that can hold the write lock."""
    # Opening a connection is @async_unsafe, and once the browser tests of the same session have
    # started Playwright, its event loop counts as running in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    path = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    handlers = []

    def connect(timeout):
        handler = ConnectionHandler(
            {
                "default": {  # of this handler only
                    "ENGINE": "wagtail_guestpay.sqlite",
                    "NAME": str(path),
                    "OPTIONS": {"timeout": timeout, "transaction_mode": "IMMEDIATE"},
                }
            }
        )
        handlers.append(handler)
        return handler["default"]

    with django_db_blocker.unblock():  # a database of its own, not the test database
        yield holder, connect
    for handler in handlers:
        handler.close_all()
    holder.close()


def test_a_write_waits_for_the_lock_in_steps_and_then_runs(sqlite_file):
    holder, connect = sqlite_file
    wrapper = connect(timeout=20)
    holder.execute("BEGIN IMMEDIATE")
    releaser = threading.Timer(0.3, holder.execute, args=("COMMIT",))
    releaser.start()
    with wrapper.cursor() as cursor:
        cursor.execute("INSERT INTO item (name) VALUES (%s)", ["waited"])  # autocommit
        cursor.execute("BEGIN IMMEDIATE")  # what an atomic block starts with
        cursor.execute("INSERT INTO item (name) VALUES (%s)", ["in a transaction"])
        cursor.execute("COMMIT")
    releaser.join()
    assert holder.execute("SELECT name FROM item ORDER BY id").fetchall() == [
        ("waited",),
        ("in a transaction",),
    ]
    # SQLite's own handler waits a few milliseconds at most: the rest is the retries'
    assert wrapper.connection.execute("PRAGMA busy_timeout").fetchone() == (3,)


def test_a_write_gives_up_after_the_timeout(sqlite_file):
    holder, connect = sqlite_file
    wrapper = connect(timeout=0.2)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"), wrapper.cursor() as cursor:
            cursor.execute("INSERT INTO item (name) VALUES (%s)", ["never"])
    finally:
        holder.execute("COMMIT")
    assert holder.execute("SELECT COUNT(*) FROM item").fetchone() == (0,)


def test_a_busy_statement_inside_a_transaction_is_not_tried_again(sqlite_file):
    """A deferred transaction that read, then finds another writer: trying its write again
    could never succeed (its snapshot is old); the error is the caller's."""
    holder, connect = sqlite_file
    wrapper = connect(timeout=20)
    with wrapper.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
        cursor.execute("SELECT COUNT(*) FROM item")
        holder.execute("INSERT INTO item (name) VALUES ('other writer')")
        execute = sqlite_base.SQLiteCursorWrapper.execute
        with (
            mock.patch.object(
                sqlite_base.SQLiteCursorWrapper, "execute", autospec=True, side_effect=execute
            ) as tried,
            pytest.raises(OperationalError),
        ):
            cursor.execute("INSERT INTO item (name) VALUES (%s)", ["stale"])
        assert tried.call_count == 1
        cursor.execute("ROLLBACK")

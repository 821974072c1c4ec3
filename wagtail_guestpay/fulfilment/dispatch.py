"""Waking the workers for stored payment events: the PaymentEvent rows themselves are the queue.

A notification's request stores its event (one INSERT, one transaction) and calls :func:`wake`.
A wake queues one *drain* task (wagtail_guestpay.fulfilment.drain), which takes every waiting
event in turn, whoever stored it; there is no django-q2 task per event.

Wakes are coalesced per process: after queueing a drain at time ``t``, a process queues no other
until ``t + WAGTAIL_GUESTPAY_DRAIN_COALESCE``, and that drain keeps looking for new events until
then (plus a margin), so an event stored inside the window is taken by it. On django-q2's ORM
broker (same database) the drain's task row is written inside the event's transaction, so the
request stays one write transaction (SQLite has one writer at a time); on other brokers it is
queued after the commit. In django-q2's sync mode every wake runs a drain at once, unwindowed.

Whatever a wake misses (a drain killed, a Redis broker restarted, clocks apart between hosts),
the maintenance sweeper processes once EVENT_TASK_GRACE has passed.
"""

import threading
import time

from django.db import transaction

from .. import queueing
from ..conf import guestpay_settings

DRAIN_TASK = "wagtail_guestpay.tasks.drain_events"
# An event stored less than this before the end of the window triggers a wake of its own: its
# transaction may still be committing when the drain looks for the last time.
GUARD = 0.05

_lock = threading.Lock()
_window = {"until": 0.0}  # this process's drain looks for events until then (time.time())


def wake():
    """Make sure a drain will take the events stored in the current transaction."""
    if time.time() < _window["until"] - GUARD:
        return  # the drain this process queued last is still looking (the common case)
    window = float(guestpay_settings.DRAIN_COALESCE or 0)
    if window <= 0 or _sync_mode():
        transaction.on_commit(lambda: queueing.enqueue(DRAIN_TASK), robust=True)
    elif queueing.queue_shares_transaction():
        woken_at = _due()
        if woken_at is not None:
            queueing.enqueue(DRAIN_TASK, woken_at)
            # The window is held once the drain is committed: after a rollback, the next event
            # wakes again.
            transaction.on_commit(lambda: _hold(woken_at + window))
    else:
        transaction.on_commit(lambda: _wake_now(window), robust=True)


def _wake_now(window):
    woken_at = _due()
    if woken_at is not None:
        queueing.enqueue(DRAIN_TASK, woken_at)
        _hold(woken_at + window)


def _due():
    """The time of a new wake, or None while a drain of this process is still looking."""
    now = time.time()
    with _lock:
        return now if now >= _window["until"] - GUARD else None


def _hold(until):
    with _lock:
        _window["until"] = max(_window["until"], until)


def _sync_mode():
    from django_q.conf import Conf

    return bool(Conf.SYNC)

"""The drain task: workers take the stored events that wait (see fulfilment/dispatch.py).

A drain claims fresh events (never attempted, not leased) in small batches: one short
transaction sets their ``next_attempt_at`` to now + EVENT_TASK_GRACE, a lease. Each event is then
processed by :func:`~wagtail_guestpay.fulfilment.confirmation.process_event`, in its own transaction that
holds the event's row lock and marks it processed: an event is applied once, whoever runs it.
An event whose drain died is claimed again once its lease has passed (the ORM broker re-delivers
the drain task) or processed by the maintenance sweeper; one that failed is left to the sweeper,
with back-off.

The e-mails an event decides (the access e-mail) are sent by the drain itself once the event's
transaction commits (:func:`~wagtail_guestpay.emails.sending_here`): no task per e-mail.

On SQLite one drain runs at a time (:func:`one_at_a_time`, a file lock next to the database):
SQLite has one writer, so a second drain only adds to the waits for its write lock. Measured
(bench, idle machine, 1,000 paid events draining under 8 clients' notifications, 3 rounds each
way): notifications got 270-328 req/s with p99 44-59 ms with the lock, 165-216 req/s with p99
78-93 ms without; the 100-burst's confirmation stayed within the runs' noise (p99 1.3-1.9 s
both ways). A drain woken meanwhile waits for the lock, then looks at least once (or, after its
time budget, queues another drain): no event is left without a drain to take it. No pause
between events: measured, a drain that slept 4-20 ms after each event let no more
notifications in, and drained slower.
"""

import os
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .. import queueing
from ..conf import guestpay_settings
from ..emails import sending_here
from ..models import PaymentEvent
from .confirmation import process_event
from .dispatch import DRAIN_TASK

try:
    import fcntl
except ImportError:  # not POSIX: drains run side by side
    fcntl = None

BATCH = 20
# The drain of a coalesced wake looks this much longer than the window, for the transactions
# that were committing when it ended, and sleeps this long between two empty looks.
MARGIN = 0.15
IDLE_SLEEP = 0.03


def waiting():
    """Events no drain holds: never attempted, not leased (or the lease has passed)."""
    return PaymentEvent.objects.filter(
        processed_at__isnull=True, signature_valid=True, attempts=0
    ).filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))


def claim(batch=BATCH):
    """Lease up to ``batch`` waiting events to this drain; returns their ids, oldest first."""
    if not waiting().exists():  # a read: the write lock only when there is work
        return []
    with transaction.atomic():
        ids = list(
            waiting()
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        if ids:
            PaymentEvent.objects.filter(pk__in=ids).update(
                next_attempt_at=timezone.now() + guestpay_settings.as_timedelta("EVENT_TASK_GRACE")
            )
    return ids


def drain(woken_at=None, budget=None):
    """Process waiting events until none is left and, for a coalesced wake at ``woken_at``,
    until its window has passed; returns how many were processed. After ``budget`` seconds (half
    the task timeout by default) it queues another drain for what is left and returns."""
    window = float(guestpay_settings.DRAIN_COALESCE or 0)
    look_until = woken_at + window + MARGIN if woken_at else 0.0
    stop_at = time.monotonic() + (budget if budget is not None else _budget())
    with one_at_a_time(stop_at) as mine:
        if not mine:  # another drain held the lock all this time: it may not have seen the last
            queueing.enqueue(DRAIN_TASK)
            return 0
        return _drain(look_until, stop_at)


def _drain(look_until, stop_at):
    done = 0
    while True:
        looked_at = time.time()
        ids = claim()
        for event_id in ids:
            with sending_here():
                process_event(event_id)
            done += 1
        if ids:
            if time.monotonic() > stop_at:
                queueing.enqueue(DRAIN_TASK)
                return done
            continue
        if looked_at >= look_until:
            return done
        time.sleep(IDLE_SLEEP)


LOCK_POLL = 0.01


@contextmanager
def one_at_a_time(stop_at):
    """Yields True once this is the one drain of an SQLite database (waiting for the lock until
    ``stop_at``, a ``time.monotonic()``), False if it could not be; always True on other
    databases, where drains run side by side."""
    path = lock_path()
    if path is None:
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= stop_at:
                    yield False
                    return
                time.sleep(LOCK_POLL)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_path():
    """The drains' lock file of an SQLite database file (None for another database, or an
    in-memory one)."""
    if connection.vendor != "sqlite" or fcntl is None:
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return f"{name}-guestpay-drain.lock"


def _budget():
    from django_q.conf import Conf

    limits = [value for value in (Conf.TIMEOUT, Conf.RETRY) if value]
    return min(limits) / 2 if limits else 30

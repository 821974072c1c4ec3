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

No pause between events on SQLite: measured (bench/results/NOTES.md, issue 12), a drain that
slept 4-20 ms after each event let no more notifications in, and drained slower; with
wagtail_guestpay.sqlite a waiting notification gets the lock between two events anyway (the
drain reads and sends e-mail between its transactions).
"""

import time

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import queueing
from ..conf import guestpay_settings
from ..emails import sending_here
from ..models import PaymentEvent
from .confirmation import process_event
from .dispatch import DRAIN_TASK

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


def _budget():
    from django_q.conf import Conf

    limits = [value for value in (Conf.TIMEOUT, Conf.RETRY) if value]
    return min(limits) / 2 if limits else 30

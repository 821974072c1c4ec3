"""Step 1 of the confirmation pipeline: storing what a provider said.

:func:`store_events` keeps every verified provider event as a PaymentEvent, unique per provider
account and event id (a redelivery is a no-op), in one INSERT, and wakes a drain (dispatch.py)
that runs :func:`~wagtail_guestpay.fulfilment.confirmation.process_event` on them. (A
notification whose signature did not verify is kept, within bounds, by :mod:`.rejected`.)
"""

from django.db import transaction
from django.utils import timezone

from .. import queueing
from ..conf import guestpay_settings
from ..models import PaymentEvent
from .dispatch import wake
from .storing import insert_ignoring_conflicts

Outcome = PaymentEvent.Outcome
SCRUBBED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


def store_events(account, events, *, source, notification=None, enqueue_processing=True):
    """Store verified ``events`` in one INSERT (a redelivery inserts nothing: unique per account
    and event id, ON CONFLICT DO NOTHING, no savepoint). A drain takes them after commit.

    Without ``enqueue_processing`` the caller processes them itself: they are stored leased (no
    drain takes them meanwhile), and the ids of those not processed yet are returned.
    """
    lease = (
        None
        if enqueue_processing
        else (timezone.now() + guestpay_settings.as_timedelta("EVENT_TASK_GRACE"))
    )
    body = headers = None
    if notification is not None:
        body = _body_text(notification.body)
        headers = _scrub_headers(notification.headers)
    rows = []
    for event in events:
        event_id = event.event_id
        if source == PaymentEvent.Source.STATUS_CHECK:
            event_id = f"check:{event_id}"
        rows.append(
            PaymentEvent(
                account=account,
                provider_event_id=_no_nul(event_id[:255]),
                source=source,
                event_type=_no_nul(event.event_type[:100]),
                data=_no_nul(event.to_dict()),
                headers=headers or {},
                body=body or "",
                next_attempt_at=lease,
            )
        )
    if not rows:
        return []
    insert_ignoring_conflicts(PaymentEvent, rows)
    if enqueue_processing:
        wake()
        return []
    return list(
        PaymentEvent.objects.filter(
            account=account,
            provider_event_id__in=[row.provider_event_id for row in rows],
            processed_at__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _body_text(body, limit=None):
    text = _no_nul(body.decode("utf-8", errors="replace"))
    return text[:limit] if limit else text


def _scrub_headers(headers):
    return {
        key: _no_nul(value[:1000])
        for key, value in headers.items()
        if key.lower() not in SCRUBBED_HEADERS
    }


def _no_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters: replace them (SQLite can, but the
    stored text must be the same on both)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_no_nul(key): _no_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nul(item) for item in value]
    return value


def _enqueue_after_commit(func, *args):
    """Queue ``func`` once the current transaction commits.

    On django-q2's ORM broker in the same database the task row is written inside the current
    transaction instead: it becomes visible to the workers exactly when the event does (or
    never, on rollback), and the request stays one write transaction: SQLite has one writer at a
    time, and a second transaction per notification halves what it can ingest (see
    bench/results). Other brokers (Redis) are written to after the commit, since a worker could
    otherwise look for the event before it is committed.
    """
    if queueing.queue_shares_transaction():
        queueing.enqueue(func, *args)
    else:
        transaction.on_commit(lambda: queueing.enqueue(func, *args), robust=True)

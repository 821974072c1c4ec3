"""Raw notifications are kept for a while, not for ever.

What a payment system sends carries the buyer's e-mail, name and often more (country, card
brand, addresses). The package needs the raw body and headers to process a notification and for
staff to investigate one; after ``NOTIFICATION_BODY_RETENTION`` (90 days by default) the
maintenance task (tasks.run_maintenance) replaces them:

1. ``body`` and ``headers`` are emptied; ``body_size`` and ``body_sha256`` keep describing what
   was received (filled now for events that had not recorded them);
2. the provider-neutral facts (``data``: status, amounts, references, dates) stay, without the
   payer's e-mail and name: the payment keeps those for as long as the order needs them;
3. ``purged_at`` says when. The row stays: it is the unit of idempotency (a redelivery of the
   same event id is still a no-op) and the bookkeeping of what the payment system said.

An event still waiting to be processed (not given up on) is left alone. Notifications that failed verification
have a retention of their own (fulfilment/rejected.py deletes them, after 30 days by default);
this purge applies to them too, whichever comes first.
"""

import hashlib

from django.utils import timezone

from ..conf import guestpay_settings
from ..models import PaymentEvent

PAYER_KEYS = ("email", "payer_name")


def forget_payer(data):
    """The event's facts without the payer's e-mail and name (also in the facts it was resolved
    to)."""
    if not isinstance(data, dict):
        return {}
    data = {key: ("" if key in PAYER_KEYS else value) for key, value in data.items()}
    if isinstance(data.get("resolved"), dict):
        data["resolved"] = forget_payer(data["resolved"])
    return data


def purged_fields(event, now=None):
    """The values that replace ``event``'s raw body and headers (a dict of field: value)."""
    raw = (event.body or "").encode()
    return {
        "body": "",
        "headers": {},
        "data": forget_payer(event.data),
        "body_size": event.body_size or len(raw),
        "body_sha256": event.body_sha256 or (hashlib.sha256(raw).hexdigest() if raw else ""),
        "purged_at": now or timezone.now(),
    }


def purge_old_bodies(batch=500):
    """Purge the raw bodies and headers older than the retention period, at most ``batch`` of
    them (the maintenance task runs every minute); returns how many."""
    retention = guestpay_settings.NOTIFICATION_BODY_RETENTION
    if retention is None:
        return 0
    cutoff = timezone.now() - guestpay_settings.as_timedelta("NOTIFICATION_BODY_RETENTION")
    events = list(
        PaymentEvent.objects.filter(received_at__lt=cutoff, purged_at__isnull=True)
        # still to be processed (not given up on)
        .exclude(processed_at__isnull=True, signature_valid=True, outcome="")
        .order_by("received_at")
        .only("pk", "body", "data", "body_size", "body_sha256")[:batch]
    )
    now = timezone.now()
    for event in events:
        # Conditional: an erasure that purged it meanwhile wins.
        PaymentEvent.objects.filter(pk=event.pk, purged_at__isnull=True).update(
            **purged_fields(event, now)
        )
    return len(events)

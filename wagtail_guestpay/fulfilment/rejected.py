"""Notifications that failed verification: kept for staff, bounded so that a flood of forged
POSTs cannot fill the database.

1. :func:`store_rejected` keeps at most ``REJECTED_NOTIFICATION_BODY_BYTES`` of the body (plus
   the SHA-256 and size of the whole body) and a few short headers, and only while the account's
   and the client's hourly budgets (``REJECTED_NOTIFICATION_LIMITS``) last. What is not kept is
   counted on the provider account (``rejected_dropped``).
2. :func:`purge_rejected` (run by the maintenance task) deletes the rows older than
   ``REJECTED_NOTIFICATION_RETENTION``. The raw-body retention of every notification
   (``NOTIFICATION_BODY_RETENTION``, wagtail_guestpay.privacy.retention) applies to them too:
   whichever comes first, a rejected body is not kept longer than an accepted one.

A rejected notification never changes an order, whether it is kept or not.
"""

import hashlib
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..conf import guestpay_settings
from ..models import PaymentEvent, ProviderAccount
from ..ratelimit import allow, configured_budget

logger = logging.getLogger(__name__)

SCRUBBED_HEADERS = {"cookie", "authorization", "proxy-authorization"}
MAX_HEADERS = 30
MAX_HEADER_CHARS = 200
MAX_HEADERS_TOTAL = 2048
MAX_ERROR_CHARS = 500


def _no_nul(text):
    return text.replace("\x00", "\ufffd")


def _within_budgets(account, client):
    """Count this rejected notification against the account's and the client's hourly budgets
    (both counted, so a client cannot hide behind another's spent budget)."""
    budgets = [
        allow(
            "rejected_account",
            str(account.pk),
            configured_budget("REJECTED_NOTIFICATION_LIMITS", "account"),
        ),
        allow(
            "rejected_client",
            f"{account.pk}:{client}",
            configured_budget("REJECTED_NOTIFICATION_LIMITS", "client"),
        ),
    ]
    return all(budgets)


def body_prefix(body):
    """The first ``REJECTED_NOTIFICATION_BODY_BYTES`` of the body as text (a cut multi-byte
    character is replaced, not an error)."""
    limit = guestpay_settings.REJECTED_NOTIFICATION_BODY_BYTES
    return _no_nul(body[:limit].decode("utf-8", errors="replace"))


def short_headers(headers):
    """A few headers, each cut short, secrets left out: at most ~2 kB in all."""
    kept, total = {}, 0
    for key, value in headers.items():
        if key.lower() in SCRUBBED_HEADERS:
            continue
        if len(kept) >= MAX_HEADERS:
            break
        key, value = _no_nul(str(key)[:100]), _no_nul(str(value)[:MAX_HEADER_CHARS])
        total += len(key) + len(value)
        if total > MAX_HEADERS_TOTAL:
            break
        kept[key] = value
    return kept


def store_rejected(account, notification, reason, *, client=""):
    """Keep a notification that failed verification, for staff to see, within the budgets;
    returns the stored row, or None when it was dropped (counted) or storing is off."""
    if not guestpay_settings.STORE_REJECTED_NOTIFICATIONS:
        return None
    if not _within_budgets(account, client or notification.remote_addr):
        ProviderAccount.objects.filter(pk=account.pk).update(
            rejected_dropped=F("rejected_dropped") + 1, rejected_dropped_at=timezone.now()
        )
        return None
    with transaction.atomic():  # a failure here must not break the caller's transaction
        return PaymentEvent.objects.create(
            account=account,
            provider_event_id=None,
            source=PaymentEvent.Source.NOTIFICATION,
            signature_valid=False,
            body=body_prefix(notification.body),
            body_size=len(notification.body),
            body_sha256=hashlib.sha256(notification.body).hexdigest(),
            headers=short_headers(notification.headers),
            outcome=PaymentEvent.Outcome.REJECTED,
            error=_no_nul(str(reason)[:MAX_ERROR_CHARS]),
            processed_at=timezone.now(),
        )


def purge_rejected(batch=1000):
    """Delete rejected notifications older than the retention period; returns how many."""
    cutoff = timezone.now() - guestpay_settings.as_timedelta("REJECTED_NOTIFICATION_RETENTION")
    ids = list(
        PaymentEvent.objects.filter(signature_valid=False, received_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:batch]
    )
    if not ids:
        return 0
    deleted, _detail = PaymentEvent.objects.filter(pk__in=ids).delete()
    return deleted

"""Step 3 of the confirmation pipeline: following up unconfirmed payments.

:func:`check_payment` asks the provider for the status of an unconfirmed payment, with back-off,
and feeds the answer through the same path as a notification (:mod:`.intake`, then
:func:`~.confirmation.process_event`); :func:`expire_stale_payments` gives up after the
confirmation window.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import guestpay_settings
from ..models import (
    Order,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from ..providers.exceptions import ProviderError
from .transitions import move_payment

logger = logging.getLogger(__name__)
from .confirmation import poll_delay, process_event
from .intake import _enqueue_after_commit, store_events

OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.APPROVED)


def check_payment(payment_id, *, statuses=OPEN_STATUSES, raise_errors=False):
    """Ask the provider where an unconfirmed payment stands and apply the answer.

    Staff may also re-check a payment that failed or expired (``statuses``), since a provider can
    still report it paid; ``raise_errors`` lets them see a ProviderError instead of silence.
    """
    payment = (
        Payment.objects.select_related("account").filter(pk=payment_id, status__in=statuses).first()
    )
    if payment is None:
        return None
    now = timezone.now()
    count = payment.check_count + 1
    Payment.objects.filter(pk=payment.pk).update(
        check_count=count, last_checked_at=now, next_check_at=now + poll_delay(count)
    )
    try:
        event = payment.account.get_provider().fetch_status(payment)
    except ProviderError as exc:
        logger.info("Status check of %s failed: %s", payment.reference, exc)
        if raise_errors:
            raise
        return None
    if event is None:
        return None
    outcome = None
    for event_pk in store_events(
        payment.account, [event], source=PaymentEvent.Source.STATUS_CHECK, enqueue_processing=False
    ):
        outcome = process_event(event_pk)
    return outcome


def request_status_check(payment):
    """Queue a status check for a buyer waiting on the return page, at most once per interval."""
    now = timezone.now()
    interval = timedelta(seconds=guestpay_settings.RETURN_PAGE_CHECK_INTERVAL)
    claimed = (
        Payment.objects.filter(pk=payment.pk, status__in=OPEN_STATUSES)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=now - interval))
        .update(last_checked_at=now)
    )
    if claimed:
        _enqueue_after_commit("wagtail_guestpay.tasks.check_payment_status", payment.pk)
    return bool(claimed)


def expire_stale_payments(limit=100):
    """Expire open payments older than the confirmation window; returns how many."""
    cutoff = timezone.now() - guestpay_settings.as_timedelta("CONFIRMATION_WINDOW")
    expired = 0
    ids = Payment.objects.filter(status__in=OPEN_STATUSES, created_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:limit]
    for payment_id in list(ids):
        with transaction.atomic():
            payment = Payment.objects.select_related("order").get(pk=payment_id)
            Order.objects.select_for_update().filter(pk=payment.order_id).first()
            payment.refresh_from_db()
            expired += move_payment(
                payment, PaymentStatus.EXPIRED, reason="not confirmed within the window"
            )
    return expired

"""Step 3 of the confirmation pipeline: following up unconfirmed payments.

:func:`check_payment` asks the provider for the status of an unconfirmed payment, with back-off,
and feeds the answer through the same path as a notification (:mod:`.intake`, then
:func:`~.confirmation.process_event`); :func:`expire_stale_payments` gives up after the
confirmation window.

Which payments the maintenance task asks about, in what order:

1. :func:`open_payments_due`: unconfirmed payments whose next check is due, the likely ones
   first: the buyer came back to the order page, or the provider said pending or approved. A
   payment nobody started (a crawler's click, a browser that went away) comes last; its first
   check waits until its hosted page stopped working (:func:`.checkout.send_to_provider`), and
   :func:`expire_if_page_expired` expires it then, so a flood of them cannot delay real payments.
2. :func:`paid_payments_due`: paid payments of providers whose refund and reversal notifications
   can be lost (``Provider.recheck_paid_payments``: PayPal), every ``REFUND_CHECK_INTERVAL``
   during ``REFUND_CHECK_WINDOW`` after the payment.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from ..conf import guestpay_settings
from ..models import Order, Payment, PaymentEvent, PaymentStatus
from ..providers.base import EventStatus
from ..providers.exceptions import ProviderError
from ..providers.registry import get_provider_class, registered_kinds
from .confirmation import poll_delay, process_event
from .intake import _enqueue_after_commit, store_events
from .transitions import move_payment

logger = logging.getLogger(__name__)

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
        check_count=count,
        last_checked_at=now,
        next_check_at=now + poll_delay(count) if payment.is_open else None,
    )
    try:
        event = payment.account.get_provider().fetch_status(payment)
    except ProviderError as exc:
        logger.info("Status check of %s failed: %s", payment.reference, exc)
        if raise_errors:
            raise
        return None
    if event is None:
        return expire_if_page_expired(payment, now)
    outcome = None
    for event_pk in store_events(
        payment.account, [event], source=PaymentEvent.Source.STATUS_CHECK, enqueue_processing=False
    ):
        outcome = process_event(event_pk)
    if event.status == EventStatus.CREATED:
        return expire_if_page_expired(payment, now) or outcome
    return outcome


def expire_if_page_expired(payment, now):
    """The provider knows nothing more than a created payment whose hosted page stopped working
    (its lifetime, as the provider said, plus a grace period): nobody can pay it any more, so it
    is expired now rather than polled for the whole confirmation window."""
    expires = payment.checkout_expires_at
    if payment.status != PaymentStatus.CREATED or expires is None:
        return None
    if now < expires + guestpay_settings.as_timedelta("POLL_FIRST_DELAY"):
        return None
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=payment.order_id).first()
        payment.refresh_from_db()
        moved = move_payment(
            payment, PaymentStatus.EXPIRED, reason="the payment system's page expired unused"
        )
    return PaymentEvent.Outcome.APPLIED if moved else None


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


# What the maintenance task checks, in what order ----------------------------------------------
LIKELY = Q(returned_at__isnull=False) | Q(
    status__in=(PaymentStatus.PENDING, PaymentStatus.APPROVED)
)


def open_payments_due(now, batch):
    return list(
        Payment.objects.filter(status__in=OPEN_STATUSES, next_check_at__lte=now)
        .annotate(
            unlikely=Case(
                When(LIKELY, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("unlikely", "next_check_at")
        .values_list("pk", flat=True)[:batch]
    )


def kinds_rechecking_paid():
    kinds = []
    for kind in registered_kinds():
        cls = get_provider_class(kind, missing_ok=True)
        if cls is not None and cls.recheck_paid_payments:
            kinds.append(kind)
    return kinds


def paid_payments_due(now, batch):
    kinds = kinds_rechecking_paid()
    if not kinds:
        return []
    since = now - guestpay_settings.as_timedelta("REFUND_CHECK_WINDOW")
    last = now - guestpay_settings.as_timedelta("REFUND_CHECK_INTERVAL")
    return list(
        Payment.objects.filter(
            status=PaymentStatus.PAID, account__kind__in=kinds, processed_at__gte=since
        )
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=last))
        .order_by("last_checked_at")
        .values_list("pk", flat=True)[:batch]
    )

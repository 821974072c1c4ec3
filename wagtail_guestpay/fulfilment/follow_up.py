"""Which payments the maintenance task asks their provider about, in what order.

1. :func:`open_payments_due`: unconfirmed payments whose next check is due, the likely ones
   first: the buyer came back to the order page, or the provider said pending or approved. A
   payment nobody started (a crawler's click, a browser that went away) comes last, and its
   first check waits until its hosted page stopped working (see
   :func:`wagtail_guestpay.checkout.send_to_provider`), so a flood of them cannot delay real
   payments.
2. :func:`paid_payments_due`: paid payments of providers whose refund and reversal
   notifications can be lost (``Provider.recheck_paid_payments``: PayPal), every
   ``REFUND_CHECK_INTERVAL`` during ``REFUND_CHECK_WINDOW`` after the payment.
3. :func:`expire_if_page_expired`: a status check found a payment nobody started whose hosted
   page stopped working: it is expired then, not polled for the whole confirmation window.
"""

from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When

from ..conf import guestpay_settings
from ..models import Order, Payment, PaymentEvent, PaymentStatus
from ..providers.registry import get_provider_class, registered_kinds
from ..transitions import move_payment

OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.APPROVED)
LIKELY = Q(returned_at__isnull=False) | Q(status__in=(PaymentStatus.PENDING,
                                                      PaymentStatus.APPROVED))


def open_payments_due(now, batch):
    return list(
        Payment.objects.filter(status__in=OPEN_STATUSES, next_check_at__lte=now)
        .annotate(unlikely=Case(When(LIKELY, then=Value(0)), default=Value(1),
                                output_field=IntegerField()))
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
        Payment.objects.filter(status=PaymentStatus.PAID, account__kind__in=kinds,
                               processed_at__gte=since)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=last))
        .order_by("last_checked_at")
        .values_list("pk", flat=True)[:batch]
    )


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
        moved = move_payment(payment, PaymentStatus.EXPIRED,
                             reason="the payment system's page expired unused")
    return PaymentEvent.Outcome.APPLIED if moved else None

"""The one path for every payment and order status change.

:func:`move_payment` validates the payment's transition, writes it with a conditional UPDATE (so a
concurrent writer that got there first makes it a no-op), derives the order's status from all its
payments (confirming or releasing the order's coupon use, redemptions.py), records both in
Wagtail's audit log and sends one signal each after commit. :func:`settle_free_order` is the one
move of an order without payments (a free one, or one a 100 % coupon made free). Nothing else
in the code assigns a status. An order that becomes paid gets its receipt number in the same
transaction (receipts.py).
"""

import logging

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import get_active_log_context
from wagtail.models import ModelLogEntry

from .. import signals
from ..models import Order, OrderStatus, Payment, PaymentStatus
from .receipts import issue_receipt
from .redemptions import follow_order

logger = logging.getLogger(__name__)

P = PaymentStatus
_LATE_SUCCESS = {P.PAID, P.ON_HOLD, P.REFUNDED}

PAYMENT_TRANSITIONS = {
    P.CREATED: {
        P.PENDING,
        P.APPROVED,
        P.PAID,
        P.ON_HOLD,
        P.FAILED,
        P.EXPIRED,
        P.CANCELLED,
        P.REFUNDED,
    },
    P.PENDING: {P.APPROVED, P.PAID, P.ON_HOLD, P.FAILED, P.EXPIRED, P.CANCELLED, P.REFUNDED},
    P.APPROVED: {P.PENDING, P.PAID, P.ON_HOLD, P.FAILED, P.EXPIRED, P.CANCELLED, P.REFUNDED},
    # A confirmed payment the provider reports after we gave up still counts: money was taken.
    P.FAILED: _LATE_SUCCESS,
    P.EXPIRED: _LATE_SUCCESS,
    P.CANCELLED: _LATE_SUCCESS,
    P.ON_HOLD: {P.PAID, P.FAILED, P.REFUNDED},
    P.PAID: {P.REFUNDED},
    P.REFUNDED: set(),
}

# The order takes the status of its most advanced payment, in this order of precedence.
_ORDER_PRECEDENCE = [
    (P.PAID, OrderStatus.PAID),
    (P.ON_HOLD, OrderStatus.ON_HOLD),
    (P.REFUNDED, OrderStatus.REFUNDED),
    (P.APPROVED, OrderStatus.PENDING),
    (P.PENDING, OrderStatus.PENDING),
    (P.CREATED, OrderStatus.CREATED),
    (P.FAILED, OrderStatus.FAILED),
    (P.EXPIRED, OrderStatus.EXPIRED),
    (P.CANCELLED, OrderStatus.CANCELLED),
]


def can_move(from_status, to_status):
    return to_status in PAYMENT_TRANSITIONS[PaymentStatus(from_status)]


def derive_order_status(payment_statuses):
    statuses = set(payment_statuses)
    for payment_status, order_status in _ORDER_PRECEDENCE:
        if payment_status in statuses:
            return order_status
    return OrderStatus.CREATED


def move_payment(payment, to_status, *, reason="", user=None):
    """Move ``payment`` (and so its order) to ``to_status``. Returns True if it moved.

    Call inside a transaction that holds the order's lock (``select_for_update``). An illegal or
    already-made transition changes nothing and returns False.
    """
    from_status = payment.status
    if to_status == from_status or not can_move(from_status, to_status):
        if to_status != from_status:
            logger.info(
                "Payment %s: %s -> %s ignored (%s)",
                payment.reference,
                from_status,
                to_status,
                reason,
            )
        return False
    now = timezone.now()
    fields = {"status": to_status, "updated_at": now}
    if to_status in (P.PAID, P.FAILED, P.REFUNDED, P.ON_HOLD) and payment.processed_at is None:
        fields["processed_at"] = now
    if to_status not in (P.CREATED, P.PENDING, P.APPROVED):
        fields["next_check_at"] = None
    updated = Payment.objects.filter(pk=payment.pk, status=from_status).update(**fields)
    if not updated:
        return False
    for name, value in fields.items():
        setattr(payment, name, value)
    audit(
        payment.order,
        "wagtail_guestpay.payment_status",
        user=user,
        data={"payment": payment.reference, "from": from_status, "to": to_status, "reason": reason},
    )
    transaction.on_commit(
        lambda: signals.payment_status_changed.send(
            sender=Payment,
            payment=payment,
            old_status=from_status,
            new_status=to_status,
            reason=reason,
        ),
        robust=True,
    )
    sync_order_status(payment.order, reason=reason, user=user, payment=payment)
    return True


def sync_order_status(order, *, reason, user=None, payment=None):
    """Derive the order's status from all its payments (after one moved or was added:
    ``payment``, when the caller has it)."""
    statuses = list(Payment.objects.filter(order_id=order.pk).values_list("status", flat=True))
    if not statuses:  # a free order (settle_free_order) has no payment to derive from
        return
    to_status = derive_order_status(statuses)
    from_status = order.status
    if to_status == from_status:
        return
    fields = {"status": to_status, "updated_at": timezone.now()}
    if to_status == OrderStatus.PAID and order.paid_at is None:
        fields["paid_at"] = fields["updated_at"]
    if not Order.objects.filter(pk=order.pk, status=from_status).update(**fields):
        return
    for name, value in fields.items():
        setattr(order, name, value)
    _log_and_signal(order, from_status, to_status, reason, user, payment)


def _log_and_signal(order, from_status, to_status, reason, user, payment=None):
    follow_order(order, from_status, to_status)  # the coupon's use, if any (redemptions.py)
    if to_status == OrderStatus.PAID:  # a paid order or a free one: its receipt
        issue_receipt(order, payment=payment if payment and payment.status == P.PAID else None)
    audit(
        order,
        "wagtail_guestpay.order_status",
        user=user,
        data={"from": from_status, "to": to_status, "reason": reason},
    )
    transaction.on_commit(
        lambda: signals.order_status_changed.send(
            sender=Order, order=order, old_status=from_status, new_status=to_status, reason=reason
        ),
        robust=True,
    )


def settle_free_order(order, *, reason, user=None):
    """Mark a free order (no payment, amount 0) paid. Returns True if it moved. Call inside a
    transaction holding the order's lock; a second call changes nothing."""
    from_status = order.status
    if from_status != OrderStatus.CREATED or order.payments.exists():
        return False
    now = timezone.now()
    fields = {"status": OrderStatus.PAID, "paid_at": now, "updated_at": now}
    if not Order.objects.filter(pk=order.pk, status=from_status).update(**fields):
        return False
    for name, value in fields.items():
        setattr(order, name, value)
    _log_and_signal(order, from_status, OrderStatus.PAID, reason, user)
    return True


def audit(order, action, *, user=None, data=None):
    """The history entry Wagtail's ``log()`` writes for ``action`` on ``order`` (a ModelLogEntry,
    shown in the order's history), in one INSERT: ``log()`` saves through the entry's
    ``full_clean()``, which reads the content type again to validate it (a query per entry, two
    per paid event). The actions are registered (wagtail_hooks.py); tests check it."""
    context = get_active_log_context()
    ModelLogEntry.objects.bulk_create(
        [
            ModelLogEntry(
                content_type=ContentType.objects.get_for_model(order, for_concrete_model=False),
                label=str(order) or f"Order object ({order.pk})",
                action=action,
                timestamp=timezone.now(),
                data=data or {},
                user=user or context.user,
                uuid=context.uuid,
                object_id=str(order.pk),
            )
        ]
    )

"""A coupon's uses, held by the database.

1. :func:`reserve` (when the order is created, inside its transaction): one conditional UPDATE
   takes a use (``taken < max_redemptions``); on PostgreSQL the row's lock makes a concurrent
   buyer wait and re-check, on SQLite the write lock does, so the last use goes to one buyer
   only. The Redemption row follows; for a once-per-e-mail coupon with a known address a
   partial unique constraint refuses a second live use of the address. Either refusal rolls
   the order back (:class:`~.coupon_codes.CouponRefused`).
2. :func:`follow_order` (called by :func:`~.transitions.sync_order_status`, the one path of
   order statuses): paid confirms the use; failed, expired or cancelled releases it (the use
   goes back to the coupon).
3. A payment the provider confirms after its use was released (a late success) is honoured at
   the price it was charged: the use is taken again when there is room, else counted anyway,
   marked ``over_limit`` and the order flagged for staff (``Attention.COUPON_OVERSHOOT``). The
   buyer is never refused.
4. :func:`reserve_again` ("try again" on a failed order): a released use is taken again, or the
   retry is refused with the coupon's message (the order's amount was the discounted one).

A refund keeps the use confirmed: the code was used (staff may raise the limit).
"""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from ..emails import queue_staff_notice
from ..models import Attention, Coupon, OrderStatus, Redemption, RedemptionStatus, redemption_of
from .coupon_codes import CouponRefused

logger = logging.getLogger(__name__)

R = RedemptionStatus
_RELEASING = {OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED}


def _take(coupon_id):
    """One use of the coupon, when it has room: True if taken (a conditional UPDATE)."""
    return bool(
        Coupon.objects.filter(pk=coupon_id)
        .filter(Q(max_redemptions__isnull=True) | Q(taken__lt=F("max_redemptions")))
        .update(taken=F("taken") + 1)
    )


def _give_back(coupon_id):
    Coupon.objects.filter(pk=coupon_id, taken__gt=0).update(taken=F("taken") - 1)


# 1. Reservation -------------------------------------------------------------------------------
def reserve(order, quote, *, email=""):
    """Reserve ``quote``'s coupon for ``order`` (just created, same transaction); raises
    :class:`CouponRefused` (used up, or already used by ``email``)."""
    coupon = quote.coupon
    email = email.lower() if coupon.once_per_email else ""
    try:
        with transaction.atomic():
            if not _take(coupon.pk):
                raise CouponRefused(CouponRefused.USED_UP, coupon.code)
            redemption = Redemption.objects.create(
                coupon=coupon,
                order=order,
                email=email,
                full_price=quote.full_price,
                discount=quote.discount,
            )
            type(order).redemption.related.set_cached_value(order, redemption)
            return redemption
    except IntegrityError as exc:  # the once-per-e-mail constraint: this address holds a use
        raise CouponRefused(CouponRefused.ALREADY_USED, coupon.code) from exc


# 2. Following the order ------------------------------------------------------------------------
def follow_order(order, from_status, to_status):
    """Confirm or release the order's coupon use after its status moved (inside the caller's
    transaction, which holds the order's lock)."""
    if to_status == OrderStatus.PAID:
        _confirm(order)
    elif to_status in _RELEASING:
        _release(order)


def _move(redemption, from_status, to_status, **fields):
    """A conditional UPDATE of the use's status; the object follows. True if it moved."""
    moved = Redemption.objects.filter(pk=redemption.pk, status=from_status).update(
        status=to_status, **fields
    )
    if moved:
        redemption.status = to_status
        for name, value in fields.items():
            setattr(redemption, name, value)
    return bool(moved)


def _confirm(order):
    redemption = redemption_of(order)
    if redemption is None or redemption.status == R.CONFIRMED:
        return
    if redemption.status == R.RESERVED:
        _move(redemption, R.RESERVED, R.CONFIRMED)
        return
    _honour_late_payment(order, redemption)


def _release(order):
    redemption = redemption_of(order)
    if redemption is None or redemption.status != R.RESERVED:
        return
    if _move(redemption, R.RESERVED, R.RELEASED):
        _give_back(redemption.coupon_id)


# 3. A late payment -----------------------------------------------------------------------------
def _honour_late_payment(order, redemption):
    """The provider took the discounted amount after the use was released: take it again, or
    count it over the limit and tell staff."""
    coupon = redemption.coupon
    if _take(coupon.pk):
        try:
            with transaction.atomic():
                _move(redemption, R.RELEASED, R.CONFIRMED)
            return
        except IntegrityError:  # the address used the coupon again meanwhile
            _give_back(coupon.pk)
    Coupon.objects.filter(pk=coupon.pk).update(taken=F("taken") + 1)
    _move(redemption, R.RELEASED, R.CONFIRMED, over_limit=True)
    _flag_overshoot(order, coupon)


def _flag_overshoot(order, coupon):
    coupon.refresh_from_db(fields=["taken", "max_redemptions"])
    note = (
        f"Coupon {coupon.code} was paid for after its reservation had been released: "
        f"{coupon.uses_display} uses. The payment was honoured."
    )
    order.refresh_from_db(fields=["attention", "attention_note"])
    if not order.attention:
        order.attention = Attention.COUPON_OVERSHOOT
    order.attention_note = f"{order.attention_note}\n{note}".strip()
    order.save(update_fields=["attention", "attention_note", "updated_at"])
    logger.warning("Order %s: %s", order.pk, note)
    queue_staff_notice(Attention.COUPON_OVERSHOOT, order=order, detail=note)


# 4. Trying again -------------------------------------------------------------------------------
def reserve_again(order):
    """Before a new attempt on ``order`` (locked by the caller): a released use is taken again;
    raises :class:`CouponRefused` when the coupon has no room left (or is switched off)."""
    redemption = redemption_of(order)
    if redemption is None or redemption.status != R.RELEASED:
        return
    coupon = redemption.coupon
    if not coupon.is_active:
        raise CouponRefused(CouponRefused.UNKNOWN, coupon.code)
    try:
        with transaction.atomic():
            if not _take(coupon.pk):
                raise CouponRefused(CouponRefused.USED_UP, coupon.code)
            _move(redemption, R.RELEASED, R.RESERVED)
    except IntegrityError as exc:
        raise CouponRefused(CouponRefused.ALREADY_USED, coupon.code) from exc

"""A coupon that brings an order to 0 (100 %, or a fixed amount at least the price): the order
never meets a payment system, it is granted through the free offers' path.

1. The buyer's address is proven first, as for a free offer (views/free_coupons.py): a
   signed-in buyer is their account (a POST button), a guest types back a code e-mailed to the
   address, a new account of an offer sold with registration has just confirmed its own.
2. :func:`grant_with_coupon` then, in one transaction, makes the order of amount 0, reserves
   the coupon's use (:func:`~.redemptions.reserve`: the last use goes to one buyer, once per
   e-mail holds) and hands the order to :func:`~.free.grant_free_order` under ``key``, which
   marks it paid (the use is confirmed by :func:`~.redemptions.follow_order`) and delivers it
   like a paid order. A refusal (:class:`~.coupon_codes.CouponRefused`) or a second grant of
   the same key rolls everything back.
"""

from django.db import IntegrityError, transaction

from ..models import Order
from .accounts import normalize_email
from .coupon_codes import CouponRefused, quote
from .free import FreeGrant, grant_free_order, zero_order
from .redemptions import reserve


def grant_with_coupon(offer, quote, *, key, user=None, email="", site=None, language=None):
    """Grant ``offer`` for the free ``quote`` (coupon_codes.py), once per ``key``; returns a
    :class:`~.free.FreeGrant` (``token``: the new order's page). Raises
    :class:`~.coupon_codes.CouponRefused` when the coupon's use cannot be had."""
    if not quote.is_free:
        raise ValueError("The coupon does not make this offer free.")
    existing = Order.objects.filter(free_key=key).first()
    if existing is not None:
        return FreeGrant(existing, "", False)
    email = normalize_email(email)
    if user is not None:
        email = normalize_email(getattr(user, user.get_email_field_name(), "")) or email
    try:
        with transaction.atomic():
            order = zero_order(offer, email, user, site, language)
            token = order.new_token()
            order.save()
            reserve(order, quote, email=email)
            grant = grant_free_order(
                offer, email, key=key, user=user, site=site, language=language, order=order
            )
    except IntegrityError:  # the same key granted at the same moment: that grant stands
        existing = Order.objects.filter(free_key=key).first()
        if existing is None:
            raise
        return FreeGrant(existing, "", False)
    return FreeGrant(grant.order, token if grant.created else "", grant.created)


def grant_for_registration(code):
    """The grant of a guest's confirmed address (``registrations.confirm(..., grant=)``) for the
    coupon ``code``, checked again now that the address is known (once per e-mail)."""

    def grant(registration):
        terms = quote(registration.offer, code, email=registration.email)
        if not terms.is_free:  # the coupon changed since the form: pay from the pay link
            raise CouponRefused(CouponRefused.NOT_APPLICABLE, terms.coupon.code)
        return grant_with_coupon(
            registration.offer,
            terms,
            key=f"registration:{registration.pk}",
            email=registration.email,
            site=registration.site,
            language=registration.language,
        )

    return grant

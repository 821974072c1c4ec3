"""Free offers: an order of amount 0 that never meets a payment system.

1. The buyer proves an address first: a guest types back a code e-mailed to it
   (:mod:`wagtail_guestpay.buyers.registrations`, purpose FREE); with guest payment off, the
   registration form does the same and logs the new account in; a signed-in buyer is their
   account.
2. :func:`grant_free_order` then, in one transaction, creates the Order (source ``free``,
   amount 0) under a unique ``free_key`` (what it is granted for: the same key twice grants
   once, by the database), marks it paid through :func:`~.transitions.settle_free_order` and
   hands it to the confirmation pipeline's delivery (:func:`~.confirmation.deliver_to_email`,
   :func:`~.confirmation.deliver_to_account`): the same account rules as a paid order (an
   existing account gets the products and nobody is logged in; a new address gets an account
   and its set-up link) and the same access e-mail, sent after commit.

Coupons that bring an order to 0 call :func:`grant_free_order` with that order once the
buyer's address is confirmed.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import translation

from ..models import Contact, Order, OrderSource, OrderStatus
from .accounts import normalize_email
from .confirmation import deliver_to_account, deliver_to_email
from .transitions import settle_free_order

KEY_LENGTH = Order._meta.get_field("free_key").max_length


@dataclass
class FreeGrant:
    order: Order
    # The order page's secret token; "" when the key had been granted before (the order exists,
    # its token is known only to the browser that got it) or the order came from the caller.
    token: str
    created: bool


def grant_free_order(offer, email="", *, key, user=None, site=None, language=None, order=None):
    """Grant ``offer`` for free, once per ``key``, and queue the access e-mail after commit.

    Call it only once the address is proven: ``email`` confirmed by an e-mailed code, or
    ``user`` (the signed-in account, which gets it whatever ``email`` says). ``key`` names what
    the grant is for (e.g. ``"registration:<pk>"``, ``"coupon:<order pk>"``, at most 100
    characters): a second call with the same key grants nothing and returns the first order
    (``created`` False). ``order``: an order of amount 0 the caller made (a 100 % coupon) to
    settle instead of creating one; it must still be ``created`` and have no payment.

    Raises ValueError for an offer that is not free (without ``order``), an order that is not
    0, or no usable address.
    """
    if not key or len(key) > KEY_LENGTH:
        raise ValueError(f"A free grant needs a key of at most {KEY_LENGTH} characters.")
    email = normalize_email(email)
    if user is None and not email:
        raise ValueError("A free grant needs a confirmed e-mail address or an account.")
    if order is None and not offer.is_free:
        raise ValueError(f"Offer {offer.pk} is not free.")
    with transaction.atomic():
        existing = Order.objects.filter(free_key=key).first()
        if existing is not None:
            return FreeGrant(existing, "", False)
        token = ""
        if order is None:
            order, token = _new_order(offer, email, key, user, site, language)
            if not token:  # a concurrent call with the same key made it
                return FreeGrant(order, "", False)
        else:
            order = _adopt(order, key, email, user)
        if not settle_free_order(order, reason="free offer"):
            return FreeGrant(order, "", False)
        if order.paid_as_user and order.user_id:
            deliver_to_account(order)
        else:
            deliver_to_email(order, email, source=Contact.Source.FREE_OFFER)
    return FreeGrant(order, token, True)


def zero_order(offer, email, user, site, language, **fields):
    """An unsaved order of amount 0 for ``offer`` (a free offer's, or a 100 % coupon's)."""
    return Order(
        offer=offer,
        site=site,
        user=user,
        paid_as_user=user is not None,
        email=email,
        amount=Decimal("0"),
        currency=offer.currency,
        language=(translation.get_language() or "") if language is None else language,
        **fields,
    )


def _new_order(offer, email, key, user, site, language):
    order = zero_order(offer, email, user, site, language, source=OrderSource.FREE, free_key=key)
    token = order.new_token()
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        return Order.objects.get(free_key=key), ""
    return Order.objects.select_for_update(of=("self",)).select_related("offer").get(
        pk=order.pk
    ), token


def _adopt(order, key, email, user):
    """The caller's order of amount 0, locked and marked free under ``key``."""
    locked = Order.objects.select_for_update(of=("self",)).select_related("offer").get(pk=order.pk)
    if locked.amount != 0 or locked.status != OrderStatus.CREATED or locked.payments.exists():
        raise ValueError(f"Order {locked.pk} cannot be settled as free.")
    locked.source = OrderSource.FREE
    locked.free_key = key
    if user is not None and not locked.user_id:
        locked.user = user
        locked.paid_as_user = True
    if email:
        locked.email = email
    locked.save(update_fields=["source", "free_key", "user", "paid_as_user", "email", "updated_at"])
    return locked

"""Pay links under abuse: what one click may create.

1. The same browser clicking Pay again for the same offer within ``PAY_REUSE_WINDOW`` is sent
   back to its open order and payment (and to the payment system's page while it still works),
   so three clicks make one order. The browser is known by a signed cookie that names its open
   orders (their secret tokens: the same browser holds them in the order page's URL anyway).
2. Otherwise a new order (or a new attempt, from "try again") counts against the client's budget
   for the offer (``PAY_RATE_LIMITS``); past it the buyer gets the 429 page and nothing is
   created. The client is the logged-in account, else the IP address: buyers behind one shared
   NAT share the budget, a crawler following a published link spends it in a few clicks.

3. A coupon code (``?coupon=CODE``) is quoted first (coupon_codes.py): a refusal raises
   :class:`~.coupon_codes.CouponRefused` before anything is created, and the view shows it
   beside the full price. An open order is resumed only on the same terms (same coupon, same
   amount).

Cookies do not stop a client that drops them (a crawler, a script): the budget does. Payments
made by such clicks are never started: they are checked once when their page expired and
expired then (see :mod:`wagtail_guestpay.checkout`).
"""

import json
import time

from django.template.response import TemplateResponse

from ..conf import guestpay_settings
from ..models import Order, OrderStatus, Redemption, RedemptionStatus
from ..ratelimit import allow, client_ip, configured_budget
from .checkout import (
    can_resume,
    create_order,
    known_email,
    new_payment,
    resume_checkout,
    send_to_provider,
)
from .coupon_codes import CouponMakesItFree, CouponRefused, clean_code, quote
from .coupon_codes import within_budget as coupon_within_budget

COOKIE = "guestpay_orders"
SALT = "wagtail_guestpay.pay_links"
MAX_REMEMBERED = 5


def _window_seconds():
    return int(guestpay_settings.as_timedelta("PAY_REUSE_WINDOW").total_seconds())


def client_key(request):
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{client_ip(request)}"


def within_budget(request, offer):
    """Count one new order or attempt for this client and offer; False once spent."""
    return allow(
        "pay",
        f"{offer.pk}:{client_key(request)}",
        configured_budget("PAY_RATE_LIMITS", "client_offer"),
    )


def rate_limited(request):
    response = TemplateResponse(request, "wagtail_guestpay/rate_limited.html", {}, status=429)
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Retry-After"] = str(configured_budget("PAY_RATE_LIMITS", "client_offer")[1])
    return response


def _remembered(request):
    """{offer id: [order token, unix time]} from the signed cookie; {} when absent or forged."""
    window = _window_seconds()
    raw = request.get_signed_cookie(COOKIE, default=None, salt=SALT, max_age=window)
    try:
        entries = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(entries, dict):
        return {}
    now = time.time()
    return {
        key: value
        for key, value in entries.items()
        if isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and now - value[1] <= window
    }


def remember(response, request, offer, token):
    """Name the open order of ``offer`` in this browser's cookie (the newest few offers)."""
    entries = _remembered(request)
    entries.pop(str(offer.pk), None)
    entries[str(offer.pk)] = [token, int(time.time())]
    entries = dict(list(entries.items())[-MAX_REMEMBERED:])
    response.set_signed_cookie(
        COOKIE,
        json.dumps(entries, separators=(",", ":")),
        salt=SALT,
        max_age=_window_seconds(),
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


def _same_terms(order, offer, code):
    """The open order costs what this click would: the offer's price and currency, and the
    same coupon (``code``, or none) still reserved for it."""
    if order.currency != offer.currency:
        return False
    held = (
        Redemption.objects.filter(order=order, status=RedemptionStatus.RESERVED)
        .values_list("coupon__code", "full_price")
        .first()
    )
    if not code:
        return held is None and order.amount == offer.price
    return held is not None and held[0].lower() == code.lower() and held[1] == offer.price


def open_order(request, offer, user, code=""):
    """This browser's open order of ``offer`` and its payment, when it may be resumed:
    ``(order, payment, token)`` or None."""
    entry = _remembered(request).get(str(offer.pk))
    if entry is None:
        return None
    token = entry[0]
    order = (
        Order.objects.by_token(token)
        .filter(offer=offer, status=OrderStatus.CREATED, user=user, paid_as_user=user is not None)
        .select_related("offer")
        .first()
    )
    if order is None or not _same_terms(order, offer, code):
        return None
    payment = order.payments.select_related("account").first()
    if (
        payment is None
        or payment.account_id != offer.provider_account_id
        or not can_resume(payment)
    ):
        return None
    return order, payment, token


def coupon_quote(request, offer, code, user=None):
    """The quote of ``offer`` with the coupon ``code`` (counted against the client's budget of
    codes); raises :class:`CouponRefused`, or :class:`CouponMakesItFree` for a price of 0."""
    if not coupon_within_budget(request):
        raise CouponRefused(CouponRefused.TOO_MANY_TRIES)
    result = quote(offer, code, email=known_email(user))
    if result.is_free:
        raise CouponMakesItFree(result)
    return result


def pay_for_offer(request, offer, user=None, coupon=""):
    """Resume this browser's open order of ``offer``, else create one within the budget; the
    response (the payment system's page, the 429 page or the "unavailable" page). With a
    ``coupon`` code, raises :class:`CouponRefused` when it cannot be used, and
    :class:`CouponMakesItFree` when it brings the price to 0 (nothing created either way)."""
    code = clean_code(coupon)
    resumed = open_order(request, offer, user, code)
    discounted = None
    if resumed is None and code:
        discounted = coupon_quote(request, offer, code, user)
    if resumed is not None:
        _order, payment, token = resumed
        return remember(resume_checkout(request, payment, token), request, offer, token)
    if not within_budget(request, offer):
        return rate_limited(request)
    _order, payment, token = create_order(request, offer, user=user, quote=discounted)
    response = send_to_provider(request, payment, token)
    if response.status_code < 400:
        remember(response, request, offer, token)
    return response


def pay_again(request, order, token, last_payment):
    """ "Try again" on a failed or abandoned order: back to the last attempt's page while it
    works, else a new attempt within the budget (raises :class:`CouponRefused` when the
    order's coupon has no use left for it)."""
    if last_payment is not None and can_resume(last_payment):
        return resume_checkout(request, last_payment, token)
    if not within_budget(request, order.offer):
        return rate_limited(request)
    return send_to_provider(request, new_payment(order), token)

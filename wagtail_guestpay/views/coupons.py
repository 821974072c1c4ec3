"""What the buyer sees of a coupon code that cannot be used: the reason, the full price, a
Pay button at that price and a field for another code. Never an error page: a bad code (typed,
forged or mangled in a link) is the buyer's everyday mistake."""

from urllib.parse import urlencode

from ..layout import buyer_page

COUPON_PARAMETER = "coupon"


def coupon_from(query):
    """The code a link or a form names ('' when none)."""
    value = query.get(COUPON_PARAMETER, "")
    return value if isinstance(value, str) else ""


def with_coupon(path, code):
    """``path`` with ``?coupon=code`` when there is a code."""
    return f"{path}?{urlencode({COUPON_PARAMETER: code})}" if code else path


def coupon_refused(request, offer, refusal, *, pay_url):
    """The page for a :class:`~wagtail_guestpay.fulfilment.coupon_codes.CouponRefused`."""
    return buyer_page(
        request,
        "wagtail_guestpay/checkout/coupon_refused.html",
        {"offer": offer, "message": refusal.message, "pay_url": pay_url},
    )

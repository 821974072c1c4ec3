"""The Pay button and the direct payment link (the registration step of offers without guest
payment is in views/registration.py)."""

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..adapter import get_adapter
from ..fulfilment.coupon_codes import CouponMakesItFree, CouponRefused
from ..fulfilment.pay_limits import coupon_quote, pay_for_offer
from ..layout import BuyerPageResponse
from . import free, free_coupons
from .coupons import coupon_from, coupon_refused, with_coupon
from .steps import offer_or_404


def _is_prefetch(request):
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    return "prefetch" in purpose.lower() or "prerender" in purpose.lower()


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def pay(request, slug):
    """One click, one redirect: create the order and send the buyer to the payment system.

    Anonymous visitors get here only when the offer takes payment without login; otherwise the
    link answers 404, as the source document requires (with a page saying to log in first).
    Logged-in buyers pay as themselves, unless they already hold everything the offer sells:
    then the link says so and opens it. A free offer's link asks for the e-mail instead
    (views/free.py; its form posts back here). ``?coupon=CODE`` pays the discounted price; a
    code that cannot be used shows why, beside the full price (views/coupons.py); one that makes
    the offer free takes the free offers' steps (views/free_coupons.py; their forms post here).
    """
    offer = offer_or_404(slug)
    coupon = coupon_from(request.GET)
    if request.method == "POST" and not (offer.is_free or coupon):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if not request.user.is_authenticated and not offer.takes_guest_payment:
        # Still a 404 (nothing is sold to anonymous visitors here), but a page of the site that
        # says what to do, rather than the host's bare "not found" (or, with DEBUG, Django's
        # technical page).
        response = BuyerPageResponse(
            request,
            "wagtail_guestpay/checkout/login_required.html",
            {
                "offer": offer,
                "login_url": get_adapter().get_login_url(with_coupon(offer.get_pay_path(), coupon)),
                "checkout_url": with_coupon(offer.get_checkout_path(), coupon),
            },
            status=404,
        )
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    if request.method == "HEAD" or _is_prefetch(request):
        # Link checkers and browser prefetches must not create orders or provider sessions.
        response = HttpResponse(status=204)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    open_url = offer.already_yours_url(request)
    if open_url:
        return BuyerPageResponse(
            request,
            "wagtail_guestpay/checkout/already_yours.html",
            {"offer": offer, "open_url": open_url},
        )
    if offer.is_free:  # never a payment system: an e-mailed code, or the signed-in account
        return free.free_offer(request, offer)
    user = request.user if request.user.is_authenticated else None
    # The same browser clicking again resumes its open order; new orders are counted per client
    # (docs/security.md, "Pay links").
    try:
        if request.method == "POST":  # only a coupon that makes the offer free takes a form
            coupon_quote(request, offer, coupon, user)
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return pay_for_offer(request, offer, user, coupon=coupon)
    except CouponRefused as refusal:
        return coupon_refused(request, offer, refusal, pay_url=offer.get_pay_path())
    except CouponMakesItFree as free_of_charge:  # never a payment system (free_coupons.py)
        return free_coupons.free_with_coupon(request, offer, free_of_charge.quote, coupon)

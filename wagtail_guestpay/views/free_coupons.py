"""A coupon that makes a paid offer free, on the pay link (views/pay.py sends it here):

- a signed-in buyer gets a "Get it free" button whose POST (with a random nonce naming the
  grant, so the same form sent twice grants once) grants to their account;
- a guest (payment without login on) gets the free offers' e-mail form and code page
  (views/free.py), the code riding in the session;
- a new account of an offer sold with registration is granted right after its code
  (views/registration.py).

The grant itself is :func:`wagtail_guestpay.fulfilment.free_coupons.grant_with_coupon`.
"""

import re
import secrets

from django.shortcuts import redirect
from django.urls import reverse
from wagtail.models import Site

from ..fulfilment import pay_limits
from ..fulfilment.coupon_codes import CouponRefused
from ..fulfilment.free_coupons import grant_with_coupon
from ..layout import buyer_page
from . import free
from .coupons import coupon_refused, with_coupon
from .steps import see_other

NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def free_with_coupon(request, offer, quote, code):
    """The pay link (GET or POST) for a coupon whose quote is 0."""
    if not request.user.is_authenticated:
        return free.free_offer(request, offer, coupon=quote.coupon.code)
    pay_url = with_coupon(offer.get_pay_path(), quote.coupon.code)
    if request.method != "POST":
        return buyer_page(
            request,
            "wagtail_guestpay/checkout/coupon_free.html",
            {"offer": offer, "quote": quote, "action": pay_url, "nonce": secrets.token_urlsafe(24)},
        )
    nonce = request.POST.get("nonce", "")
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        return see_other(pay_url)
    if not pay_limits.within_budget(request, offer):
        return pay_limits.rate_limited(request)
    try:
        grant = grant_with_coupon(
            offer,
            quote,
            key=f"coupon:{request.user.pk}:{nonce}",
            user=request.user,
            site=Site.find_for_request(request),
        )
    except CouponRefused as refusal:
        return coupon_refused(request, offer, refusal, pay_url=offer.get_pay_path())
    if grant.token:
        return see_other(reverse("wagtail_guestpay:order", args=[grant.token]))
    return redirect(offer.already_yours_url(request) or offer.get_pay_path())


def after_registration(request, offer, quote, registration, user):
    """A new account (offer sold with registration) whose code was right, with a coupon that
    makes the offer free: granted at once (the code's POST was the buyer's click)."""
    try:
        grant = grant_with_coupon(
            offer,
            quote,
            key=f"registration:{registration.pk}",
            user=user,
            site=registration.site,
            language=registration.language,
        )
    except CouponRefused as refusal:
        return coupon_refused(request, offer, refusal, pay_url=offer.get_pay_path())
    if grant.token:
        return see_other(reverse("wagtail_guestpay:order", args=[grant.token]))
    return redirect(offer.already_yours_url(request) or offer.get_pay_path())

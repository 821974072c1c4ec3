"""Free offers (price 0): the pay link's e-mail form, the page that asks for the e-mailed code,
and "send a new code". Nothing here meets a payment system.

- A guest (guest payment on) types an address; every valid one gets the same answer, a 303 to
  the code page, and the same e-mail: a code (:mod:`wagtail_guestpay.buyers.registrations`,
  purpose FREE). The right code, typed in the browser that asked, grants the offer
  (:func:`wagtail_guestpay.fulfilment.free.grant_free_order`): nobody is logged in; the order
  page says where the access e-mail went.
- A signed-in buyer gets a "Get it free" button (a POST, so a prefetch or a crawler takes
  nothing); the grant goes to their account.
- Guest payment off: the pay link answers 404 to a guest (views/pay.py) and the registration
  form (views/registration.py) confirms the address, logs the new account in and grants.
- A coupon that makes a paid offer free takes the same e-mail form and code page for a guest
  (the code rides in the session; the grant is fulfilment/free_coupons.py's), and
  views/free_coupons.py's button for a signed-in buyer.

Budgets (``ratelimit.py``): the form counts against ``RATE_LIMIT`` per client and
``REGISTRATION_RATE_LIMITS["register_email"]`` per address, codes typed and new codes as for
registrations, and a signed-in buyer's grants against the pay links' ``PAY_RATE_LIMITS``.
"""

import re
import secrets
from functools import partial

from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from wagtail.models import Site

from ..adapter import get_adapter
from ..buyers import registrations
from ..buyers.codes import CODE_DIGITS, CodeCheck
from ..buyers.forms import CodeForm, FreeOfferForm
from ..fulfilment import pay_limits
from ..fulfilment.coupon_codes import CouponRefused
from ..fulfilment.free import grant_free_order
from ..fulfilment.free_coupons import grant_for_registration
from ..layout import BuyerPageResponse, private
from ..models import PendingRegistration
from ..ratelimit import allow_request, client_ip
from . import code_results
from .coupons import coupon_refused, with_coupon
from .steps import code_page, offer_or_404, rate_limited, see_other, within

SESSION_KEY = "wagtail_guestpay_free"
FREE = PendingRegistration.Purpose.FREE
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _session_token(request):
    return (request.session.get(SESSION_KEY) or {}).get("token", "")


def _session_coupon(request):
    """The coupon that makes a paid offer free for this browser's request ('' for a free
    offer)."""
    return (request.session.get(SESSION_KEY) or {}).get("coupon", "")


def _code_path(offer, query=""):
    return reverse("wagtail_guestpay:free_code", args=[offer.slug]) + query


def _order_page(grant):
    return see_other(reverse("wagtail_guestpay:order", args=[grant.token]))


def free_offer(request, offer, coupon=""):
    """The pay link of a free offer (views/pay.py sends GET and POST here once it has checked
    that the visitor may have it): the e-mail form, or a signed-in buyer's button. ``coupon``:
    a guest's code that makes the (paid) offer free (views/free_coupons.py)."""
    if request.user.is_authenticated and not coupon:
        return _for_account(request, offer)
    form = FreeOfferForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not allow_request(request, "register"):
            return rate_limited(request)
        if form.is_valid():
            email = form.cleaned_data["email"]
            if not within("register_email", email):
                return rate_limited(request)
            token = registrations.start(
                offer,
                email=email,
                password=None,
                registration_data={},
                site=Site.find_for_request(request),
                language=translation.get_language() or "",
                replaces=_session_token(request),
                purpose=FREE,
            )
            request.session[SESSION_KEY] = {"token": token, "coupon": coupon}
            return see_other(_code_path(offer))
        status = 400
    return private(
        BuyerPageResponse(
            request,
            "wagtail_guestpay/free/email.html",
            {
                "offer": offer,
                "form": form,
                "login_url": get_adapter().get_login_url(with_coupon(offer.get_pay_path(), coupon)),
                "coupon": coupon,
            },
            status=status,
        )
    )


def _for_account(request, offer):
    """A signed-in buyer: GET shows the button, its POST grants to the account. The form's
    random ``nonce`` names the grant, so the same form sent twice grants once."""
    if request.method == "POST":
        nonce = request.POST.get("nonce", "")
        if not NONCE.match(nonce):
            return see_other(offer.get_pay_path())
        if not pay_limits.within_budget(request, offer):
            return pay_limits.rate_limited(request)
        grant = grant_free_order(
            offer,
            key=f"user:{request.user.pk}:{nonce}",
            user=request.user,
            site=Site.find_for_request(request),
        )
        if grant.token:
            return _order_page(grant)
        return redirect(offer.already_yours_url(request) or offer.get_pay_path())
    return private(
        BuyerPageResponse(
            request,
            "wagtail_guestpay/free/confirm.html",
            {"offer": offer, "nonce": secrets.token_urlsafe(24)},
        )
    )


def _guest_offer_or_redirect(request, slug):
    """The free offer a guest confirms an address for, or the response that replaces the page
    (signed in, or not a free guest offer: its pay link says what to do)."""
    offer = offer_or_404(slug)
    free = offer.is_free or _session_coupon(request)
    if request.user.is_authenticated or not (free and offer.takes_guest_payment):
        return offer, redirect(offer.get_pay_path())
    return offer, None


def _state_message(registration):
    if registration.status == registration.Status.LOCKED:
        return _("Too many wrong codes. Type your address again to get a new code.")
    if registration.status == registration.Status.USED:
        return _("This code was used: check your e-mail for the access link.")
    if registration.status != registration.Status.PENDING:
        return _("This request is over. Type your address again.")
    if registration.is_expired:
        return _("This code has expired. Ask for a new code below.")
    return ""


_code_page = partial(
    code_page,
    template="wagtail_guestpay/free/code.html",
    restart_url=lambda offer: offer.get_pay_path(),
    resend="wagtail_guestpay:free_code_resend",
    state_message=_state_message,
)


@never_cache
@require_http_methods(["GET", "POST"])
def free_code(request, slug):
    """ "Enter the code we e-mailed to <address>": the right code grants the offer and shows the
    order page; a wrong, expired or used one changes nothing."""
    offer, elsewhere = _guest_offer_or_redirect(request, slug)
    if elsewhere is not None:
        return elsewhere
    registration = registrations.find(_session_token(request), offer, FREE)
    if request.method == "GET":
        if registration is None:
            return redirect(offer.get_pay_path())
        return _code_page_after_check(request, offer, registration)
    if not within("verify_client", client_ip(request)):
        return rate_limited(request)
    if registration is None:
        return _code_page(
            request,
            offer,
            None,
            status=400,
            message=_(
                "No request is waiting for a code in this browser. Type your address again: "
                "the code only works in the browser where you asked for it."
            ),
        )
    if not within("verify_registration", str(registration.pk)):
        return rate_limited(request)
    form = CodeForm(request.POST, digits=CODE_DIGITS)
    if not form.is_valid():  # not a code at all: no try was spent
        return _code_page(request, offer, registration, form=form, status=400)
    coupon = _session_coupon(request)
    try:
        outcome = registrations.confirm(
            registration,
            form.cleaned_data["code"],
            grant=grant_for_registration(coupon) if coupon and not offer.is_free else None,
        )
    except CouponRefused as refusal:  # ran out meanwhile: the code stays good for nothing else
        request.session.pop(SESSION_KEY, None)
        return coupon_refused(request, offer, refusal, pay_url=offer.get_pay_path())
    if outcome.result == CodeCheck.ACCEPTED and outcome.grant.token:
        request.session.pop(SESSION_KEY, None)
        return _order_page(outcome.grant)
    code_results.remember(request, f"free:{registration.pk}", outcome)
    return see_other(_code_path(offer))


def _code_page_after_check(request, offer, registration):
    result, attempts_left = code_results.take(request, f"free:{registration.pk}")
    if result == CodeCheck.WRONG:
        form = code_results.form_with_code_error(
            CodeForm, code_results.wrong_code_message(attempts_left), digits=CODE_DIGITS
        )
        return _code_page(request, offer, registration, form=form)
    return _code_page(request, offer, registration)


@never_cache
@require_POST
def free_code_resend(request, slug):
    """ "Send a new code" (the previous one stops working; a few per request)."""
    offer, elsewhere = _guest_offer_or_redirect(request, slug)
    if elsewhere is not None:
        return elsewhere
    registration = registrations.find(_session_token(request), offer, FREE)
    if registration is None:
        return see_other(offer.get_pay_path())
    if not within("resend_client", client_ip(request)):
        return rate_limited(request)
    if not registrations.request_new_code(registration):
        return _code_page(
            request,
            offer,
            registration,
            status=429,
            message=_("No more codes can be sent for this request. Type your address again."),
        )
    return see_other(_code_path(offer, "?sent=1"))

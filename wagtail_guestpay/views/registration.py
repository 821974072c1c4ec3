"""Registration before payment, for offers without guest payment: the form, the page that asks
for the e-mailed code, and "send a new code".

The form answers every valid registration the same way, whatever the address: a 303 to the code
page. The code page finds the registration through the browser session only (its URL names
nothing), so a registration cannot be reached from another browser. The rules live in
:mod:`wagtail_guestpay.buyers.registrations`.
"""

from functools import partial

from django.conf import settings
from django.contrib.auth import login
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
from ..buyers.forms import CodeForm, RegistrationForm
from ..fulfilment.coupon_codes import CouponMakesItFree, CouponRefused, clean_code
from ..fulfilment.free import grant_free_order
from ..fulfilment.pay_limits import pay_for_offer
from ..layout import BuyerPageResponse
from ..ratelimit import allow_request, client_ip
from . import code_results
from .coupons import coupon_from, coupon_refused
from .free_coupons import after_registration
from .steps import code_page, login_url, offer_or_404, rate_limited, see_other, within

SESSION_KEY = "wagtail_guestpay_registration"


def _session_token(request):
    return (request.session.get(SESSION_KEY) or {}).get("token", "")


def _code_path(offer, query=""):
    return reverse("wagtail_guestpay:checkout_code", args=[offer.slug]) + query


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request, slug):
    """Guest payment off: the registration form; a valid one waits for the e-mailed code."""
    offer = offer_or_404(slug)
    if request.user.is_authenticated or offer.takes_guest_payment:
        return redirect(offer.get_pay_path())
    site = Site.find_for_request(request)
    form = RegistrationForm(request.POST or None, site=site)
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
                password=form.cleaned_data["password2"],
                registration_data=form.registration_data(),
                site=site,
                language=translation.get_language() or "",
                replaces=_session_token(request),
            )
            # A coupon in the link (?coupon=CODE) is used when the payment starts.
            request.session[SESSION_KEY] = {
                "token": token,
                "coupon": clean_code(coupon_from(request.GET)),
            }
            return see_other(_code_path(offer))
    return BuyerPageResponse(
        request,
        "wagtail_guestpay/checkout/register.html",
        {
            "offer": offer,
            "form": form,
            "login_url": login_url(offer),
            "coupon": clean_code(coupon_from(request.GET)),
        },
    )


def _state_message(registration):
    """What the code page says of a registration that cannot take a code now."""
    if registration.status == registration.Status.LOCKED:
        return _("Too many wrong codes. Fill in the form again to get a new code.")
    if registration.status == registration.Status.CANCELLED:
        return _("This address has an account now: log in to continue your purchase.")
    if registration.status != registration.Status.PENDING:
        return _("This registration is over. Fill in the form again.")
    if registration.is_expired:
        return _("This code has expired. Ask for a new code below.")
    return ""


_code_page = partial(
    code_page,
    template="wagtail_guestpay/checkout/code.html",
    restart_url=lambda offer: offer.get_checkout_path(),
    resend="wagtail_guestpay:checkout_code_resend",
    state_message=_state_message,
)


@never_cache
@require_http_methods(["GET", "POST"])
def checkout_code(request, slug):
    """ "Enter the code we e-mailed to <address>": the right code creates the account, logs it in,
    creates the order and goes straight to the payment system (a free offer: the account gets
    it, fulfilment/free.py, and the order page shows it)."""
    offer = offer_or_404(slug)
    if request.user.is_authenticated or offer.takes_guest_payment:
        return redirect(offer.get_pay_path())
    registration = registrations.find(_session_token(request), offer)
    if request.method == "GET":
        if registration is None:  # nothing waits in this browser: the form
            return redirect(offer.get_checkout_path())
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
                "No registration is waiting for a code in this browser. Fill in the form again: "
                "the code only works in the browser where you asked for it."
            ),
        )
    if not within("verify_registration", str(registration.pk)):
        return rate_limited(request)
    form = CodeForm(request.POST, digits=CODE_DIGITS)
    if not form.is_valid():  # not a code at all: no try was spent, the form says why
        return _code_page(request, offer, registration, form=form, status=400)
    outcome = registrations.confirm(registration, form.cleaned_data["code"])
    if outcome.result == CodeCheck.ACCEPTED:
        coupon = (request.session.pop(SESSION_KEY, None) or {}).get("coupon") or ""
        login(request, outcome.user, backend=settings.AUTHENTICATION_BACKENDS[0])
        if offer.is_free:  # the confirmed new account gets it: no payment system
            grant = grant_free_order(
                offer,
                key=f"registration:{registration.pk}",
                user=outcome.user,
                site=registration.site,
                language=registration.language,
            )
            if grant.token:
                return see_other(reverse("wagtail_guestpay:order", args=[grant.token]))
            return redirect(get_adapter().get_personal_area_url())
        try:
            return pay_for_offer(request, offer, outcome.user, coupon=coupon)
        except CouponRefused as refusal:  # the account exists now: pay in full from here
            return coupon_refused(request, offer, refusal, pay_url=offer.get_pay_path())
        except CouponMakesItFree as free_of_charge:
            return after_registration(
                request, offer, free_of_charge.quote, registration, outcome.user
            )
    # A try was spent: the page is shown by GET (reloading it must not spend another).
    code_results.remember(request, f"registration:{registration.pk}", outcome)
    return see_other(_code_path(offer))


def _code_page_after_check(request, offer, registration):
    """The code page, saying what the code typed just before was found to be."""
    result, attempts_left = code_results.take(request, f"registration:{registration.pk}")
    if result == CodeCheck.WRONG:
        form = code_results.form_with_code_error(
            CodeForm, code_results.wrong_code_message(attempts_left), digits=CODE_DIGITS
        )
        return _code_page(request, offer, registration, form=form)
    if result == CodeCheck.LOCKED:  # (also when a concurrent request ended it)
        return _code_page(
            request,
            offer,
            registration,
            message=(
                _state_message(registration)
                or _("Too many wrong codes. Fill in the form again to get a new code.")
            ),
        )
    # Expired, over, or the address got an account meanwhile: the registration's state says.
    return _code_page(request, offer, registration)


@never_cache
@require_POST
def checkout_code_resend(request, slug):
    """ "Send a new code" (the previous one stops working; rate-limited, and a few per
    registration)."""
    offer = offer_or_404(slug)
    if request.user.is_authenticated or offer.takes_guest_payment:
        return redirect(offer.get_pay_path())
    registration = registrations.find(_session_token(request), offer)
    if registration is None:
        return see_other(offer.get_checkout_path())
    if not within("resend_client", client_ip(request)):
        return rate_limited(request)
    if not registrations.request_new_code(registration):
        return _code_page(
            request,
            offer,
            registration,
            status=429,
            message=_("No more codes can be sent for this registration. Fill in the form again."),
        )
    return see_other(_code_path(offer, "?sent=1"))

"""The Pay button, the direct payment link and the registration step of guest-off offers."""

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from wagtail.models import Site

from ..accounts import contact_for
from ..adapter import get_adapter
from ..checkout import create_order, send_to_provider
from ..forms import RegistrationForm
from ..models import Contact, Offer
from ..ratelimit import allow_request


def _offer_or_404(slug):
    offer = Offer.objects.select_related("provider_account").filter(slug=slug).first()
    if offer is None or not offer.can_take_payment:
        raise Http404("No offer on sale here.")
    return offer


def _is_prefetch(request):
    purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
    return "prefetch" in purpose.lower() or "prerender" in purpose.lower()


@never_cache
@require_http_methods(["GET", "HEAD"])
def pay(request, slug):
    """One click, one redirect: create the order and send the buyer to the payment system.

    Anonymous visitors get here only when the offer takes payment without login; otherwise the
    link answers 404, as the source document requires. Logged-in buyers pay as themselves.
    """
    offer = _offer_or_404(slug)
    if not request.user.is_authenticated and not offer.takes_guest_payment:
        raise Http404("Log in to buy this offer.")
    if request.method == "HEAD" or _is_prefetch(request):
        # Link checkers and browser prefetches must not create orders or provider sessions.
        response = HttpResponse(status=204)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    user = request.user if request.user.is_authenticated else None
    _order, payment, token = create_order(request, offer, user=user)
    return send_to_provider(request, payment, token)


@never_cache
@require_http_methods(["GET", "POST"])
def checkout(request, slug):
    """Guest payment off: register (or log in) first, then straight to the payment system."""
    offer = _offer_or_404(slug)
    if request.user.is_authenticated or offer.takes_guest_payment:
        return redirect(offer.get_pay_path())
    site = Site.find_for_request(request)
    form = RegistrationForm(request.POST or None, site=site)
    if request.method == "POST":
        if not allow_request(request, "register"):
            return TemplateResponse(
                request, "wagtail_guestpay/rate_limited.html", {}, status=429
            )
        if form.is_valid():
            user = _register(form)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            _order, payment, token = create_order(request, offer, user=user)
            return send_to_provider(request, payment, token)
    return TemplateResponse(
        request,
        "wagtail_guestpay/checkout/register.html",
        {
            "offer": offer,
            "form": form,
            "login_url": get_adapter().get_login_url(offer.get_pay_path()),
        },
    )


def _register(form):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from .. import signals

    User = get_user_model()
    adapter = get_adapter()
    email = form.cleaned_data["email"]
    with transaction.atomic():
        user = adapter.create_user(email)
        user.set_password(form.cleaned_data["password2"])
        user.save()
        contact = contact_for(email, source=Contact.Source.REGISTRATION)
        contact.user = user
        contact.registration_data = {**contact.registration_data, **form.registration_data()}
        contact.save()
        transaction.on_commit(
            lambda: signals.account_activated.send(
                sender=User, user=user, registration_data=contact.registration_data, request=None
            ),
            robust=True,
        )
    return user

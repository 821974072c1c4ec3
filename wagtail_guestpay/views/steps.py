"""What the buyer's steps before payment share (the pay link in pay.py, registration before
payment in registration.py, free offers in free.py): the offer on sale, the 303 after a POST,
the 429 page and the registration budgets."""

from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse

from ..adapter import get_adapter
from ..buyers import registrations
from ..buyers.codes import CODE_DIGITS
from ..buyers.forms import CodeForm
from ..layout import BuyerPageResponse, private
from ..localization import find_offer
from ..models import Offer
from ..ratelimit import allow


def offer_or_404(slug):
    # The offer's translation in the visitor's language (localization.py), else the default's.
    offer = find_offer(slug, Offer.objects.select_related("provider_account"))
    if offer is None or not offer.can_take_payment:
        raise Http404("No offer on sale here.")
    return offer


def within(name, key):
    """Count one request against the budget ``name`` of ``REGISTRATION_RATE_LIMITS``."""
    return allow(f"registration_{name}", key, registrations.rate_limit(name))


def rate_limited(request):
    return private(BuyerPageResponse(request, "wagtail_guestpay/rate_limited.html", {}, status=429))


def see_other(url):
    response = redirect(url)
    response.status_code = 303
    return response


def login_url(offer):
    return get_adapter().get_login_url(offer.get_pay_path())


def code_page(
    request,
    offer,
    registration,
    *,
    template,
    restart_url,
    resend,
    state_message,
    form=None,
    message="",
    status=200,
):
    """ "Enter the code we e-mailed": the flow gives its template, the page that starts it again
    (``restart_url(offer)``), its resend URL's name and what it says of a registration that
    takes no code now (``state_message(registration)``)."""
    if registration is not None and not message and not (form and form.errors):
        message = state_message(registration)
    if form is not None and form.is_bound and form.errors.get("code"):
        form.fields["code"].widget.attrs["aria-describedby"] = f"{form.auto_id % 'code'}_error"
    return private(
        BuyerPageResponse(
            request,
            template,
            {
                "offer": offer,
                "registration": registration,
                "form": form or CodeForm(digits=CODE_DIGITS),
                "message": message,
                "sent_again": request.GET.get("sent") == "1" and not message,
                "max_age_minutes": registrations.max_age_minutes(),
                "login_url": login_url(offer),
                "restart_url": restart_url(offer),
                "resend_url": reverse(resend, args=[offer.slug]),
            },
            status=status,
        )
    )

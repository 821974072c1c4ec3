"""What the buyer's steps before payment share (the pay link in pay.py, registration before
payment in registration.py, free offers in free.py): the offer on sale, the 303 after a POST,
the 429 page and the registration budgets."""

from django.http import Http404
from django.shortcuts import redirect

from ..adapter import get_adapter
from ..buyers import registrations
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

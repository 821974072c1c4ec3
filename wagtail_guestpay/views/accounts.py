"""New accounts' first visit (access link -> button -> password) and the personal area."""

import time

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from wagtail.models import Site

from .. import queueing, signals
from ..adapter import get_adapter
from ..buyers.forms import AccessLinkRequestForm, AccountSetupForm
from ..conf import guestpay_settings
from ..fulfilment.access import products_for
from ..fulfilment.accounts import BuyerAccount, add_registration_data, normalize_email
from ..layout import BuyerPageResponse, private
from ..models import AccessLink, Contact, GuestAccount, hash_token
from ..ratelimit import allow_request
from .account_settings import buyer_login_required

SETUP_SESSION_KEY = "wagtail_guestpay_setup"


def _usable_link(token):
    link = (
        AccessLink.objects.usable()
        .select_related("user")
        .filter(token_hash=hash_token(token or ""))
        .first()
    )
    if link is None or not link.user.is_active or not BuyerAccount(user=link.user).is_new:
        return None
    return link


@never_cache
@require_http_methods(["GET", "POST"])
def access_link(request, token):
    """GET shows a button and consumes nothing (mail scanners open links); POST consumes the
    link and opens the account set-up for this browser session."""
    if request.method == "POST" and not allow_request(request, "access_link"):
        return private(
            BuyerPageResponse(request, "wagtail_guestpay/rate_limited.html", {}, status=429)
        )
    link = _usable_link(token)
    if link is None:
        return private(
            BuyerPageResponse(
                request,
                "wagtail_guestpay/account/link_invalid.html",
                {"form": AccessLinkRequestForm()},
                status=410,
            )
        )
    if request.method == "GET":
        return private(
            BuyerPageResponse(request, "wagtail_guestpay/account/link_landing.html", {"link": link})
        )
    consumed = AccessLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not consumed:
        return private(
            BuyerPageResponse(
                request,
                "wagtail_guestpay/account/link_invalid.html",
                {"form": AccessLinkRequestForm()},
                status=410,
            )
        )
    request.session.cycle_key()
    max_age = guestpay_settings.as_timedelta("ACCOUNT_SETUP_MAX_AGE").total_seconds()
    request.session[SETUP_SESSION_KEY] = {"user": link.user.pk, "until": time.time() + max_age}
    return redirect("wagtail_guestpay:account_setup")


def _setup_user(request):
    state = request.session.get(SETUP_SESSION_KEY) or {}
    if not state or state.get("until", 0) < time.time():
        return None
    user = get_user_model()._default_manager.filter(pk=state.get("user"), is_active=True).first()
    if user is None or not BuyerAccount(user=user).is_new:
        return None
    return user


@never_cache
@require_http_methods(["GET", "POST"])
def account_setup(request):
    """Set a password and fill the extra registration fields; then logged in, to the personal
    area."""
    user = _setup_user(request)
    if user is None:
        request.session.pop(SETUP_SESSION_KEY, None)
        return private(
            BuyerPageResponse(
                request,
                "wagtail_guestpay/account/link_invalid.html",
                {"form": AccessLinkRequestForm()},
                status=410,
            )
        )
    site = Site.find_for_request(request)
    form = AccountSetupForm(request.POST or None, user=user, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.registration_data()
        with transaction.atomic():
            user.set_password(form.cleaned_data["password2"])
            user.save()
            GuestAccount.objects.filter(user=user).update(activated_at=timezone.now())
            AccessLink.objects.filter(user=user, used_at__isnull=True).update(
                used_at=timezone.now()
            )
            email = normalize_email(getattr(user, user.get_email_field_name(), ""))
            contact = Contact.objects.select_for_update().filter(email=email).first()
            if contact is not None:
                add_registration_data(contact, data, user)
        request.session.pop(SETUP_SESSION_KEY, None)
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        signals.account_activated.send(
            sender=type(user), user=user, registration_data=data, request=request
        )
        return redirect(get_adapter().get_personal_area_url())
    return private(
        BuyerPageResponse(
            request, "wagtail_guestpay/account/setup.html", {"form": form, "account_user": user}
        )
    )


@never_cache
@require_http_methods(["GET", "POST"])
def request_link(request):
    """Ask for a new access link. The answer is the same whether or not the address has an
    account, and the endpoint is rate-limited per client and per address."""
    form = AccessLinkRequestForm(request.POST or None)
    if request.method == "POST":
        email = normalize_email(form.data.get("email", ""))  # (the suggestion, if taken)
        if not allow_request(request, "request_link", email):
            return private(
                BuyerPageResponse(request, "wagtail_guestpay/rate_limited.html", {}, status=429)
            )
        if form.is_valid() and email:
            # The lookup happens in a task, so that the answer takes the same time either way.
            queueing.enqueue(
                "wagtail_guestpay.tasks.send_new_access_link",
                email,
                translation.get_language() or "",
            )
            return private(
                BuyerPageResponse(request, "wagtail_guestpay/account/link_requested.html", {})
            )
    return private(
        BuyerPageResponse(request, "wagtail_guestpay/account/link_request.html", {"form": form})
    )


@never_cache
@buyer_login_required
def personal_area(request):
    """The buyer's library: a card per product held, then the orders."""
    user = request.user
    return private(
        BuyerPageResponse(
            request,
            "wagtail_guestpay/account/personal_area.html",
            {
                "products": products_for(user),
                "orders": user.guestpay_orders.select_related("offer", "receipt").order_by(
                    "-created_at"
                )[:50],
                "account_email": getattr(user, user.get_email_field_name(), ""),
                "has_password": user.has_usable_password(),
            },
        )
    )

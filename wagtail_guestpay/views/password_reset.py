"""Forgotten password: ask (the same answer for every address), e-mail, new password.

Django's own views for the token steps, with the package's templates and base; the request step
is the package's, so that the lookup and the e-mail run in a task through the outbox
(:mod:`wagtail_guestpay.buyers.passwords`)."""

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from .. import queueing
from ..adapter import get_adapter
from ..buyers.passwords import PasswordResetRequestForm, ResetSetPasswordForm
from ..layout import BuyerPageResponse, buyer_page
from .signin import rate_limited, within


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST":
        email = form.data.get("email", "")
        if not within(request, "send_client", email.strip().lower(), "send_email"):
            return rate_limited(request)
        if form.is_valid():
            queueing.enqueue(
                "wagtail_guestpay.tasks.send_password_reset",
                form.cleaned_data["email"],
                translation.get_language() or "",
            )
            return redirect("wagtail_guestpay:password_reset_done")
    return buyer_page(request, "wagtail_guestpay/account/password_reset.html", {"form": form})


def password_reset_done(request):
    return buyer_page(
        request,
        "wagtail_guestpay/account/password_reset_done.html",
        {"login_url": get_adapter().get_login_url()},
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view (the token moves from the URL into the session on the first GET, so the
    link in the e-mail can be opened by a scanner without being spent); inactive accounts get
    the "link cannot be used" page."""

    template_name = "wagtail_guestpay/account/password_reset_confirm.html"
    form_class = ResetSetPasswordForm
    success_url = reverse_lazy("wagtail_guestpay:password_reset_complete")
    response_class = BuyerPageResponse

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "password_reset_url": get_adapter().get_password_reset_url(),
        }


def password_reset_complete(request):
    return buyer_page(
        request,
        "wagtail_guestpay/account/password_reset_complete.html",
        {"login_url": get_adapter().get_login_url()},
    )

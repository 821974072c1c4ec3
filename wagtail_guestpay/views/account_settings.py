"""The personal area's settings: a password (change it, or set a first one) and the e-mail
address (the new one proven by a code sent to it, the old one told)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ..adapter import get_adapter
from ..buyers.signin import (
    CodeCheck,
    confirm_email_change,
    email_of,
    pending_email_change,
    request_email_change,
)
from ..buyers.signin_forms import EmailChangeForm, SignInCodeForm
from ..layout import buyer_page
from ..models import GuestAccount
from .signin import rate_limited, within

ERROR_KEY = "wagtail_guestpay_email_change_error"


def buyer_login_required(view):
    """Signed-in visitors only; the others go to the login page the adapter names."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        return redirect(get_adapter().get_login_url(request.get_full_path()))

    return wrapper


@never_cache
@sensitive_post_parameters()
@buyer_login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    user = request.user
    form_class = PasswordChangeForm if user.has_usable_password() else SetPasswordForm
    form = form_class(user, request.POST or None)
    if request.method == "POST":
        if not within(request, "password_client"):
            return rate_limited(request)
        if form.is_valid():
            form.save()
            update_session_auth_hash(request, user)
            GuestAccount.objects.filter(user=user, activated_at__isnull=True).update(
                activated_at=timezone.now()
            )
            messages.success(request, _("Your password is saved."))
            return redirect("wagtail_guestpay:account")
    return buyer_page(
        request,
        "wagtail_guestpay/account/password_change.html",
        {"form": form, "first_password": form_class is SetPasswordForm},
    )


@never_cache
@sensitive_post_parameters()
@buyer_login_required
@require_http_methods(["GET", "POST"])
def email_change(request):
    form = EmailChangeForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not within(request, "send_client", str(request.user.pk), "send_email"):
            return rate_limited(request)
        if form.is_valid():
            try:
                request_email_change(
                    request.user, form.cleaned_data["email"], translation.get_language() or ""
                )
            except ValueError as exc:
                form.add_error("email", str(exc))
            else:
                request.session.pop(ERROR_KEY, None)
                return redirect("wagtail_guestpay:email_change_confirm")
    return buyer_page(
        request,
        "wagtail_guestpay/account/email_change.html",
        {"form": form, "current_email": email_of(request.user)},
    )


@never_cache
@buyer_login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request):
    pending = pending_email_change(request.user)
    if request.method == "POST":
        if not within(request, "verify_client", str(request.user.pk), "verify_email"):
            return rate_limited(request)
        form = SignInCodeForm(request.POST)
        code = form.cleaned_data["code"] if form.is_valid() else None
        outcome = (
            confirm_email_change(request.user, code, translation.get_language() or "")
            if code
            else None
        )
        if outcome is not None and outcome.result == CodeCheck.ACCEPTED:
            messages.success(request, _("Your e-mail address is changed."))
            return redirect("wagtail_guestpay:account")
        taken = outcome is not None and outcome.result == CodeCheck.NOT_ALLOWED
        request.session[ERROR_KEY] = "taken" if taken else "wrong"
        return redirect("wagtail_guestpay:email_change_confirm")
    if pending is None and not request.session.get(ERROR_KEY):
        return redirect("wagtail_guestpay:email_change")
    return buyer_page(
        request,
        "wagtail_guestpay/account/email_change_confirm.html",
        {"form": SignInCodeForm(), "pending": pending, "error": request.session.pop(ERROR_KEY, "")},
    )

"""Signing in and out: e-mail + password, or a code (or its one-click link) e-mailed to the
address. The rules of codes are in :mod:`wagtail_guestpay.buyers.signin`."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.shortcuts import redirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import queueing
from ..adapter import get_adapter
from ..buyers.signin import CodeCheck, check_signin_code, link_row, rate_limit, use_link
from ..buyers.signin_forms import CodeRequestForm, PasswordSignInForm, SignInCodeForm
from ..layout import buyer_page
from ..ratelimit import allow, allow_request, client_ip

SESSION_KEY = "wagtail_guestpay_signin"
ERROR_KEY = "wagtail_guestpay_signin_error"


def safe_next(request, url):
    """``url`` when it stays on this site, else ''."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def next_or_personal_area(request, url):
    return safe_next(request, url) or get_adapter().get_personal_area_url()


def sign_in(request, user, next_url=""):
    """Log ``user`` into this browser (a new session key) and go on to ``next_url``."""
    backend = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0]
    login(request, user, backend=backend)
    return redirect(next_or_personal_area(request, next_url))


def rate_limited(request):
    return buyer_page(request, "wagtail_guestpay/rate_limited.html", status=429)


def within(request, client_budget, email="", email_budget=None):
    """Count this request against the client's budget and, with ``email``, the address's."""
    allowed = allow(f"signin:{client_budget}", client_ip(request), rate_limit(client_budget))
    if email and email_budget:
        allowed = allow(f"signin:{email_budget}", email, rate_limit(email_budget)) and allowed
    return allowed


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    """One page, two ways in: the password, or "e-mail me a sign-in code"."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    action = request.POST.get("action", "")
    password_form = PasswordSignInForm(
        request.POST if action == "password" else None, request=request
    )
    code_form = CodeRequestForm(request.POST if action == "code" else None)
    if action == "password":
        email = password_form.data.get("email", "").strip().lower()
        if not within(request, "password_client", email, "password_email"):
            return rate_limited(request)
        if password_form.is_valid():
            return sign_in(request, password_form.user, next_url)
    elif action == "code":
        email = code_form.data.get("email", "")
        if not within(request, "send_client", email.strip().lower(), "send_email"):
            return rate_limited(request)
        if code_form.is_valid():
            email = code_form.cleaned_data["email"]
            # Looked up in a task: the same answer, in the same time, for every address.
            queueing.enqueue(
                "wagtail_guestpay.tasks.send_signin_code",
                email,
                next_url,
                translation.get_language() or "",
            )
            request.session[SESSION_KEY] = {"email": email, "next": next_url}
            request.session.pop(ERROR_KEY, None)
            return redirect("wagtail_guestpay:login_code")
    status = 200 if request.method == "GET" or action in ("password", "code") else 400
    return buyer_page(
        request,
        "wagtail_guestpay/account/login.html",
        {
            "password_form": password_form,
            "code_form": code_form,
            "next": next_url,
            "password_reset_url": get_adapter().get_password_reset_url(),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request):
    """Type the e-mailed code. A wrong one redirects back here (reloading does not re-post)."""
    state = request.session.get(SESSION_KEY) or {}
    email = state.get("email", "")
    if not email:
        return redirect("wagtail_guestpay:login")
    if request.method == "POST":
        if not within(request, "verify_client", email, "verify_email"):
            return rate_limited(request)
        form = SignInCodeForm(request.POST)
        outcome = check_signin_code(email, form.cleaned_data["code"]) if form.is_valid() else None
        if outcome is not None and outcome.result == CodeCheck.ACCEPTED:
            request.session.pop(SESSION_KEY, None)
            return sign_in(request, outcome.user, outcome.next_url or state.get("next", ""))
        request.session[ERROR_KEY] = True
        return redirect("wagtail_guestpay:login_code")
    error = request.session.pop(ERROR_KEY, False)
    return buyer_page(
        request,
        "wagtail_guestpay/account/login_code.html",
        {
            "form": SignInCodeForm(),
            "email": email,
            "error": error,
            "login_url": get_adapter().get_login_url(state.get("next", "")),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def login_link(request, token):
    """The e-mail's one-click sign-in: GET shows a button and uses nothing (mail scanners open
    links); the POST signs in, once."""
    if request.method == "POST":
        if not allow_request(request, "login_link"):
            return rate_limited(request)
        outcome = use_link(token)
        if outcome.result == CodeCheck.ACCEPTED:
            return sign_in(request, outcome.user, outcome.next_url)
    elif link_row(token) is not None:
        return buyer_page(request, "wagtail_guestpay/account/login_link.html")
    return buyer_page(
        request,
        "wagtail_guestpay/account/login_link_invalid.html",
        {"login_url": get_adapter().get_login_url()},
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request):
    """POST signs out; a GET only shows the button (a link or a prefetch signs nobody out)."""
    if request.method == "POST":
        logout(request)
        return buyer_page(
            request,
            "wagtail_guestpay/account/logged_out.html",
            {"login_url": get_adapter().get_login_url()},
        )
    return buyer_page(request, "wagtail_guestpay/account/logout.html")

"""The success page's e-mail claim: the buyer gives an address, gets a code there, types it back.

Reached only through the order's secret token, like the page itself. The answers are the same
whether or not an address has an account (nothing looks at accounts before the code is
confirmed), and a confirmed claim logs nobody in. The rules live in :mod:`wagtail_guestpay.buyers.claims`.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..buyers import claims
from ..buyers.forms import ClaimCodeForm, ClaimEmailForm
from ..layout import BuyerPageResponse, private
from ..ratelimit import allow, client_ip
from . import code_results
from .result import _order_or_404, claim_panel, render_order


def _rate_limited(request):
    return private(BuyerPageResponse(request, "wagtail_guestpay/rate_limited.html", {}, status=429))


def _back_to_order(token, done=False):
    url = reverse("wagtail_guestpay:order", args=[token])
    response = redirect(f"{url}{'?claim=done' if done else ''}#guestpay-claim")
    response.status_code = 303
    return response


def _within(name, key):
    return allow(f"claim_{name}", key, claims.rate_limit(name))


@never_cache
@require_POST
def claim_send(request, token):
    """An address for the order: check it (and its likely typo), then e-mail it a code."""
    order = _order_or_404(token)
    if not _within("send_client", client_ip(request)):
        return _rate_limited(request)
    if claims.claim_kind(order) is None:
        return _back_to_order(token)
    form = ClaimEmailForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"]
        budgets = [_within("send_order", str(order.pk)), _within("send_email", email)]
        if not all(budgets):
            return _rate_limited(request)
        try:
            claims.request_code(order, email)
        except ValidationError as error:
            form.add_error("email", error)
        else:  # a code is on its way (or the order cannot be claimed any more)
            return _back_to_order(token)
    only_a_question = form.typo_found and len(form.errors) == 1
    panel = claim_panel(request, order, token, email_form=form)
    return render_order(request, order, token, claim=panel, status=200 if only_a_question else 400)


@never_cache
@require_POST
def claim_confirm(request, token):
    """The code typed back: when right, the order moves to the claimed address."""
    order = _order_or_404(token)
    if not _within("verify_client", client_ip(request)):
        return _rate_limited(request)
    form = ClaimCodeForm(request.POST, digits=claims.CODE_DIGITS)
    if not form.is_valid():  # not a code at all: no try was spent, the form says why
        panel = claim_panel(request, order, token, code_form=form)
        return render_order(request, order, token, claim=panel, status=400)
    outcome = claims.confirm_code(order, form.cleaned_data["code"])
    if outcome.result == claims.CodeCheck.ACCEPTED:
        return _back_to_order(token, done=True)
    # A try was spent: the page is shown by GET (reloading it must not spend another).
    code_results.remember(request, f"claim:{order.pk}", outcome)
    return _back_to_order(token)

"""The success page's e-mail claim: the buyer gives an address, gets a code there, types it back.

Reached only through the order's secret token, like the page itself. The answers are the same
whether or not an address has an account (nothing looks at accounts before the code is
confirmed), and a confirmed claim logs nobody in. The rules live in :mod:`wagtail_guestpay.claims`.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import claims
from ..forms import ClaimCodeForm, ClaimEmailForm
from ..models import EmailClaim
from ..ratelimit import allow, client_ip
from . import code_results
from .orders import _order_or_404, _private, render_order


@dataclass
class ClaimPanel:
    """What the success page shows of a claim (includes/order_claim.html)."""

    kind: str | None
    email_form: ClaimEmailForm
    code_form: ClaimCodeForm
    pending: EmailClaim | None
    send_url: str
    confirm_url: str
    deadline: object = None
    message: str = ""
    done: bool = False

    @property
    def is_open(self):
        """Show the (collapsible) address form unfolded."""
        return self.email_form.is_bound or bool(self.message)

    @property
    def max_age_minutes(self):
        if self.pending is None:
            return 0
        return round((self.pending.expires_at - self.pending.created_at).total_seconds() / 60)


def claim_panel(request, order, token, *, email_form=None, code_form=None, message=""):
    """The claim panel of a paid order's page, or None when there is nothing to show."""
    kind = claims.claim_kind(order)
    done = (request.GET.get("claim") == "done"
            and order.email_claims.filter(status=EmailClaim.Status.USED).exists())
    if code_form is None and not message:
        code_form, message = _after_code_check(request, order, kind)
    if kind is None and not done and not message:
        return None
    email_form = email_form or ClaimEmailForm()
    code_form = code_form or ClaimCodeForm(digits=claims.CODE_DIGITS)
    _describe_errors(email_form, "email")
    _describe_errors(code_form, "code")
    return ClaimPanel(
        kind=kind,
        email_form=email_form,
        code_form=code_form,
        pending=claims.pending_claim(order) if kind else None,
        send_url=reverse("wagtail_guestpay:order_claim", args=[token]),
        confirm_url=reverse("wagtail_guestpay:order_claim_confirm", args=[token]),
        deadline=claims.correction_deadline(order) if kind == "correction" else None,
        message=message,
        done=done,
    )


def _after_code_check(request, order, kind):
    """(code form, message) saying what the code typed just before was found to be."""
    result, attempts_left = code_results.take(request, f"claim:{order.pk}")
    if kind is None and result != claims.CodeCheck.NOT_ALLOWED:
        return None, ""  # nothing can be asked for any more: the status box says what to do
    if result == claims.CodeCheck.WRONG:
        return code_results.form_with_code_error(
            ClaimCodeForm, code_results.wrong_code_message(attempts_left),
            digits=claims.CODE_DIGITS), ""
    if result == claims.CodeCheck.LOCKED:
        return None, _("Too many wrong codes. Ask for a new code below.")
    if result == claims.CodeCheck.EXPIRED:
        return None, _("This code has expired or was replaced by a newer one. "
                       "Ask for a new code below.")
    if result == claims.CodeCheck.NOT_ALLOWED:
        return None, _("The address of this order cannot be changed here any more. "
                       "Contact us with your order number.")
    return None, ""


def _describe_errors(form, name):
    """Point the field at its error message, for screen readers."""
    if form.is_bound and form.errors.get(name):
        form.fields[name].widget.attrs["aria-describedby"] = f"{form.auto_id % name}_error"


def _rate_limited(request):
    return _private(TemplateResponse(request, "wagtail_guestpay/rate_limited.html", {},
                                     status=429))


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

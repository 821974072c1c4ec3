"""The order's result page, shared by the return views (orders.py) and the e-mail claim views
(claims.py): the order found by its secret token, the page rendered with its claim panel, and
the private-response headers."""

from dataclasses import dataclass

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail.models import Site

from ..buyers import claims
from ..buyers.forms import ClaimCodeForm, ClaimEmailForm
from ..layout import BuyerPageResponse, private
from ..localization import localize_page
from ..models import EmailClaim, MerchantContacts, Order, OrderStatus
from . import code_results

# What the buyer is shown, by order status.
STATE = {
    OrderStatus.CREATED: "confirming",
    OrderStatus.PENDING: "confirming",
    OrderStatus.PAID: "paid",
    OrderStatus.ON_HOLD: "on_hold",
    OrderStatus.FAILED: "failed",
    OrderStatus.EXPIRED: "failed",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REFUNDED: "refunded",
}


def _order_or_404(token):
    order = (
        Order.objects.by_token(token)
        .select_related("offer__provider_account", "offer__success_page", "offer__failure_page")
        .first()
    )
    if order is None:
        raise Http404(_("This payment link is not valid."))
    return order


def buyer_state(order, cancelled=False):
    state = STATE[OrderStatus(order.status)]
    if cancelled and order.status == OrderStatus.CREATED:
        return "cancelled"
    return state


def render_order(request, order, token, *, cancelled=False, payment=None, claim=None, status=200):
    """The order's result page (the offer's editor-built page, or the default one). ``claim`` is
    the success page's e-mail claim panel; built here when not given."""
    if payment is None:
        payment = order.payments.first()
    state = buyer_state(order, cancelled)
    site = Site.find_for_request(request)
    context = {
        "order": order,
        "offer": order.offer,
        "state": state,
        "token": token,
        "merchant": MerchantContacts.for_site(site).in_language() if site else None,
        "email_shown": _email_shown(order, payment),
        "status_url": reverse("wagtail_guestpay:order_status", args=[token]),
        "retry_url": reverse("wagtail_guestpay:order_retry", args=[token]),
        "can_retry": _can_retry(order, state),
        "claim": claim or (claim_panel(request, order, token) if state == "paid" else None),
    }
    page = (
        order.offer.failure_page if state in ("failed", "cancelled") else order.offer.success_page
    )
    page = localize_page(page)  # the chosen page's translation in the visitor's language
    if page is not None and page.live:
        response = page.specific.serve_for_order(request, context)
    else:
        response = BuyerPageResponse(request, "wagtail_guestpay/order/result.html", context)
    response.status_code = status
    return private(response)


def _email_shown(order, payment):
    """Where the access e-mail went (or will go): never a placeholder."""
    if order.email_is_placeholder:
        return ""
    return order.email or (payment.payer_email if payment is not None else "")


def _can_retry(order, state):
    return state in ("failed", "cancelled") and order.offer.can_take_payment


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
    done = (
        request.GET.get("claim") == "done"
        and order.email_claims.filter(status=EmailClaim.Status.USED).exists()
    )
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
    """(code form, message) saying what the code typed just before was found to be (the claim's
    code POST answers with a redirect here: views/code_results.py)."""
    result, attempts_left = code_results.take(request, f"claim:{order.pk}")
    if kind is None and result != claims.CodeCheck.NOT_ALLOWED:
        return None, ""  # nothing can be asked for any more: the status box says what to do
    if result == claims.CodeCheck.WRONG:
        return code_results.form_with_code_error(
            ClaimCodeForm, code_results.wrong_code_message(attempts_left), digits=claims.CODE_DIGITS
        ), ""
    if result == claims.CodeCheck.LOCKED:
        return None, _("Too many wrong codes. Ask for a new code below.")
    if result == claims.CodeCheck.EXPIRED:
        return None, _(
            "This code has expired or was replaced by a newer one. Ask for a new code below."
        )
    if result == claims.CodeCheck.NOT_ALLOWED:
        return None, _(
            "The address of this order cannot be changed here any more. "
            "Contact us with your order number."
        )
    return None, ""


def _describe_errors(form, name):
    """Point the field at its error message, for screen readers."""
    if form.is_bound and form.errors.get(name):
        form.fields[name].widget.attrs["aria-describedby"] = f"{form.auto_id % name}_error"

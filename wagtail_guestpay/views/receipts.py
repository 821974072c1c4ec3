"""The receipt of a paid order: for its signed-in owner (from the personal area), and through the
signed, expiring link of the access e-mail (read only, no sign-in: fulfilment/receipts.py)."""

from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..fulfilment.receipts import receipt_from_token, seller_on
from ..layout import buyer_page
from ..models import OrderStatus, PaymentStatus, Receipt, RefundStatus
from .account_settings import buyer_login_required

TEMPLATE = "wagtail_guestpay/receipts/receipt.html"


def refunds_on(receipt):
    """The refunds a receipt shows: (date, amount display) of each refund done through the
    admin; a refund made at the payment system itself (no row here) as one line for the whole."""
    order = receipt.order
    done = list(order.refunds.filter(status=RefundStatus.DONE).order_by("updated_at", "pk"))
    lines = [(refund.updated_at, refund.amount_display) for refund in done]
    if not lines and order.status == OrderStatus.REFUNDED:
        refunded = order.payments.filter(status=PaymentStatus.REFUNDED).order_by("-updated_at")
        payment = refunded.first()
        lines.append((payment.updated_at if payment else order.updated_at, receipt.amount_display))
    return lines


def receipt_context(receipt, *, via_link):
    order = receipt.order
    return {
        "receipt": receipt,
        "order": order,
        "seller": seller_on(receipt),
        "buyer_email": "" if order.email_is_placeholder else order.email,
        "refunds": refunds_on(receipt),
        "via_link": via_link,
    }


@never_cache
@require_GET
@buyer_login_required
def receipt(request, receipt_id):
    """The signed-in owner's receipt; anyone else's answers 404, like one that does not exist."""
    found = (
        Receipt.objects.select_related("order__offer", "site")
        .filter(pk=receipt_id, order__user_id=request.user.pk)
        .first()
    )
    if found is None:
        return buyer_page(request, "wagtail_guestpay/receipts/not_found.html", status=404)
    return buyer_page(request, TEMPLATE, receipt_context(found, via_link=False))


@never_cache
@require_GET
def receipt_link(request, token):
    """A receipt through the e-mail's link: nothing but the receipt. A forged, expired or
    outdated token answers 404."""
    found = receipt_from_token(token)
    if found is None:
        return buyer_page(request, "wagtail_guestpay/receipts/not_found.html", status=404)
    response = buyer_page(request, TEMPLATE, receipt_context(found, via_link=True))
    response["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
    return response

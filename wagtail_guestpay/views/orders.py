"""The buyer's return pages: the order's real state, found by its secret token only."""

from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from wagtail.models import Site

from ..confirmation import request_status_check, store_events
from ..fulfilment.pay_limits import pay_again
from ..models import MerchantContacts, Order, OrderStatus, Payment, PaymentEvent, PaymentStatus

# What the buyer is shown, by order status.
STATE = {
    OrderStatus.CREATED: "confirming",
    OrderStatus.PENDING: "confirming",
    OrderStatus.PAID: "paid",
    OrderStatus.ON_HOLD: "on_hold",
    OrderStatus.FAILED: "failed",
    OrderStatus.EXPIRED: "failed",
    OrderStatus.CANCELLED: "failed",
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


def _private(response):
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def order_page(request, token):
    order = _order_or_404(token)
    if request.method == "POST":
        # Fondy and WayForPay send the buyer back with a form POST of the payment's result. The
        # browser is not trusted: the body is ignored and the page is shown by GET, where the
        # status is asked of the provider.
        response = HttpResponseRedirect(request.get_full_path())
        response.status_code = 303
        return _private(response)
    cancelled = request.GET.get("cancelled") == "1"
    payment = order.payments.select_related("account").first()
    if payment is not None and payment.is_open:
        _follow_return(request, payment)
        order.refresh_from_db()
    return render_order(request, order, token, cancelled=cancelled, payment=payment)


def render_order(request, order, token, *, cancelled=False, payment=None, claim=None,
                 status=200):
    """The order's result page (the offer's editor-built page, or the default one). ``claim`` is
    the success page's e-mail claim panel; built here when not given."""
    from .claims import claim_panel

    if payment is None:
        payment = order.payments.first()
    state = buyer_state(order, cancelled)
    site = Site.find_for_request(request)
    context = {
        "order": order,
        "offer": order.offer,
        "state": state,
        "token": token,
        "merchant": MerchantContacts.for_site(site) if site else None,
        "email_shown": _email_shown(order, payment),
        "status_url": reverse("wagtail_guestpay:order_status", args=[token]),
        "retry_url": reverse("wagtail_guestpay:order_retry", args=[token]),
        "can_retry": _can_retry(order, state),
        "claim": claim or (claim_panel(request, order, token) if state == "paid" else None),
    }
    page = order.offer.failure_page if state in ("failed", "cancelled") else order.offer.success_page
    if page is not None and page.live:
        response = page.specific.serve_for_order(request, context)
    else:
        response = TemplateResponse(request, "wagtail_guestpay/order/result.html", context)
    response.status_code = status
    return _private(response)


def _email_shown(order, payment):
    """Where the access e-mail went (or will go): never a placeholder."""
    if order.email_is_placeholder:
        return ""
    return order.email or (payment.payer_email if payment is not None else "")


def _follow_return(request, payment):
    # A buyer who came back: this payment's status checks go before never-started ones.
    Payment.objects.filter(pk=payment.pk, returned_at__isnull=True).update(
        returned_at=timezone.now()
    )
    provider = payment.account.get_provider()
    events = provider.handle_return(payment, request.GET)
    if events:
        with transaction.atomic():
            store_events(payment.account, events, source=PaymentEvent.Source.RETURN)
    request_status_check(payment)


def _can_retry(order, state):
    return state in ("failed", "cancelled") and order.offer.can_take_payment


@never_cache
@require_GET
def order_status(request, token):
    """Polled by the return page while the payment is being confirmed."""
    order = _order_or_404(token)
    payment = order.payments.first()
    if payment is not None and payment.is_open:
        request_status_check(payment)
    return _private(JsonResponse({"state": buyer_state(order), "status": order.status}))


@require_POST
def order_retry(request, token):
    """Pay again for an order whose payment failed or was abandoned."""
    order = _order_or_404(token)
    last = order.payments.first()
    state = buyer_state(order, cancelled=last is not None and last.status == PaymentStatus.CREATED)
    if not _can_retry(order, state):
        return redirect("wagtail_guestpay:order", token=token)
    return pay_again(request, order, token, last)

"""The buyer's return pages: the order's real state, found by its secret token only."""

from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..fulfilment.coupon_codes import CouponRefused
from ..fulfilment.follow_up import request_status_check
from ..fulfilment.intake import store_events
from ..fulfilment.pay_limits import pay_again
from ..layout import private
from ..models import Payment, PaymentEvent, PaymentStatus
from .coupons import coupon_refused
from .result import _can_retry, _order_or_404, buyer_state, render_order


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
        return private(response)
    cancelled = request.GET.get("cancelled") == "1"
    payment = order.payments.select_related("account").first()
    if payment is not None and payment.is_open:
        _follow_return(request, payment)
        order.refresh_from_db()
    return render_order(request, order, token, cancelled=cancelled, payment=payment)


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


@never_cache
@require_GET
def order_status(request, token):
    """Polled by the return page while the payment is being confirmed."""
    order = _order_or_404(token)
    payment = order.payments.first()
    if payment is not None and payment.is_open:
        request_status_check(payment)
    return private(JsonResponse({"state": buyer_state(order), "status": order.status}))


@require_POST
def order_retry(request, token):
    """Pay again for an order whose payment failed or was abandoned."""
    order = _order_or_404(token)
    last = order.payments.first()
    state = buyer_state(order, cancelled=last is not None and last.status == PaymentStatus.CREATED)
    if not _can_retry(order, state):
        return redirect("wagtail_guestpay:order", token=token)
    try:
        return pay_again(request, order, token, last)
    except CouponRefused as refusal:  # its coupon ran out since: a new order at full price
        return coupon_refused(request, order.offer, refusal, pay_url=order.offer.get_pay_path())

"""Starting a payment: create the Order and its Payment, ask the provider for its hosted page and
send the buyer there (a redirect, or an auto-submitted form for providers that want a POST)."""

import logging
import secrets
from datetime import timedelta

from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from wagtail.models import Site

from ..conf import guestpay_settings
from ..layout import BuyerPageResponse
from ..models import Order, Payment, PaymentStatus
from ..providers.base import PaymentUrls
from ..providers.exceptions import ProviderError
from .confirmation import remember_references
from .redemptions import reserve, reserve_again
from .transitions import move_payment, sync_order_status

logger = logging.getLogger(__name__)

# A never-started payment is checked this long after its hosted page stopped working.
UNSTARTED_GRACE = timedelta(minutes=15)
# A page about to expire is not resumed: the buyer would not have time to pay on it.
RESUME_MARGIN = timedelta(minutes=5)


def absolute_url(request, path):
    base = guestpay_settings.BASE_URL
    return base.rstrip("/") + path if base else request.build_absolute_uri(path)


def new_reference():
    return f"{guestpay_settings.REFERENCE_PREFIX}{secrets.token_hex(10).upper()}"


def known_email(user):
    """The buyer's address before payment: the logged-in account's, else ''."""
    if user is None:
        return ""
    return (getattr(user, user.get_email_field_name(), "") or "").lower()


def create_order(request, offer, *, user=None, quote=None):
    """A new Order for ``offer`` with its first Payment; returns ``(order, payment, token)``.

    With a coupon's ``quote`` (coupon_codes.py) the order costs the discounted amount and
    reserves the coupon's use in the same transaction; raises
    :class:`~.coupon_codes.CouponRefused` (and creates nothing) when the use cannot be had."""
    email = known_email(user)
    with transaction.atomic():
        order = Order(
            offer=offer,
            site=Site.find_for_request(request),
            user=user,
            paid_as_user=user is not None,
            email=email,
            amount=quote.amount if quote is not None else offer.price,
            currency=offer.currency,
            language=translation.get_language() or "",
        )
        token = order.new_token()
        order.save()
        if quote is not None:
            reserve(order, quote, email=email)
        payment = Payment.objects.create(
            order=order,
            account=offer.provider_account,
            reference=new_reference(),
            amount=order.amount,
            currency=order.currency,
            next_check_at=_first_check(),
        )
    return order, payment, token


def new_payment(order):
    """Another attempt for an order whose last one failed or was abandoned. Its coupon use,
    released by the failure, is taken again first (raises
    :class:`~.coupon_codes.CouponRefused` when the coupon has none left)."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("offer").get(pk=order.pk)
        )
        reserve_again(order)
        payment = Payment.objects.create(
            order=order,
            account=order.offer.provider_account,
            reference=new_reference(),
            amount=order.amount,
            currency=order.currency,
            next_check_at=_first_check(),
        )
        sync_order_status(order, reason="the buyer tried again")
    return payment


def _first_check():
    return timezone.now() + guestpay_settings.as_timedelta("POLL_FIRST_DELAY")


def payment_urls(request, payment, token):
    order_path = reverse("wagtail_guestpay:order", args=[token])
    return PaymentUrls(
        return_url=absolute_url(request, order_path),
        cancel_url=absolute_url(request, order_path + "?cancelled=1"),
        notify_url=absolute_url(request, payment.account.notification_path()),
    )


def send_to_provider(request, payment, token):
    """Ask the provider for the hosted page and answer with the redirect or the POST form."""
    provider = payment.account.get_provider()
    try:
        checkout = provider.start_payment(payment, payment_urls(request, payment, token))
    except ProviderError as exc:
        logger.warning("Starting payment %s failed: %s", payment.reference, exc)
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=payment.order_id)
            payment.order = order
            move_payment(payment, PaymentStatus.FAILED, reason="the payment system did not answer")
        return BuyerPageResponse(
            request,
            "wagtail_guestpay/checkout/provider_unavailable.html",
            {"order": payment.order, "offer": payment.order.offer, "token": token},
            status=503,
        )
    fields = ["provider_data", "checkout_url", "checkout_expires_at", "next_check_at", "updated_at"]
    payment.provider_data = checkout.provider_data
    payment.checkout_url = checkout.redirect_url[:2048]
    payment.checkout_expires_at = checkout.expires_at
    if checkout.expires_at is not None:
        # Until the buyer comes back or the provider says something, one check once the page
        # has stopped working is enough (the notification brings a payment made before).
        payment.next_check_at = max(
            payment.next_check_at or checkout.expires_at, checkout.expires_at + UNSTARTED_GRACE
        )
    if checkout.provider_reference:
        payment.provider_reference = checkout.provider_reference
        fields.append("provider_reference")
    payment.save(update_fields=fields)
    remember_references(payment, [checkout.provider_reference, *checkout.related_references])
    if checkout.redirect_url:
        response = HttpResponseRedirect(checkout.redirect_url)
        response.status_code = 303
    else:
        response = BuyerPageResponse(
            request,
            "wagtail_guestpay/checkout/post_form.html",
            {
                "action": checkout.form_action,
                "fields": checkout.form_fields,
                "provider": payment.account.get_kind_display(),
            },
        )
    return _no_store(response)


def _no_store(response):
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def can_resume(payment):
    """True when the buyer can be sent back to ``payment``'s hosted page: nothing happened to
    the payment yet, its page was created and still works. A redirect goes to the page kept;
    a form (WayForPay) is built again, the same one, without calling the provider."""
    if payment.status != PaymentStatus.CREATED:
        return False
    if not payment.checkout_url and payment.checkout_expires_at is None:
        return False  # the provider was never asked, or did not answer
    expires = payment.checkout_expires_at
    return expires is None or expires > timezone.now() + RESUME_MARGIN


def resume_checkout(request, payment, token):
    """Send the buyer back to the open payment's hosted page (see :func:`can_resume`)."""
    if payment.checkout_url:
        response = HttpResponseRedirect(payment.checkout_url)
        response.status_code = 303
        return _no_store(response)
    return send_to_provider(request, payment, token)

"""Shared by the refund tests: a paid order made through the confirmation pipeline for any
provider account, the refund screen's URL and the nonce a refund form carries."""

from decimal import Decimal

from django.core import signing
from django.db import transaction
from django.urls import reverse

from tests.conftest import run_pending_on_commit
from tests.factories import OfferFactory
from wagtail_guestpay.admin.fix_forms import TOKEN_SALT
from wagtail_guestpay.fulfilment.confirmation import apply_event
from wagtail_guestpay.models import Order, Payment
from wagtail_guestpay.providers.base import EventStatus, ProviderEvent


def refund_url(order):
    return reverse("wagtail_guestpay_staff:refund_order", args=[order.pk])


def nonce_of(token):
    """The one-time value inside a fix form's signed token (the Refund's ``form_key``)."""
    return signing.loads(token, salt=TOKEN_SALT)["n"]


def paid_order(
    account,
    *,
    email="buyer@example.com",
    amount=Decimal("49.00"),
    currency="EUR",
    provider_reference="",
    references=(),
    reference=None,
):
    """An order of a new offer on ``account``, paid: the provider's PAID event went through the
    confirmation pipeline (account created, access granted, access e-mail queued)."""
    offer = OfferFactory(provider_account=account, price=amount, currency=currency)
    order = Order(offer=offer, amount=amount, currency=currency)
    order.new_token()
    order.save()
    payment = Payment.objects.create(
        order=order,
        account=account,
        reference=reference or f"GPR-{order.pk:06d}",
        provider_reference=provider_reference,
        amount=amount,
        currency=currency,
    )
    with transaction.atomic():
        apply_event(
            payment,
            ProviderEvent(
                event_id=f"paid:{payment.reference}",
                status=EventStatus.PAID,
                reference=payment.reference,
                provider_reference=provider_reference,
                amount=amount,
                currency=currency,
                email=email,
                related_references=tuple(references),
            ),
        )
    run_pending_on_commit()  # the access e-mail goes now, as after a real commit
    order.refresh_from_db()
    return order

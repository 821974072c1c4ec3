# acmepay/provider.py
"""AcmePay: a hosted payment page reached by a signed redirect, and JSON notifications signed
with HMAC-SHA256 of the raw body in the ``X-Acme-Signature`` header."""

import hashlib
import hmac
from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _

from wagtail_guestpay.money import parse_amount
from wagtail_guestpay.providers.base import (
    Checkout,
    Credential,
    EventStatus,
    Provider,
    ProviderEvent,
)
from wagtail_guestpay.providers.exceptions import InvalidSignature, MalformedNotification

SIGNATURE_HEADER = "X-Acme-Signature"

# AcmePay's payment statuses, in the pipeline's words.
STATUSES = {
    "pending": EventStatus.PENDING,
    "paid": EventStatus.PAID,
    "declined": EventStatus.FAILED,
    "cancelled": EventStatus.CANCELLED,
    "refunded": EventStatus.REFUNDED,
}


def sign(secret, data):
    """Hex HMAC-SHA256 of ``data`` (bytes) with the account's secret."""
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


class AcmePayProvider(Provider):
    kind = "acmepay"
    verbose_name = _("AcmePay")
    supports_guest_payment = True  # AcmePay asks the buyer's e-mail on its own page
    credentials = (
        Credential("merchant_id", _("Merchant id")),
        Credential("secret", _("Signing secret"), secret=True),
    )

    def start_payment(self, payment, urls):
        params = {
            "merchant": self.option("merchant_id"),  # not secret: kept in the account's options
            "reference": payment.reference,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "return": urls.return_url,
            "cancel": urls.cancel_url,
            "notify": urls.notify_url,
        }
        query = urlencode(params)
        query += "&signature=" + sign(self.secret("secret"), query.encode())
        base = self.endpoint("pay", "https://pay.acme.example")
        return Checkout(redirect_url=f"{base}/checkout?{query}")

    def parse_notification(self, notification):
        # 1. The signature, on the raw body, before anything reads it; a constant-time compare.
        secret = self.secret("secret")
        expected = sign(secret, notification.body) if secret else ""
        if not expected or not hmac.compare_digest(expected, notification.header(SIGNATURE_HEADER)):
            raise InvalidSignature("The AcmePay signature does not match.")
        # 2. Then the body: anything unexpected is malformed (400), never a 500.
        data = notification.json()
        status = STATUSES.get(data.get("status"))
        amount = parse_amount(data.get("amount"))
        if not isinstance(data.get("id"), str) or status is None or amount is None:
            raise MalformedNotification("Not an AcmePay payment notification.")
        # 3. One provider-neutral event; the pipeline decides what it means for the order.
        return [
            ProviderEvent(
                event_id=data["id"],
                status=status,
                event_type=f"payment.{data['status']}",
                reference=str(data.get("reference") or ""),
                provider_reference=str(data.get("payment_id") or ""),
                amount=amount,
                currency=str(data.get("currency") or "").upper(),
                email=str(data.get("email") or ""),
                payer_name=str(data.get("name") or ""),
            )
        ]

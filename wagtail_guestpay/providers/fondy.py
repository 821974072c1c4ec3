"""Fondy (cloudipsp; Flitt runs the same protocol): hosted checkout, server callbacks, status.

Protocol (docs.fondy.eu, docs.fondy.io and the official SDKs, summarised in PROVIDERS.md):

- ``POST {api}/checkout/url/`` with ``{"request": {...params, "signature"}}`` answers
  ``{"response": {"response_status": "success", "checkout_url": ..., "payment_id": ...}}``: the
  buyer is redirected to ``checkout_url``.
- Fondy POSTs the flat order object to ``server_callback_url`` (JSON; form encoding is read too)
  and retries until it gets a 200.
- ``POST {api}/status/order_id/`` with ``{order_id, merchant_id, signature}`` answers the same
  order object, signed.
- Signature (protocol 1.0.x): SHA-1 of the payment key followed by the values of every non-empty
  parameter in ascending key order, joined with ``|``. ``0`` and ``"0"`` are values; only ``""``
  and ``None`` are left out. ``signature`` and ``response_signature_string`` (test mode only) are
  not signed.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..money import from_minor_units, to_minor_units
from .base import (
    Checkout,
    Credential,
    CredentialCheck,
    EventStatus,
    Provider,
    ProviderEvent,
    RefundAnswer,
    RefundStatus,
    checkout_lifetime,
    load_json,
)
from .exceptions import InvalidSignature, MalformedNotification, ProviderError

API_URL = "https://pay.fondy.eu/api"
VERSION = "1.0.1"
# The hosted page accepts a payment for WAGTAIL_GUESTPAY_CHECKOUT_LIFETIME (``lifetime``, in
# seconds; Fondy's own "expired" comes after it), at most Fondy's maximum.
MAX_LIFETIME = 69120000
UNSIGNED = ("signature", "response_signature_string")
# Fondy's error codes (docs.fondy.eu/en/docs/page/21).
INVALID_SIGNATURE = "1014"
MERCHANT_NOT_FOUND = "1016"
ORDER_NOT_FOUND = "1018"
# reverse_status of a reverse/order_id answer (docs.fondy.eu, "Reversal").
REVERSE_STATUS = {
    "approved": RefundStatus.DONE,
    "created": RefundStatus.PENDING,
    "processing": RefundStatus.PENDING,
    "declined": RefundStatus.FAILED,
}
# Languages of the hosted page (``lang``); others get Fondy's default.
LANGUAGES = frozenset("cs de en es fr hu it lv pl ro ru sk uk".split())

STATUS = {
    "approved": EventStatus.PAID,
    "declined": EventStatus.FAILED,
    "expired": EventStatus.EXPIRED,
    "processing": EventStatus.PENDING,
    "created": EventStatus.CREATED,
    # "reversed" depends on reversal_amount: see _status().
}


def signature(payment_key, params):
    """The hex SHA-1 signature of ``params`` (a dict of the values sent or received)."""
    values = [payment_key]
    for key in sorted(params):
        if key in UNSIGNED:
            continue
        value = params[key]
        if value is None or value == "":
            continue
        values.append(value if isinstance(value, str) else str(value))
    return hashlib.sha1("|".join(values).encode("utf-8")).hexdigest()


def is_signed(payment_key, params):
    """True if ``params["signature"]`` signs ``params`` with ``payment_key`` (constant time)."""
    given = params.get("signature")
    if not payment_key or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(signature(payment_key, params).encode(), given.lower().encode())


def loads(text):
    """JSON with every number kept as its lexeme, so that signatures are recomputed on exactly the
    characters Fondy signed."""
    return load_json(text, parse_float=str, parse_int=str)


class FondyProvider(Provider):
    kind = "fondy"
    verbose_name = _("Fondy")
    supports_guest_payment = True
    can_check_credentials = True
    can_refund = True
    can_refund_partially = True
    credentials = (
        Credential(
            "merchant_id",
            _("Merchant ID"),
            help_text=_("Fondy merchant portal > Merchant settings: the merchant's ID (digits)."),
        ),
        Credential(
            "payment_key",
            _("Payment key"),
            secret=True,
            help_text=_(
                "Fondy merchant portal > Merchant settings > Technical: the payment key "
                "(also called the merchant password)."
            ),
        ),
    )

    # Configuration ------------------------------------------------------------------------
    @property
    def merchant_id(self):
        return str(self.option("merchant_id") or "").strip()

    @property
    def payment_key(self):
        return self.secret("payment_key")

    def api_url(self, path):
        return self.endpoint("api", API_URL).rstrip("/") + path

    def _merchant_id_value(self):
        merchant_id = self.merchant_id
        return int(merchant_id) if merchant_id.isdigit() else merchant_id

    def _signed(self, params):
        return {**params, "signature": signature(self.payment_key, params)}

    def _call(self, path, params):
        """POST a signed request; returns the ``response`` object (lexemes kept)."""
        import httpx

        if not self.merchant_id or not self.payment_key:
            raise ProviderError(
                "The Fondy account has no merchant ID or payment key.", retryable=False
            )
        try:
            with self.http_client() as client:
                response = client.post(self.api_url(path), json={"request": self._signed(params)})
        except httpx.HTTPError as exc:
            raise ProviderError(f"Fondy could not be reached ({type(exc).__name__}).") from exc
        if response.status_code >= 500:
            raise ProviderError(f"Fondy answered HTTP {response.status_code}.")
        try:
            data = loads(response.text).get("response")
        except (ValueError, AttributeError) as exc:
            raise ProviderError(
                f"Fondy answered HTTP {response.status_code} without JSON."
            ) from exc
        if not isinstance(data, dict):
            raise ProviderError("Fondy's answer has no response object.")
        return data

    # Starting a payment -------------------------------------------------------------------
    def start_payment(self, payment, urls):
        order = payment.order
        lifetime = int(checkout_lifetime(longest=timedelta(seconds=MAX_LIFETIME)).total_seconds())
        params = {
            "order_id": payment.reference,
            "merchant_id": self._merchant_id_value(),
            "order_desc": f"{order.offer.title} ({order.number})"[:1024],
            "amount": to_minor_units(payment.amount, payment.currency),
            "currency": payment.currency,
            "version": VERSION,
            "response_url": urls.return_url,
            "server_callback_url": urls.notify_url,
            "lifetime": lifetime,
        }
        language = (order.language or "").split("-")[0].lower()
        if language in LANGUAGES:
            params["lang"] = language
        data = self._call("/checkout/url/", params)
        if data.get("response_status") != "success" or not data.get("checkout_url"):
            raise ProviderError(_error_text("Fondy refused the payment", data), retryable=False)
        payment_id = str(data.get("payment_id") or "")
        return Checkout(
            redirect_url=str(data["checkout_url"]),
            provider_reference=payment_id,
            provider_data={"payment_id": payment_id} if payment_id else {},
            expires_at=timezone.now() + timedelta(seconds=lifetime),
        )

    # Notifications ------------------------------------------------------------------------
    def parse_notification(self, notification):
        params = self._callback_params(notification)
        if not is_signed(self.payment_key, params):
            raise InvalidSignature("The Fondy signature is missing or does not match.")
        if str(params.get("merchant_id", "")) != self.merchant_id:
            raise MalformedNotification("The callback is for another Fondy merchant.")
        return [self._event(params, "callback")]

    def _callback_params(self, notification):
        """The callback's fields as sent: a JSON object or a urlencoded form, whatever the
        Content-Type says."""
        text = notification.text()
        if text.lstrip().startswith("{"):
            params = notification.json(parse_float=str, parse_int=str)  # as loads() reads it
            if set(params) == {"response"} and isinstance(params["response"], dict):
                params = params["response"]
        elif text.lstrip().startswith("["):
            raise MalformedNotification("The callback is not an object.")
        else:
            params = dict(parse_qsl(text, keep_blank_values=True))
        if not params:
            raise InvalidSignature("The callback is empty.")
        return params

    def _event(self, params, source):
        order_id = str(params.get("order_id") or "")
        order_status = str(params.get("order_status") or "")
        currency = str(params.get("currency") or "")
        if not order_id or not currency:
            raise MalformedNotification("The callback has no order_id or currency.")
        try:
            amount = from_minor_units(params.get("amount"), currency)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise MalformedNotification("The callback's amount is not a whole number.") from exc
        status, refunded = self._status(order_status, params, currency, amount)
        payment_id = str(params.get("payment_id") or "")
        event_id = f"fondy:{order_id}:{order_status}:{payment_id}"
        if refunded is not None:
            event_id += f":{params.get('reversal_amount')}"
        return ProviderEvent(
            event_id=event_id,
            status=status,
            reference=order_id,
            provider_reference=payment_id,
            amount=amount,
            currency=currency,
            email=str(params.get("sender_email") or "").strip(),
            event_type=f"{source}:{order_status}",
            detail=_detail(params, order_status),
            refunded_amount=refunded,
        )

    def _status(self, order_status, params, currency, amount):
        if order_status in STATUS:
            return STATUS[order_status], None
        if order_status == "reversed":
            try:
                reversed_amount = from_minor_units(params.get("reversal_amount") or 0, currency)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise MalformedNotification("The reversal_amount is not a whole number.") from exc
            if reversed_amount < amount:
                return EventStatus.PARTIALLY_REFUNDED, reversed_amount
            return EventStatus.REFUNDED, reversed_amount
        raise MalformedNotification(f"Unknown Fondy order_status {order_status[:40]!r}.")

    # Following a payment up ---------------------------------------------------------------
    def fetch_status(self, payment):
        data = self._call(
            "/status/order_id/",
            {"order_id": payment.reference, "merchant_id": self._merchant_id_value()},
        )
        if data.get("response_status") != "success":
            if str(data.get("error_code")) == ORDER_NOT_FOUND:
                return None
            raise ProviderError(
                _error_text("Fondy's status check failed", data),
                retryable=str(data.get("error_code"))
                not in (INVALID_SIGNATURE, MERCHANT_NOT_FOUND),
            )
        if not is_signed(self.payment_key, data):
            raise ProviderError("Fondy's status answer is not correctly signed.")
        if data.get("order_id") != payment.reference:
            raise ProviderError("Fondy's status answer is about another order.")
        try:
            return self._event(data, "status")
        except MalformedNotification as exc:
            raise ProviderError(f"Fondy's status answer is unusable: {exc}") from exc

    # Refunds -------------------------------------------------------------------------------
    def refund(self, payment, amount, *, key, note=""):
        """POST reverse/order_id (full or partial). Fondy takes no idempotency key: the caller
        calls once per refund request (its row is unique per staff form)."""
        data = self._call(
            "/reverse/order_id/",
            {
                "order_id": payment.reference,
                "merchant_id": self._merchant_id_value(),
                "amount": to_minor_units(amount, payment.currency),
                "currency": payment.currency,
                "comment": f"refund {key}"[:1024],
            },
        )
        if data.get("response_status") != "success":
            return RefundAnswer(
                status=RefundStatus.FAILED,
                detail=_error_text("Fondy refused the refund", data)[:255],
            )
        if not is_signed(self.payment_key, data):
            raise ProviderError("Fondy's refund answer is not correctly signed.")
        if data.get("order_id") != payment.reference:
            raise ProviderError("Fondy's refund answer is about another order.")
        reverse_status = str(data.get("reverse_status") or "")
        try:
            refunded = from_minor_units(data.get("reversal_amount") or 0, payment.currency)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ProviderError("Fondy's refund answer has no usable amount.") from exc
        return RefundAnswer(
            status=REVERSE_STATUS.get(reverse_status, RefundStatus.PENDING),
            refund_id=str(data.get("transaction_id") or ""),
            amount=refunded or amount,
            currency=payment.currency,
            detail=f"reverse {reverse_status or '?'}",
        )

    def check_credentials(self):
        """A signed status request for an order that cannot exist: "order not found" proves the
        merchant ID and payment key; "invalid signature" or "merchant not found" disprove them."""
        if not self.merchant_id or not self.payment_key:
            return CredentialCheck(False, _("Enter the merchant ID and the payment key."))
        probe = f"guestpay-credential-check-{secrets.token_hex(8)}"
        try:
            data = self._call(
                "/status/order_id/", {"order_id": probe, "merchant_id": self._merchant_id_value()}
            )
        except ProviderError as exc:
            return CredentialCheck(False, _("Fondy could not be asked: %(error)s") % {"error": exc})
        code = str(data.get("error_code") or "")
        if data.get("response_status") == "success" or code == ORDER_NOT_FOUND:
            return CredentialCheck(True, _("Fondy accepted the merchant ID and the payment key."))
        if code == INVALID_SIGNATURE:
            return CredentialCheck(
                False,
                _("Fondy refused the signature: the payment key is wrong for this merchant ID."),
            )
        if code == MERCHANT_NOT_FOUND:
            return CredentialCheck(False, _("Fondy does not know this merchant ID."))
        return CredentialCheck(
            False, _("Fondy answered: %(error)s") % {"error": _error_text("error", data)}
        )


def _error_text(prefix, data):
    message = str(data.get("error_message") or "no message")[:200]
    code = str(data.get("error_code") or "?")[:20]
    return f"{prefix}: {message} (code {code})"


def _detail(params, order_status):
    code = str(params.get("response_code") or "")
    if not code:
        return ""
    reason = " ".join(filter(None, [code, str(params.get("response_description") or "")]))
    if order_status == "processing":
        # With delayed=Y (Fondy's default) a refused attempt leaves the order "processing": the
        # buyer may try again until the order's lifetime ends. Not a decline.
        return f"attempt refused, buyer may retry ({reason})"
    if order_status == "declined":
        return f"declined ({reason})"
    return ""

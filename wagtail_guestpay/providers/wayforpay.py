"""WayForPay: the Purchase form, serviceUrl callbacks answered with a signed ``accept``, and
CHECK_STATUS polling.

Protocol (wiki.wayforpay.com, the official php-sdk and WooCommerce plugin; see PROVIDERS.md):

- The buyer's browser POSTs the Purchase form (UTF-8) to ``https://secure.wayforpay.com/pay``.
  ``merchantSignature`` is the hex HMAC-MD5, keyed with the merchant's secret key, of
  ``merchantAccount;merchantDomainName;orderReference;orderDate;amount;currency;`` followed by all
  product names, then all counts, then all prices, joined with ``;``.
- WayForPay POSTs a JSON body to ``serviceUrl`` (the Content-Type header is not reliable) and
  repeats it until it gets ``{"orderReference", "status": "accept", "time", "signature"}`` where
  ``signature`` is the HMAC-MD5 of ``orderReference;accept;time``. The callback's
  ``merchantSignature`` covers ``merchantAccount;orderReference;amount;currency;authCode;cardPan;
  transactionStatus;reasonCode``.
- CHECK_STATUS on ``https://api.wayforpay.com/api`` is signed over ``merchantAccount;
  orderReference`` and answers the same fields as a callback, signed the same way.
- The callback's ``email``, ``createdDate`` and ``processingDate`` are not signed: events are
  built from signed fields only, and a paid callback is confirmed through CHECK_STATUS (whose
  answer gives the e-mail) before anything is granted.

Amounts are written the way WayForPay's PHP code writes a float: ``100`` rather than ``100.0``,
``1547.36``, ``10.5``.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import replace
from datetime import timedelta

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

from ..money import parse_amount, quantize
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
)
from .exceptions import InvalidSignature, MalformedNotification, ProviderError
from .wayforpay_signing import (
    as_text,
    hmac_md5,
    is_signed,
    loads,
    php_amount,
    purchase_signature_values,
)

CALLBACK = "callback"
PAY_URL = "https://secure.wayforpay.com/pay"
API_URL = "https://api.wayforpay.com/api"
# reasonCode values (php-sdk src/Domain/Reason.php).
REASON_OK = "1100"
REASON_INVALID_SIGNATURE = "1113"
REASON_ACCOUNT_NOT_FOUND = "1121"
REASON_ORDER_NOT_FOUND = "1127"

# transactionStatus (php-sdk TransactionBase constants; the wiki spells InProcessing
# "inProcessing"). Money is taken only on Approved; a hold (WaitingAuthComplete) or an
# anti-fraud check (Pending) is not a payment yet. RefundInProcessing changes nothing until the
# refund is final (Refunded).
STATUS = {
    "Approved": EventStatus.PAID,
    "Created": EventStatus.CREATED,
    "InProcessing": EventStatus.PENDING,
    "inProcessing": EventStatus.PENDING,
    "WaitingAuthComplete": EventStatus.PENDING,
    "Pending": EventStatus.PENDING,
    "RefundInProcessing": EventStatus.PENDING,
    "Declined": EventStatus.FAILED,
    "Expired": EventStatus.EXPIRED,
    "Refunded": EventStatus.REFUNDED,
    "Voided": EventStatus.REFUNDED,
}
# transactionStatus of a REFUND answer (wiki.wayforpay.com/en/view/852115).
REFUND_STATUS = {
    "Refunded": RefundStatus.DONE,
    "Voided": RefundStatus.DONE,
    "RefundInProcessing": RefundStatus.PENDING,
    "Declined": RefundStatus.FAILED,
}
# Languages of the payment page (``language``); AUTO follows the browser.
LANGUAGES = {
    "uk": "UA",
    "ru": "RU",
    "en": "EN",
    "de": "DE",
    "es": "ES",
    "it": "IT",
    "pl": "PL",
    "fr": "FR",
    "ro": "RO",
    "lv": "LV",
    "sk": "SK",
    "cs": "CS",
}


class WayForPayProvider(Provider):
    kind = "wayforpay"
    verbose_name = _("WayForPay")
    supports_guest_payment = True
    can_check_credentials = True
    can_refund = True
    can_refund_partially = True
    credentials = (
        Credential(
            "merchant_account",
            _("Merchant account"),
            help_text=_(
                "WayForPay merchant portal > Store settings: the merchant login "
                "(e.g. www_example_com)."
            ),
        ),
        Credential(
            "merchant_domain",
            _("Merchant domain name"),
            help_text=_("The store's domain as registered with WayForPay (e.g. www.example.com)."),
        ),
        Credential(
            "secret_key",
            _("Secret key"),
            secret=True,
            help_text=_("WayForPay merchant portal > Store settings: the SecretKey."),
        ),
    )

    # Configuration ------------------------------------------------------------------------
    @property
    def merchant_account(self):
        return str(self.option("merchant_account") or "").strip()

    @property
    def merchant_domain(self):
        return str(self.option("merchant_domain") or "").strip()

    @property
    def secret_key(self):
        return self.secret("secret_key")

    # Starting a payment -------------------------------------------------------------------
    def start_payment(self, payment, urls):
        if not (self.merchant_account and self.merchant_domain and self.secret_key):
            raise ProviderError(
                "The WayForPay account is missing its merchant account, domain or secret key.",
                retryable=False,
            )
        order = payment.order
        amount = php_amount(quantize(payment.amount, payment.currency))
        lifetime = int(checkout_lifetime().total_seconds())
        fields = [
            ("merchantAccount", self.merchant_account),
            ("merchantAuthType", "SimpleSignature"),
            ("merchantDomainName", self.merchant_domain),
            ("merchantTransactionType", "SALE"),
            ("merchantTransactionSecureType", "AUTO"),
            ("apiVersion", "1"),
            ("language", LANGUAGES.get((order.language or "").split("-")[0].lower(), "AUTO")),
            ("returnUrl", urls.return_url),
            ("serviceUrl", urls.notify_url),
            ("orderReference", payment.reference),
            ("orderDate", str(int(payment.created_at.timestamp()))),
            ("amount", amount),
            ("currency", payment.currency),
            ("productName[]", order.offer.title),
            ("productPrice[]", amount),
            ("productCount[]", "1"),
            # Seconds the order can be paid (WayForPay's default: a day).
            ("orderLifetime", str(lifetime)),
        ]
        if order.email and not order.email_is_placeholder:
            fields.append(("clientEmail", order.email))
        signed = hmac_md5(self.secret_key, purchase_signature_values(fields))
        fields.insert(3, ("merchantSignature", signed))
        return Checkout(
            form_action=self.endpoint("pay", PAY_URL),
            form_fields=fields,
            expires_at=payment.created_at + timedelta(seconds=lifetime),
        )

    # Notifications ------------------------------------------------------------------------
    def parse_notification(self, notification):
        # JSON whatever the Content-Type: WayForPay labels it form-urlencoded at times.
        data = notification.json(parse_float=str, parse_int=str)
        if not is_signed(self.secret_key, self.merchant_account, data):
            raise InvalidSignature("The WayForPay merchantSignature is missing or does not match.")
        # Only what the signature covers: the callback's ``email`` (and dates) are not signed,
        # so the e-mail comes from CHECK_STATUS when the payment is confirmed (resolve_event).
        return [self._event(data, CALLBACK)]

    def acknowledge(self, notification, events):
        """The signed ``accept`` WayForPay waits for; without it the callback is repeated."""
        reference = events[0].reference if events else ""
        if not reference:
            reference = as_text(
                notification.json(parse_float=str, parse_int=str).get("orderReference")
            )
        now = int(time.time())
        return JsonResponse(
            {
                "orderReference": reference,
                "status": "accept",
                "time": now,
                "signature": hmac_md5(self.secret_key, [reference, "accept", now]),
            }
        )

    def _event(self, data, source, *, email=""):
        """The event of a signed transaction. Its id is built from signed fields only, so that
        a signed callback reposted with other unsigned fields is the same event."""
        reference = as_text(data.get("orderReference"))
        status_name = as_text(data.get("transactionStatus"))
        if not reference:
            raise MalformedNotification("No orderReference.")
        if status_name not in STATUS:
            raise MalformedNotification(f"Unknown transactionStatus {status_name[:40]!r}.")
        amount = parse_amount(data.get("amount"))
        if amount is None:
            raise MalformedNotification("The amount is not a number.")
        reason_code = as_text(data.get("reasonCode"))
        signed = hashlib.sha256(
            ";".join(
                [
                    str(amount),
                    as_text(data.get("currency")),
                    as_text(data.get("authCode")),
                    as_text(data.get("cardPan")),
                ]
            ).encode()
        ).hexdigest()[:16]
        detail = ""
        if reason_code and reason_code != REASON_OK:
            detail = f"{reason_code} {as_text(data.get('reason'))}".strip()
        return ProviderEvent(
            event_id=f"wayforpay:{reference}:{status_name}:{reason_code}:{signed}",
            status=STATUS[status_name],
            reference=reference,
            amount=amount,
            currency=as_text(data.get("currency")),
            email=email,
            event_type=f"{source}:{status_name}",
            detail=detail[:255],
        )

    # Following a payment up ---------------------------------------------------------------
    def resolve_event(self, payment, event):
        """A paid callback is confirmed through CHECK_STATUS before it is applied: its answer
        comes from WayForPay's API (over TLS, signed) with the payer's e-mail, which the
        callback carries unsigned. Should WayForPay now say something else, that is applied."""
        if event.status != EventStatus.PAID or not event.event_type.startswith(f"{CALLBACK}:"):
            return event
        confirmed = self.fetch_status(payment)
        if confirmed is None:
            raise ProviderError("WayForPay's status check does not know this paid order yet.")
        if confirmed.status != event.status:
            return confirmed
        return replace(event, email=confirmed.email)

    def _check_status(self, reference):
        return self._post(
            {
                "transactionType": "CHECK_STATUS",
                "merchantAccount": self.merchant_account,
                "orderReference": reference,
                "merchantSignature": hmac_md5(self.secret_key, [self.merchant_account, reference]),
                "apiVersion": 1,
            }
        )

    def _post(self, request):
        """POST one API request (JSON); the answer's JSON object, lexemes kept."""
        import httpx

        if not (self.merchant_account and self.secret_key):
            raise ProviderError(
                "The WayForPay account has no merchant account or secret key.", retryable=False
            )
        try:
            with self.http_client() as client:
                response = client.post(self.endpoint("api", API_URL), json=request)
        except httpx.HTTPError as exc:
            raise ProviderError(f"WayForPay could not be reached ({type(exc).__name__}).") from exc
        if response.status_code >= 500:
            raise ProviderError(f"WayForPay answered HTTP {response.status_code}.")
        try:
            data = loads(response.text)
        except ValueError as exc:
            raise ProviderError(
                f"WayForPay answered HTTP {response.status_code} without JSON."
            ) from exc
        if not isinstance(data, dict):
            raise ProviderError("WayForPay's answer is not a JSON object.")
        return data

    def fetch_status(self, payment):
        data = self._check_status(payment.reference)
        reason_code = as_text(data.get("reasonCode"))
        if reason_code == REASON_ORDER_NOT_FOUND:
            return None
        if not data.get("transactionStatus"):
            raise ProviderError(
                f"WayForPay's status check failed: {_reason(data)}",
                retryable=reason_code not in (REASON_INVALID_SIGNATURE, REASON_ACCOUNT_NOT_FOUND),
            )
        if not is_signed(self.secret_key, self.merchant_account, data):
            raise ProviderError("WayForPay's status answer is not correctly signed.")
        if as_text(data.get("orderReference")) != payment.reference:
            raise ProviderError("WayForPay's status answer is about another order.")
        try:
            # The answer of WayForPay's own API, asked over TLS: its e-mail can be trusted.
            return self._event(data, "status", email=as_text(data.get("email")).strip())
        except MalformedNotification as exc:
            raise ProviderError(f"WayForPay's status answer is unusable: {exc}") from exc

    # Refunds -------------------------------------------------------------------------------
    def refund(self, payment, amount, *, key, note=""):
        """REFUND, full or partial. WayForPay takes no idempotency key: the caller sends each
        refund request once at a time."""
        amount_text = php_amount(amount)
        signed = [self.merchant_account, payment.reference, amount_text, payment.currency]
        data = self._post(
            {
                "transactionType": "REFUND",
                "merchantAccount": self.merchant_account,
                "orderReference": payment.reference,
                "amount": amount_text,
                "currency": payment.currency,
                "comment": f"refund {key}"[:250],
                "apiVersion": 1,
                "merchantSignature": hmac_md5(self.secret_key, signed),
            }
        )
        status_name = as_text(data.get("transactionStatus"))
        if not status_name:
            return RefundAnswer(status=RefundStatus.FAILED, detail=_reason(data))
        answer = [
            self.merchant_account,
            as_text(data.get("orderReference")),
            status_name,
            as_text(data.get("reasonCode")),
        ]
        if not hmac.compare_digest(
            hmac_md5(self.secret_key, answer).encode(),
            as_text(data.get("merchantSignature")).lower().encode(),
        ):
            raise ProviderError("WayForPay's refund answer is not correctly signed.")
        if answer[1] != payment.reference:
            raise ProviderError("WayForPay's refund answer is about another order.")
        return RefundAnswer(
            status=REFUND_STATUS.get(status_name, RefundStatus.FAILED),
            amount=amount,
            currency=payment.currency,
            detail=f"{status_name}: {_reason(data)}"[:255],
        )

    def check_credentials(self):
        """CHECK_STATUS of an order that cannot exist: "order not found" proves the account and
        the secret key; "invalid signature" or "account not found" disprove them."""
        if not (self.merchant_account and self.merchant_domain and self.secret_key):
            return CredentialCheck(
                False, _("Enter the merchant account, the domain name and the secret key.")
            )
        try:
            data = self._check_status(f"guestpay-credential-check-{secrets.token_hex(8)}")
        except ProviderError as exc:
            return CredentialCheck(
                False, _("WayForPay could not be asked: %(error)s") % {"error": exc}
            )
        code = as_text(data.get("reasonCode"))
        if code in (REASON_ORDER_NOT_FOUND, REASON_OK):
            return CredentialCheck(
                True, _("WayForPay accepted the merchant account and the secret key.")
            )
        if code == REASON_INVALID_SIGNATURE:
            return CredentialCheck(
                False,
                _(
                    "WayForPay refused the signature: the secret key is "
                    "wrong for this merchant account."
                ),
            )
        if code == REASON_ACCOUNT_NOT_FOUND:
            return CredentialCheck(False, _("WayForPay does not know this merchant account."))
        return CredentialCheck(False, _("WayForPay answered: %(error)s") % {"error": _reason(data)})


def _reason(data):
    reason = as_text(data.get("reason"))[:200] or "no reason"
    return f"{reason} (code {as_text(data.get('reasonCode'))[:20] or '?'})"

"""Stripe: hosted Checkout Sessions and signed webhooks, through the official ``stripe`` SDK.

Every API call goes through a :class:`stripe.StripeClient` built for one ProviderAccount, so the
secret key travels with the request; the SDK's module-global ``stripe.api_key`` is never read or
set. The SDK is the optional ``stripe`` extra: it is imported when a Stripe account is used, and
its absence is reported as a configuration error.

What this module translates (field names from the SDK's resource classes, ``stripe/checkout/
_session.py``, ``_payment_intent.py``, ``_charge.py``, ``_dispute.py``):

- ``checkout.session.completed`` / ``.async_payment_succeeded``: paid only when
  ``payment_status == "paid"`` (delayed methods complete ``unpaid``), else pending;
- ``checkout.session.async_payment_failed``: failed; ``checkout.session.expired``: expired;
- ``payment_intent.succeeded``: paid, when the intent carries our reference in its metadata (set
  through ``payment_intent_data.metadata``), so either path confirms;
- ``payment_intent.payment_failed``: failed only when the intent is ``canceled``; otherwise the
  buyer may still try another card on the same Checkout page, so the payment stays open and only
  the decline message is recorded;
- ``charge.refunded``: refunded, or partially refunded while ``refunded`` is false;
- ``charge.dispute.created``: reversed, except inquiries (``warning_*``) and ``prevented``,
  which take no money.

Every other event type, and sessions or intents that carry no reference of ours (another
integration on the same Stripe account), are ignored: answered 200, nothing stored.
"""

import dataclasses
import logging
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..money import to_minor_units
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
from .exceptions import MalformedNotification, ProviderError
from .stripe_objects import (
    EVENT_TRANSLATORS,
    METADATA_KEY,
    _ids,
    _latest_charge,
    _money,
    _timestamp,
    session_email,
    session_fields,
    session_status,
    with_session_id,
)
from .stripe_sdk import load_sdk, redact, verify_signature

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_API_BASE = "https://api.stripe.com"
# The session with what a status check and a missing e-mail need, in one call.
SESSION_EXPAND = ["payment_intent", "payment_intent.latest_charge"]


# Refund.status: pending, requires_action, succeeded, failed or canceled (stripe-python
# _refund.py).
REFUND_STATUS = {
    "succeeded": RefundStatus.DONE,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


class StripeProvider(Provider):
    kind = "stripe"
    verbose_name = _("Stripe")
    supports_guest_payment = True
    can_check_credentials = True
    can_refund = True
    can_refund_partially = True
    credentials = (
        Credential(
            "secret_key",
            _("Secret key"),
            secret=True,
            help_text=_(
                "Developers > API keys: sk_test_… in test mode, sk_live_… in live mode "
                "(or a restricted key rk_… allowed to write Checkout Sessions and read "
                "PaymentIntents, Charges and the balance)."
            ),
        ),
        Credential(
            "webhook_secret",
            _("Webhook signing secret"),
            secret=True,
            help_text=_("Developers > Webhooks > your endpoint > Signing secret (whsec_…)."),
        ),
        Credential(
            "publishable_key",
            _("Publishable key"),
            required=False,
            help_text=_(
                "pk_test_… or pk_live_…; not needed by the hosted Checkout page, kept "
                "for templates of the host site."
            ),
        ),
    )

    # The API ---------------------------------------------------------------------------------
    def client(self, http_client):
        """A StripeClient for this account: its key, the configured API base, ``http_client``."""
        stripe = load_sdk()
        key = self.secret("secret_key")
        if not key:
            raise ProviderError(gettext("No Stripe secret key is set."), retryable=False)
        return stripe.StripeClient(
            key,
            base_addresses={"api": self.endpoint("api", DEFAULT_API_BASE).rstrip("/")},
            http_client=http_client,
            # Safe: the SDK retries with the same idempotency key.
            max_network_retries=1,
        )

    def call(self, operation):
        """Run ``operation(client)``; SDK errors become ProviderError (key never echoed)."""
        from ..conf import guestpay_settings

        stripe = load_sdk()
        connect, read = guestpay_settings.PROVIDER_TIMEOUT
        http_client = stripe.RequestsClient(timeout=(connect, read))
        try:
            return operation(self.client(http_client))
        except stripe.StripeError as exc:
            status = exc.http_status or "no answer"
            message = redact(exc.user_message or type(exc).__name__)
            retryable = not isinstance(
                exc,
                (stripe.AuthenticationError, stripe.PermissionError, stripe.InvalidRequestError),
            )
            raise ProviderError(f"Stripe ({status}): {message}", retryable=retryable) from exc
        finally:
            http_client.close()

    def retrieve_session(self, session_id):
        """The Checkout Session with its PaymentIntent and latest Charge expanded, as a dict."""
        session = self.call(
            lambda client: client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": SESSION_EXPAND}
            )
        )
        return session.to_dict()

    # Starting a payment ----------------------------------------------------------------------
    def start_payment(self, payment, urls):
        order = payment.order
        offer = order.offer
        currency = payment.currency.upper()
        metadata = {METADATA_KEY: payment.reference, "guestpay_order": order.number}
        product = {"name": offer.title[:250]}
        if offer.description.strip():
            product["description"] = offer.description.strip()[:500]
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_minor_units(payment.amount, currency),
                        "product_data": product,
                    },
                }
            ],
            "success_url": with_session_id(urls.return_url),
            "cancel_url": urls.cancel_url,
            "client_reference_id": payment.reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": offer.title[:250]},
            # Stripe takes 30 minutes to 24 hours; a page nobody opened expires then.
            "expires_at": int(
                (
                    timezone.now()
                    + checkout_lifetime(
                        timedelta(minutes=30, seconds=30), timedelta(hours=23, minutes=59)
                    )
                ).timestamp()
            ),
        }
        if order.paid_as_user and order.email:
            # A logged-in buyer's account e-mail is known; a guest types it on Stripe's page.
            params["customer_email"] = order.email
        session = self.call(
            lambda client: client.v1.checkout.sessions.create(
                params, options={"idempotency_key": f"guestpay-checkout-{payment.reference}"}
            )
        ).to_dict()
        if not session.get("url"):
            raise ProviderError("Stripe created a Checkout Session without a URL.")
        return Checkout(
            redirect_url=session["url"],
            provider_reference=session["id"],
            related_references=tuple(_ids(session.get("payment_intent"))),
            provider_data={
                "checkout_session": session["id"],
                "livemode": bool(session.get("livemode")),
            },
            expires_at=_timestamp(session.get("expires_at")),
        )

    # Notifications ---------------------------------------------------------------------------
    def parse_notification(self, notification):
        verify_signature(
            notification.body, notification.header(SIGNATURE_HEADER), self.secret("webhook_secret")
        )
        data = notification.json()
        event_id, event_type = data.get("id"), data.get("type")
        obj = data.get("data", {}).get("object") if isinstance(data.get("data"), dict) else None
        if not (
            isinstance(event_id, str)
            and event_id
            and isinstance(event_type, str)
            and isinstance(obj, dict)
        ):
            raise MalformedNotification("Not a Stripe event: no id, type or data.object.")
        livemode = data.get("livemode")
        if isinstance(livemode, bool) and livemode != self.is_live:
            raise MalformedNotification(
                f"A {'live' if livemode else 'test'}-mode event reached a payment system set to "
                f"{'live' if self.is_live else 'test'} mode."
            )
        translate = EVENT_TRANSLATORS.get(event_type)
        fields = translate(obj) if translate else None
        if fields is None:
            logger.info("Stripe event %s (%s) ignored.", event_id, event_type)
            return []
        return [
            ProviderEvent(
                event_id=event_id,
                event_type=event_type,
                occurred_at=_timestamp(data.get("created")),
                **fields,
            )
        ]

    # Following a payment up ------------------------------------------------------------------
    def resolve_event(self, payment, event):
        """A paid event without an e-mail (a PaymentIntent event, or a session whose details
        lack it): read the e-mail from the session before access is granted."""
        if event.status != EventStatus.PAID or event.email or not payment.provider_reference:
            return event
        session = self.retrieve_session(payment.provider_reference)
        email = session_email(session)
        if not email:
            return event
        name = (session.get("customer_details") or {}).get("name") or ""
        return dataclasses.replace(event, email=email, payer_name=event.payer_name or name)

    def fetch_status(self, payment):
        session_id = payment.provider_reference
        if not session_id:
            return None
        try:
            session = self.retrieve_session(session_id)
        except ProviderError as exc:
            if getattr(exc.__cause__, "http_status", None) == 404:
                return None  # Stripe knows no such session
            raise
        status, detail = session_status(session)
        try:
            fields = session_fields(session)
            if status == EventStatus.REFUNDED:
                fields["refunded_amount"] = _money(
                    _latest_charge(session).get("amount_refunded"), fields["currency"]
                )
        except MalformedNotification as exc:
            raise ProviderError(f"Stripe answered an unusable session: {exc}") from exc
        return ProviderEvent(
            event_id=f"{session_id}:{status}",
            status=status,
            event_type="checkout.session",
            detail=detail,
            **fields,
        )

    # Refunds ---------------------------------------------------------------------------------
    def intent_id(self, payment):
        """The PaymentIntent of ``payment``: one its events named, else its session's."""
        known = payment.references.filter(value__startswith="pi_").values_list("value", flat=True)
        for value in known:
            return value
        if payment.provider_reference:
            for value in _ids(
                self.retrieve_session(payment.provider_reference).get("payment_intent")
            ):
                if value.startswith("pi_"):
                    return value
        raise ProviderError(
            gettext("Stripe has no PaymentIntent for this payment yet."), retryable=False
        )

    def refund(self, payment, amount, *, key, note=""):
        """POST /v1/refunds on the payment's PaymentIntent, with ``key`` as the
        Idempotency-Key (the SDK sends it again on its own retry)."""
        params = {
            "payment_intent": self.intent_id(payment),
            "amount": to_minor_units(amount, payment.currency),
            "metadata": {"guestpay_reference": payment.reference},
        }
        refund = self.call(
            lambda client: client.v1.refunds.create(params=params, options={"idempotency_key": key})
        ).to_dict()
        status = REFUND_STATUS.get(str(refund.get("status") or ""), RefundStatus.PENDING)
        currency = str(refund.get("currency") or payment.currency).upper()
        try:
            refunded = _money(refund.get("amount"), currency)
        except MalformedNotification as exc:
            raise ProviderError(f"Stripe answered an unusable refund: {exc}") from exc
        return RefundAnswer(
            status=status,
            refund_id=str(refund.get("id") or ""),
            amount=refunded,
            currency=currency,
            detail=str(refund.get("failure_reason") or refund.get("status") or "")[:255],
        )

    def check_credentials(self):
        try:
            stripe = load_sdk()
        except ImproperlyConfigured as exc:
            return CredentialCheck(False, str(exc))
        if not self.secret("secret_key"):
            return CredentialCheck(False, gettext("Set the secret key (sk_… or rk_…)."))
        try:
            balance = self.call(lambda client: client.v1.balance.retrieve()).to_dict()
        except ProviderError as exc:
            if isinstance(exc.__cause__, stripe.AuthenticationError):
                return CredentialCheck(False, gettext("Stripe refused the secret key."))
            if isinstance(exc.__cause__, stripe.PermissionError):
                return CredentialCheck(
                    False,
                    gettext(
                        "The key works but may not read the balance: use the secret "
                        "key or give the restricted key read access to Balance."
                    ),
                )
            return CredentialCheck(
                False, gettext("Stripe could not be reached: %(error)s") % {"error": exc}
            )
        if bool(balance.get("livemode")) != self.is_live:
            key_mode = gettext("live") if balance.get("livemode") else gettext("test")
            account_mode = gettext("live") if self.is_live else gettext("test")
            return CredentialCheck(
                False,
                gettext(
                    "The secret key is a %(key)s-mode key but this payment system is "
                    "set to %(account)s mode."
                )
                % {"key": key_mode, "account": account_mode},
            )
        if not self.secret("webhook_secret").startswith("whsec_"):
            return CredentialCheck(
                False,
                gettext(
                    "The secret key works; set the webhook signing secret (whsec_…) "
                    "or no payment will be confirmed."
                ),
            )
        mode = gettext("live") if self.is_live else gettext("test")
        return CredentialCheck(
            True, gettext("Stripe accepted the secret key (%(mode)s mode).") % {"mode": mode}
        )

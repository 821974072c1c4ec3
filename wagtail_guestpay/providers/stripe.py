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
import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..money import from_minor_units, to_minor_units
from .base import (
    Checkout,
    Credential,
    CredentialCheck,
    EventStatus,
    Provider,
    ProviderEvent,
    checkout_lifetime,
)
from .exceptions import InvalidSignature, MalformedNotification, ProviderError

logger = logging.getLogger(__name__)

#: Seconds a webhook signature stays valid (the SDK's ``Webhook.DEFAULT_TOLERANCE``).
TOLERANCE = 300
#: Metadata key that carries our ``Payment.reference`` on the session and its PaymentIntent.
METADATA_KEY = "guestpay_reference"
SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_API_BASE = "https://api.stripe.com"
# The session with what a status check and a missing e-mail need, in one call.
SESSION_EXPAND = ["payment_intent", "payment_intent.latest_charge"]
# Dispute statuses that take no money from the merchant.
NO_LOSS_DISPUTE = ("warning_needs_response", "warning_under_review", "warning_closed",
                   "prevented", "won")
_KEYLIKE = re.compile(r"\b(sk|rk|pk|whsec)_[A-Za-z0-9_*.]+")


def load_sdk():
    """The ``stripe`` module, or a clear error when the optional dependency is missing."""
    try:
        import stripe
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImproperlyConfigured(
            "The Stripe payment system needs the stripe package: "
            "pip install 'wagtail-guestpay[stripe]'."
        ) from exc
    return stripe


def verify_signature(body, header, secret, tolerance=TOLERANCE):
    """Check ``Stripe-Signature`` over the raw ``body`` with the SDK's verifier (HMAC-SHA256 of
    ``"<t>.<body>"`` keyed with the whole ``whsec_`` string, constant-time compared, any ``v1``
    may match, ``t`` not older than ``tolerance`` seconds). Raise InvalidSignature otherwise."""
    stripe = load_sdk()
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSignature("The body is not UTF-8, so it cannot carry Stripe's signature.") \
            from exc
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(redact(exc.user_message or "Invalid Stripe signature.")) from exc


def redact(text):
    """``text`` without anything that looks like a Stripe key or signing secret."""
    return _KEYLIKE.sub(lambda match: f"{match.group(1)}_…", str(text))


class StripeProvider(Provider):
    kind = "stripe"
    verbose_name = _("Stripe")
    supports_guest_payment = True
    can_check_credentials = True
    credentials = (
        Credential(
            "secret_key", _("Secret key"), secret=True,
            help_text=_("Developers > API keys: sk_test_… in test mode, sk_live_… in live mode "
                        "(or a restricted key rk_… allowed to write Checkout Sessions and read "
                        "PaymentIntents, Charges and the balance)."),
        ),
        Credential(
            "webhook_secret", _("Webhook signing secret"), secret=True,
            help_text=_("Developers > Webhooks > your endpoint > Signing secret (whsec_…)."),
        ),
        Credential(
            "publishable_key", _("Publishable key"), required=False,
            help_text=_("pk_test_… or pk_live_…; not needed by the hosted Checkout page, kept "
                        "for templates of the host site."),
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
                exc, (stripe.AuthenticationError, stripe.PermissionError,
                      stripe.InvalidRequestError)
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
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": to_minor_units(payment.amount, currency),
                    "product_data": product,
                },
            }],
            "success_url": with_session_id(urls.return_url),
            "cancel_url": urls.cancel_url,
            "client_reference_id": payment.reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata, "description": offer.title[:250]},
            # Stripe takes 30 minutes to 24 hours; a page nobody opened expires then.
            "expires_at": int((timezone.now() + checkout_lifetime(
                timedelta(minutes=30, seconds=30), timedelta(hours=23, minutes=59))).timestamp()),
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
            provider_data={"checkout_session": session["id"],
                           "livemode": bool(session.get("livemode"))},
            expires_at=_timestamp(session.get("expires_at")),
        )

    # Notifications ---------------------------------------------------------------------------
    def parse_notification(self, notification):
        verify_signature(notification.body, notification.header(SIGNATURE_HEADER),
                         self.secret("webhook_secret"))
        data = notification.json()
        event_id, event_type = data.get("id"), data.get("type")
        obj = data.get("data", {}).get("object") if isinstance(data.get("data"), dict) else None
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)
                and isinstance(obj, dict)):
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
        return [ProviderEvent(event_id=event_id, event_type=event_type,
                              occurred_at=_timestamp(data.get("created")), **fields)]

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
            event_id=f"{session_id}:{status}", status=status, event_type="checkout.session",
            detail=detail, **fields,
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
                    False, gettext("The key works but may not read the balance: use the secret "
                                   "key or give the restricted key read access to Balance."))
            return CredentialCheck(False, gettext("Stripe could not be reached: %(error)s")
                                   % {"error": exc})
        if bool(balance.get("livemode")) != self.is_live:
            key_mode = gettext("live") if balance.get("livemode") else gettext("test")
            account_mode = gettext("live") if self.is_live else gettext("test")
            return CredentialCheck(
                False, gettext("The secret key is a %(key)s-mode key but this payment system is "
                               "set to %(account)s mode.")
                % {"key": key_mode, "account": account_mode})
        if not self.secret("webhook_secret").startswith("whsec_"):
            return CredentialCheck(
                False, gettext("The secret key works; set the webhook signing secret (whsec_…) "
                               "or no payment will be confirmed."))
        mode = gettext("live") if self.is_live else gettext("test")
        return CredentialCheck(
            True, gettext("Stripe accepted the secret key (%(mode)s mode).") % {"mode": mode})


# Translating Stripe objects ------------------------------------------------------------------
def with_session_id(url):
    """``url`` with Stripe's ``{CHECKOUT_SESSION_ID}`` placeholder (left unencoded: Stripe
    replaces the literal text)."""
    return f"{url}{'&' if '?' in url else '?'}session_id={{CHECKOUT_SESSION_ID}}"


def _ids(value):
    """The id of an expandable field (an id string or an expanded object), as a list."""
    if isinstance(value, dict):
        value = value.get("id")
    return [value] if isinstance(value, str) and value else []


def _id(value):
    ids = _ids(value)
    return ids[0] if ids else ""


def _reference(obj, *, client_reference=False):
    metadata = obj.get("metadata")
    reference = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if client_reference and not reference:
        reference = obj.get("client_reference_id")
    return reference if isinstance(reference, str) else ""


def _currency(obj):
    currency = obj.get("currency")
    return currency.upper() if isinstance(currency, str) else ""


def _money(value, currency):
    """Minor units -> Decimal; MalformedNotification for anything but an integer."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not currency:
        raise MalformedNotification("A Stripe amount is not an integer in minor units.")
    return from_minor_units(value, currency)


def _timestamp(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _text(*candidates):
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def charge_email(charge):
    if not isinstance(charge, dict):
        return ""
    billing = charge.get("billing_details") or {}
    return _text(billing.get("email"), charge.get("receipt_email"))


def intent_email(intent):
    if not isinstance(intent, dict):
        return ""
    return _text(intent.get("receipt_email"), charge_email(intent.get("latest_charge")))


def session_email(session):
    """``customer_details.email`` (what the buyer typed on Stripe's page), else what the
    PaymentIntent or its charge carries when they are expanded."""
    details = session.get("customer_details") or {}
    return _text(details.get("email"), session.get("customer_email"),
                 intent_email(session.get("payment_intent")))


def _latest_charge(session):
    intent = session.get("payment_intent")
    charge = intent.get("latest_charge") if isinstance(intent, dict) else None
    return charge if isinstance(charge, dict) else {}


def session_fields(session):
    currency = _currency(session)
    intent = session.get("payment_intent")
    related = _ids(intent)
    if isinstance(intent, dict):
        related += _ids(intent.get("latest_charge"))
    return {
        "reference": _reference(session, client_reference=True),
        "provider_reference": _id(session),
        "related_references": tuple(related),
        "amount": _money(session.get("amount_total"), currency),
        "currency": currency,
        "email": session_email(session),
        "payer_name": _text((session.get("customer_details") or {}).get("name")),
    }


def session_status(session):
    """Where a retrieved session stands: ``(EventStatus, detail)``."""
    status, payment_status = session.get("status"), session.get("payment_status")
    intent = session.get("payment_intent")
    intent_status = intent.get("status") if isinstance(intent, dict) else None
    if _latest_charge(session).get("refunded"):
        return EventStatus.REFUNDED, ""
    if payment_status == "paid":
        return EventStatus.PAID, ""
    if status == "expired":
        return EventStatus.EXPIRED, ""
    if status == "complete":
        if intent_status in ("requires_payment_method", "canceled"):
            return EventStatus.FAILED, _decline(intent)
        return EventStatus.PENDING, f"payment_status={payment_status}"
    return EventStatus.CREATED, ""


def _decline(intent):
    error = intent.get("last_payment_error") if isinstance(intent, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message[:255] if isinstance(message, str) else ""


def _session_event(status_for):
    def translate(session):
        fields = session_fields(session)
        if not fields["reference"]:
            return None  # not a session this site created
        status, detail = status_for(session)
        return {**fields, "status": status, "detail": detail}

    return translate


def _completed(session):
    if session.get("payment_status") == "paid":
        return EventStatus.PAID, ""
    return EventStatus.PENDING, f"payment_status={session.get('payment_status')}"


def _intent_event(intent, status, detail=""):
    reference = _reference(intent)
    if not reference:
        return None  # not an intent this site created
    currency = _currency(intent)
    amount = intent.get("amount_received") if status == EventStatus.PAID else intent.get("amount")
    return {
        "status": status, "reference": reference, "provider_reference": _id(intent),
        "related_references": tuple(_ids(intent.get("latest_charge"))),
        "amount": _money(amount, currency), "currency": currency,
        "email": intent_email(intent), "detail": detail,
    }


def _intent_succeeded(intent):
    return _intent_event(intent, EventStatus.PAID)


def _intent_failed(intent):
    # A declined card leaves the intent in requires_payment_method: the buyer may try again on
    # the same Checkout page, so only a canceled intent ends the payment.
    status = EventStatus.FAILED if intent.get("status") == "canceled" else EventStatus.CREATED
    return _intent_event(intent, status, _decline(intent))


def _charge_refunded(charge):
    currency = _currency(charge)
    refunded = _money(charge.get("amount_refunded"), currency)
    if not refunded:
        return None
    status = EventStatus.REFUNDED if charge.get("refunded") is True \
        else EventStatus.PARTIALLY_REFUNDED
    return {
        "status": status, "reference": _reference(charge),
        "provider_reference": _id(charge.get("payment_intent")) or _id(charge),
        "related_references": tuple(_ids(charge)),
        "amount": _money(charge.get("amount"), currency), "currency": currency,
        "refunded_amount": refunded,
    }


def _dispute_created(dispute):
    if dispute.get("status") in NO_LOSS_DISPUTE:
        return None
    currency = _currency(dispute)
    return {
        "status": EventStatus.REVERSED, "reference": "",
        "provider_reference": _id(dispute.get("payment_intent")) or _id(dispute.get("charge")),
        "related_references": tuple(_ids(dispute.get("charge"))),
        "amount": _money(dispute.get("amount"), currency), "currency": currency,
        "refunded_amount": _money(dispute.get("amount"), currency),
        "detail": f"dispute {dispute.get('reason') or ''}".strip()[:255],
    }


EVENT_TRANSLATORS = {
    "checkout.session.completed": _session_event(_completed),
    "checkout.session.async_payment_succeeded": _session_event(_completed),
    "checkout.session.async_payment_failed": _session_event(
        lambda session: (EventStatus.FAILED, _decline(session.get("payment_intent")))
    ),
    "checkout.session.expired": _session_event(lambda session: (EventStatus.EXPIRED, "")),
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}


"""Stripe's objects (Checkout Sessions, PaymentIntents, Charges, Disputes) translated into
neutral provider events and fields, for :mod:`.stripe` (the provider). Which event types mean
what is listed in that module's docstring."""

from datetime import UTC, datetime

from ..money import from_minor_units
from .base import EventStatus
from .exceptions import MalformedNotification

#: Metadata key that carries our ``Payment.reference`` on the session and its PaymentIntent.
METADATA_KEY = "guestpay_reference"

# Dispute statuses that take no money from the merchant.
NO_LOSS_DISPUTE = (
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "prevented",
    "won",
)


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
    return _text(
        details.get("email"),
        session.get("customer_email"),
        intent_email(session.get("payment_intent")),
    )


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
        "status": status,
        "reference": reference,
        "provider_reference": _id(intent),
        "related_references": tuple(_ids(intent.get("latest_charge"))),
        "amount": _money(amount, currency),
        "currency": currency,
        "email": intent_email(intent),
        "detail": detail,
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
    status = (
        EventStatus.REFUNDED if charge.get("refunded") is True else EventStatus.PARTIALLY_REFUNDED
    )
    return {
        "status": status,
        "reference": _reference(charge),
        "provider_reference": _id(charge.get("payment_intent")) or _id(charge),
        "related_references": tuple(_ids(charge)),
        "amount": _money(charge.get("amount"), currency),
        "currency": currency,
        "refunded_amount": refunded,
    }


def _dispute_created(dispute):
    if dispute.get("status") in NO_LOSS_DISPUTE:
        return None
    currency = _currency(dispute)
    return {
        "status": EventStatus.REVERSED,
        "reference": "",
        "provider_reference": _id(dispute.get("payment_intent")) or _id(dispute.get("charge")),
        "related_references": tuple(_ids(dispute.get("charge"))),
        "amount": _money(dispute.get("amount"), currency),
        "currency": currency,
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

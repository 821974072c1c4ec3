"""What PayPal says, in provider-neutral :class:`ProviderEvent` terms.

Three shapes come in: an Orders v2 *order* (create/capture/show answers and the
``CHECKOUT.ORDER.APPROVED`` resource), a Payments v2 *capture* (``PAYMENT.CAPTURE.*`` resources)
and a *refund* (``PAYMENT.CAPTURE.REFUNDED`` / ``REVERSED`` resources). Our Payment.reference
travels as the purchase unit's ``custom_id`` (also its ``reference_id`` and ``invoice_id``); a
capture names its order in ``supplementary_data.related_ids.order_id`` (and its ``up`` link).

Statuses: the order's status says little once captured ("a COMPLETED order can contain a
declined capture"), so an order with captures takes its status from its capture.
"""

from datetime import datetime

from ...money import parse_amount
from ..base import EventStatus, ProviderEvent

# Capture status -> event status (Orders v2 capture_status). A partially refunded capture was
# paid; the partial refund arrives as its own PAYMENT.CAPTURE.REFUNDED notification.
CAPTURE_STATUS = {
    "COMPLETED": EventStatus.PAID,
    "PARTIALLY_REFUNDED": EventStatus.PAID,
    "PENDING": EventStatus.PENDING,
    "DECLINED": EventStatus.FAILED,
    "FAILED": EventStatus.FAILED,
    "REFUNDED": EventStatus.REFUNDED,
}
# Order status -> event status, for an order without captures.
ORDER_STATUS = {
    "CREATED": EventStatus.CREATED,
    "SAVED": EventStatus.CREATED,
    "PAYER_ACTION_REQUIRED": EventStatus.CREATED,
    "APPROVED": EventStatus.APPROVED,
    "VOIDED": EventStatus.CANCELLED,
    "COMPLETED": EventStatus.PENDING,
}
# Webhook event type -> event status.
CAPTURE_EVENTS = {
    "PAYMENT.CAPTURE.COMPLETED": EventStatus.PAID,
    "PAYMENT.CAPTURE.PENDING": EventStatus.PENDING,
    "PAYMENT.CAPTURE.DENIED": EventStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": EventStatus.FAILED,
}
REFUND_EVENTS = {
    "PAYMENT.CAPTURE.REFUNDED": EventStatus.REFUNDED,
    "PAYMENT.CAPTURE.REVERSED": EventStatus.REVERSED,
}
ORDER_APPROVED = "CHECKOUT.ORDER.APPROVED"
APPROVAL_REVERSED = "CHECKOUT.PAYMENT-APPROVAL.REVERSED"
# The event types a merchant subscribes the webhook to (docs/providers/paypal.md).
SUBSCRIBED_EVENTS = (ORDER_APPROVED, APPROVAL_REVERSED, *CAPTURE_EVENTS, *REFUND_EVENTS)

# event_type of events made from an order we fetched or captured (not from a notification).
FROM_CAPTURE = "paypal.capture"
FROM_STATUS = "paypal.status"


class PayPalDataError(ValueError):
    """PayPal's JSON lacks what we need (caller turns it into a 400 or a ProviderError)."""


# Small readers ------------------------------------------------------------------------------
def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _str(value):
    return value if isinstance(value, str) else ""


def _money(value):
    money = _dict(value)
    return parse_amount(money.get("value")), _str(money.get("currency_code")).upper()


def _time(value):
    try:
        return datetime.fromisoformat(_str(value))
    except ValueError:
        return None


def payer_email(order):
    """``payment_source.paypal.email_address``, else the deprecated ``payer.email_address``."""
    source = _dict(_dict(order.get("payment_source")).get("paypal"))
    return _str(source.get("email_address")) or _str(_dict(order.get("payer")).get("email_address"))


def payer_name(order):
    source = _dict(_dict(order.get("payment_source")).get("paypal"))
    name = _dict(source.get("name")) or _dict(_dict(order.get("payer")).get("name"))
    return " ".join(
        part for part in (_str(name.get("given_name")), _str(name.get("surname"))) if part
    )


def link(resource, rel):
    for item in _list(resource.get("links")):
        if _dict(item).get("rel") == rel and _str(item.get("href")):
            return item["href"]
    return ""


def _id_after(href, marker):
    """``.../v2/checkout/orders/ABC`` -> ``ABC`` for marker ``/orders/``."""
    if marker not in href:
        return ""
    return href.split(marker, 1)[1].split("/", 1)[0].split("?", 1)[0]


def unit_reference(unit):
    return _str(unit.get("custom_id")) or _str(unit.get("reference_id"))


def purchase_unit(order, reference=""):
    units = [_dict(unit) for unit in _list(order.get("purchase_units"))]
    for unit in units:
        if reference and reference in (unit.get("custom_id"), unit.get("reference_id")):
            return unit
    return units[0] if units else {}


def _capture_of(unit):
    """The capture that speaks for the purchase unit: a completed one, else the latest."""
    captures = [_dict(c) for c in _list(_dict(unit.get("payments")).get("captures"))]
    for status in ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED", "PENDING"):
        for capture in captures:
            if capture.get("status") == status:
                return capture
    return captures[-1] if captures else None


def _reason(resource):
    return _str(_dict(resource.get("status_details")).get("reason"))


# Orders -------------------------------------------------------------------------------------
def order_event(order, *, event_type, reference=""):
    """One event for the order's current state (from create/capture/show answers)."""
    order = _dict(order)
    order_id = _str(order.get("id"))
    if not order_id:
        raise PayPalDataError("The order has no id.")
    order_status = _str(order.get("status"))
    unit = purchase_unit(order, reference)
    capture = _capture_of(unit)
    related = ()
    if capture is not None:
        capture_status = _str(capture.get("status"))
        status = CAPTURE_STATUS.get(capture_status)
        if status is None:
            raise PayPalDataError(f"Unknown capture status {capture_status[:40]!r}.")
        amount, currency = _money(capture.get("amount"))
        capture_id = _str(capture.get("id"))
        related = tuple(ref for ref in (capture_id,) if ref)
        state = f"{capture_id}:{capture_status}"
        detail = _reason(capture) or f"capture {capture_status.lower()}"
    else:
        status = ORDER_STATUS.get(order_status)
        if status is None:
            raise PayPalDataError(f"Unknown order status {order_status[:40]!r}.")
        amount, currency = _money(unit.get("amount"))
        state = order_status
        detail = f"order {order_status.lower()}"
    return ProviderEvent(
        event_id=f"{event_type}:{order_id}:{state}",
        status=status,
        reference=unit_reference(unit) or reference,
        provider_reference=order_id,
        amount=amount,
        currency=currency,
        email=payer_email(order),
        payer_name=payer_name(order),
        event_type=event_type,
        occurred_at=_time(order.get("update_time")) or _time(order.get("create_time")),
        detail=detail,
        related_references=related,
    )


def approve_link(order):
    """Where to send the buyer: ``payer-action`` (payment_source.paypal orders) or ``approve``."""
    return link(order, "payer-action") or link(order, "approve")


# Notifications ------------------------------------------------------------------------------
def webhook_events(data):
    """ProviderEvents of a verified webhook event (``[]`` for event types we do not follow)."""
    event_id = _str(data.get("id"))
    event_type = _str(data.get("event_type"))
    resource = data.get("resource")
    if not event_id or not event_type or not isinstance(resource, dict):
        raise PayPalDataError("The webhook event has no id, event_type or resource.")
    occurred_at = _time(data.get("create_time"))
    if event_type == ORDER_APPROVED:
        event = _approved(event_id, resource)
    elif event_type in CAPTURE_EVENTS:
        event = _capture(event_id, event_type, resource)
    elif event_type in REFUND_EVENTS:
        event = _refund(event_id, event_type, resource)
    elif event_type == APPROVAL_REVERSED:
        event = _approval_reversed(event_id, resource)
    else:
        return []
    return [ProviderEvent(**{**event, "event_type": event_type, "occurred_at": occurred_at})]


def _approved(event_id, order):
    order_id = _str(order.get("id"))
    if not order_id:
        raise PayPalDataError("The approved order has no id.")
    unit = purchase_unit(order)
    amount, currency = _money(unit.get("amount"))
    return {
        "event_id": event_id,
        "status": EventStatus.APPROVED,
        "reference": unit_reference(unit),
        "provider_reference": order_id,
        "amount": amount,
        "currency": currency,
        "email": payer_email(order),
        "payer_name": payer_name(order),
        "detail": "approved by the buyer",
    }


def _related(resource, name):
    ids = _dict(_dict(resource.get("supplementary_data")).get("related_ids"))
    return _str(ids.get(name))


def _capture(event_id, event_type, capture):
    capture_id = _str(capture.get("id"))
    if not capture_id:
        raise PayPalDataError("The capture has no id.")
    amount, currency = _money(capture.get("amount"))
    if amount is None or not currency:
        raise PayPalDataError("The capture has no amount.")
    order_id = _related(capture, "order_id") or _id_after(link(capture, "up"), "/orders/")
    status = CAPTURE_EVENTS[event_type]
    # The capture's own status has the last word ("a COMPLETED order can contain a declined
    # capture"): a COMPLETED notification about a capture that is not completed never grants.
    capture_status = _str(capture.get("status"))
    if status == EventStatus.PAID and capture_status not in ("", "COMPLETED"):
        status = CAPTURE_STATUS.get(capture_status, EventStatus.PENDING)
        if status in (EventStatus.PAID, EventStatus.REFUNDED):
            status = EventStatus.PENDING  # let the status check sort it out
    return {
        "event_id": event_id,
        "status": status,
        "reference": _str(capture.get("custom_id")),
        "provider_reference": order_id,
        "amount": amount,
        "currency": currency,
        "detail": _reason(capture) or f"capture {capture_status.lower() or 'updated'}",
        "related_references": (capture_id,),
    }


def _refund(event_id, event_type, refund):
    """A refund resource: its ``up`` link names the capture it refunds."""
    refund_id = _str(refund.get("id"))
    amount, currency = _money(refund.get("amount"))
    total, total_currency = _money(
        _dict(refund.get("seller_payable_breakdown")).get("total_refunded_amount")
    )
    capture_id = _related(refund, "capture_id") or _id_after(link(refund, "up"), "/captures/")
    order_id = _related(refund, "order_id")
    if not capture_id and not order_id and not _str(refund.get("custom_id")):
        raise PayPalDataError("The refund names no capture, order or custom_id.")
    return {
        "event_id": event_id,
        "status": REFUND_EVENTS[event_type],
        "reference": _str(refund.get("custom_id")),
        "provider_reference": order_id,
        "amount": amount,
        "currency": currency or total_currency,
        "refunded_amount": total if total is not None else amount,
        "detail": _str(refund.get("status")).lower() or "refund",
        "related_references": tuple(ref for ref in (capture_id, refund_id) if ref),
    }


def _approval_reversed(event_id, resource):
    """Approved but not captured in time (or capture impossible): the money was not taken."""
    order_id = _str(resource.get("order_id")) or _str(resource.get("id"))
    if not order_id:
        raise PayPalDataError("The reversed approval names no order.")
    unit = purchase_unit(resource)
    amount, currency = _money(unit.get("amount"))
    return {
        "event_id": event_id,
        "status": EventStatus.FAILED,
        "reference": unit_reference(unit),
        "provider_reference": order_id,
        "amount": amount,
        "currency": currency,
        "detail": "approval reversed before capture",
    }


# The readers the provider's refunds use.
capture_of = _capture_of
money = _money
reason = _reason

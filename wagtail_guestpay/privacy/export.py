"""One JSON document of everything the package holds about an e-mail address (a buyer's right
of access, GDPR article 15).

The document has the same keys for every address; an address the package knows nothing about
gets empty lists. Secrets are never in it: no password hashes, code hashes or token hashes, and
no sealed one-time codes of queued e-mails, no secret order links (cut from raw bodies). Notifications come with their raw body (what the
payment system said about the buyer), not with their transport headers.

Nor does it hold anyone else's data: an order of someone else that only mentions the address
(it was the payer's e-mail, a claim, or a correction moved the order away from it) is listed
with its number, amount, dates and how it mentions the address, not with its buyer, notes,
history, access or raw notifications.
"""

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ..admin.redaction import redact
from ..email_kinds import SEALED
from ..models import GuestAccount
from .records import find
from .scrub import contains

FORMAT_VERSION = 1

SECTIONS = (
    "contacts",
    "accounts",
    "orders",
    "payments",
    "refunds",
    "coupon_uses",
    "access_grants",
    "emails",
    "claims",
    "registrations",
    "signin_codes",
    "access_links",
    "notifications",
    "history",
)


def export_buyer_data(email):
    """The document (a dict) for ``email``."""
    records = find(email)
    document = {
        "format": FORMAT_VERSION,
        "email": records.email,
        "exported_at": timezone.now(),
        **{section: [] for section in SECTIONS},
    }
    if not records.email:
        return document
    document.update(
        contacts=[_contact(contact) for contact in records.contacts],
        accounts=[_account(user) for user in records.accounts],
        orders=[_order(order, records) for order in records.orders()],
        payments=[
            _payment(payment, own=payment.order_id in records.own_order_ids)
            for payment in records.payments()
            if payment.order_id in records.own_order_ids
            or payment.payer_email.lower() == records.email
        ],
        refunds=[
            _refund(refund)
            for refund in records.refunds()
            if refund.order_id in records.own_order_ids
        ],
        coupon_uses=[_coupon_use(use) for use in records.coupon_uses()],
        access_grants=[_grant(grant) for grant in records.grants()],
        emails=[_email(outbound) for outbound in records.emails()],
        claims=[_claim(claim) for claim in records.claims()],
        registrations=[_registration(item) for item in records.registrations()],
        signin_codes=[_signin_code(code) for code in records.signin_codes()],
        access_links=[_access_link(link) for link in records.access_links()],
        notifications=_events(records),
        history=[_log_entry(entry) for entry in records.log_entries()],
    )
    return document


def export_json(email):
    """The document as JSON text (indented, UTF-8 characters as they are)."""
    return json.dumps(export_buyer_data(email), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def _contact(contact):
    return {
        "id": contact.pk,
        "email": contact.email,
        "name": contact.name,
        "registration_fields": contact.registration_data,
        "source": contact.source,
        "note": contact.note,
        "placeholder_email": contact.is_placeholder,
        "account": contact.user_id,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "erased_at": contact.erased_at,
    }


def _account(user):
    guest = GuestAccount.objects.filter(user=user).first()
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": getattr(user, get_user_model().get_email_field_name(), ""),
        "first_name": getattr(user, "first_name", ""),
        "last_name": getattr(user, "last_name", ""),
        "active": user.is_active,
        "date_joined": getattr(user, "date_joined", None),
        "last_login": user.last_login,
        "created_by_a_payment": guest is not None,
        "password_set_at": guest.activated_at if guest else None,
    }


def _order(order, records):
    shared = {
        "id": order.pk,
        "number": order.number,
        "offer": order.offer.title,
        "amount": order.amount,
        "currency": order.currency,
        "status": order.status,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
    }
    if order.pk not in records.own_order_ids:
        return {
            **shared,
            "relation": "mentions the address",
            "mentions": records.mentions[order.pk],
        }
    return {
        **shared,
        "relation": "own",
        "email": order.email,
        "placeholder_email": order.email_is_placeholder,
        "account": order.user_id,
        "paid_while_logged_in": order.paid_as_user,
        "bought_twice": order.bought_twice,
        "needs_attention": order.attention,
        "attention_note": order.attention_note,
        "language": order.language,
        "site": order.site.hostname if order.site else "",
        "receipt": _receipt(order),
    }


def _receipt(order):
    try:
        receipt = order.receipt
    except ObjectDoesNotExist:
        return None
    return {"number": receipt.number, "issued_at": receipt.issued_at}


def _payment(payment, *, own):
    shared = {
        "order": payment.order.number,
        "reference": payment.reference,
        "payment_system": payment.account.kind,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "payer_email": payment.payer_email,
        "created_at": payment.created_at,
    }
    if not own:  # the payer typed the address; the rest is the order's buyer's
        return shared
    return {
        **shared,
        "provider_reference": payment.provider_reference,
        "payer_name": payment.payer_name,
        "detail": payment.detail,
        "processed_at": payment.processed_at,
    }


def _refund(refund):
    return {
        "order": refund.order.number,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "reason": refund.reason,
        "refund_id_at_the_payment_system": refund.provider_refund_id,
        "created_at": refund.created_at,
    }


def _coupon_use(use):
    return {
        "coupon": use.coupon.code,
        "order": use.order.number,
        "email": use.email,
        "status": use.status,
        "full_price": use.full_price,
        "discount": use.discount,
        "created_at": use.created_at,
    }


def _grant(grant):
    return {
        "product": grant.product.title,
        "product_id": grant.product_id,
        "account": grant.user_id,
        "order": grant.order.number if grant.order_id else None,
        "source": grant.source,
        "granted_at": grant.granted_at,
        "revoked_at": grant.revoked_at,
        "note": grant.note,
    }


def _email(outbound):
    return {
        "kind": outbound.kind,
        "to": outbound.to_email,
        "order": outbound.order.number if outbound.order_id else None,
        "data": {key: value for key, value in outbound.data.items() if key != SEALED},
        "language": outbound.language,
        "queued_at": outbound.created_at,
        "sent_at": outbound.sent_at,
    }


def _claim(claim):
    return {
        "order": claim.order.number,
        "kind": claim.kind,
        "email": claim.email,
        "status": claim.status,
        "created_at": claim.created_at,
        "confirmed_at": claim.used_at,
    }


def _registration(registration):
    return {
        "offer": registration.offer.title,
        "email": registration.email,
        "registration_fields": registration.registration_data,
        "status": registration.status,
        "language": registration.language,
        "created_at": registration.created_at,
        "expires_at": registration.expires_at,
        "account_created_at": registration.used_at,
    }


def _signin_code(code):
    return {
        "account": code.user_id,
        "purpose": code.purpose,
        "email": code.email,
        "status": code.status,
        "created_at": code.created_at,
        "expires_at": code.expires_at,
        "used_at": code.used_at,
    }


def _access_link(link):
    return {
        "account": link.user_id,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "used_at": link.used_at,
    }


def _events(records):
    """The notifications of the address's own payments and those no payment was found for
    (body included); of someone else's orders, only those that name the address, without
    their body."""
    own_orders = records.own_order_ids
    found = []
    for event in records.events():
        order_id = event.payment.order_id if event.payment_id else None
        if order_id is None or order_id in own_orders:
            found.append(_event(event, full=True))
        elif contains([event.body, event.data], records.email):
            found.append(_event(event, full=False))
    return found


def _event(event, *, full):
    shared = {
        "payment": event.payment.reference if event.payment_id else None,
        "source": event.source,
        "type": event.event_type,
        "received_at": event.received_at,
        "outcome": event.outcome,
    }
    if not full:
        return shared
    return {
        **shared,
        "event_id": event.provider_event_id,
        "signature_valid": event.signature_valid,
        "facts": event.data,
        # The secret order links a payment system echoes (Stripe's success_url) are cut, as
        # staff see them: the file travels by e-mail.
        "body": redact(event.body),
        "body_removed_at": event.purged_at,
    }


def _log_entry(entry):
    data = {key: value for key, value in (entry.data or {}).items() if key != "form"}
    return {
        "action": entry.action,
        "object": entry.label,
        "at": entry.timestamp,
        "by_staff": entry.user_id is not None,
        "data": data,
    }

"""Erasing what the package holds about an e-mail address (a buyer's right to erasure, GDPR
article 17), in one transaction:

1. find the address's records (:mod:`.records`), its contact's row locked;
2. its contact: a new address that is no one's (``erased-<random>@erased.invalid``), no name,
   no registration fields, addresses cut from the note, ``erased_at`` set. The contact of a
   mistyped address its orders were corrected from loses the payer's name, not its address
   (which may be someone else's);
3. its own orders, their payments, refunds, coupon uses, e-mails, claims: every address and
   name replaced;
   amounts, currencies, dates, statuses, order numbers, references and the payment systems' ids
   stay for the bookkeeping. Orders that only mention the address lose the address, nothing
   else: they belong to someone else now;
4. the raw notifications about them: body and headers replaced, as the retention period does
   (:mod:`.retention`), and the payer's e-mail and name cut from their facts;
5. registrations, sign-in codes and pending claims of the address: the address and the
   registration fields replaced, what was pending cancelled;
6. the accounts of the address: those a payment created are anonymised and deactivated, their
   access revoked and their links spent (``GuestPayAdapter.erase_account``); the site's own
   accounts are left as they are and reported, for the site to handle;
7. what is left elsewhere (:mod:`.leftovers`): Wagtail's audit-log entries, sessions,
   django-q2's tasks that name the address, and any e-mail field of the package's models the
   steps above do not know (a model added later);
8. ``buyer_data_erased`` is sent (inside the transaction) for the site's own data;
9. the erasure is recorded in the audit log of the (erased) contact, with who did it, why, and
   what was changed, but not the address: a keyed hash of it (HMAC-SHA256 under SECRET_KEY), so
   that staff can check a given address against it without the log keeping it.

Erasing an address twice is fine: the second time nothing is found, nothing changes.
"""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import signals
from ..adapter import get_adapter
from ..email_kinds import SEALED
from ..fulfilment.access import revoke_access
from ..models import (
    AccessGrant,
    AccessLink,
    Contact,
    EmailClaim,
    GuestAccount,
    Order,
    OutboundEmail,
    Payment,
    PaymentEvent,
    PendingRegistration,
    Redemption,
    Refund,
    SignInCode,
)
from .leftovers import drop_tasks, end_sessions, replace_in_email_fields, scrub_log_entries
from .records import clean_address, find, mentions
from .retention import purged_fields
from .scrub import contains, erased_address, replace_address, strip_addresses

logger = logging.getLogger(__name__)

ACTION_ERASED = "wagtail_guestpay.buyer_data_erased"
ACTION_EXPORTED = "wagtail_guestpay.buyer_data_exported"
HASH_SALT = "wagtail_guestpay.privacy.address"
NOT_SENT = "Not sent: the buyer's data was erased."


def address_hash(email):
    """A keyed hash of the address: what the audit log keeps instead of it."""
    return salted_hmac(HASH_SALT, clean_address(email), algorithm="sha256").hexdigest()


@dataclass
class Erasure:
    address_hash: str
    counts: dict = field(default_factory=dict)
    anonymised_accounts: list = field(default_factory=list)
    kept_accounts: list = field(default_factory=list)

    @property
    def found(self):
        return any(self.counts.values()) or bool(self.kept_accounts)


def erase_buyer_data(email, *, reason, by=None, via="command"):
    """Erase what the package holds about ``email`` (see the module's docstring); returns an
    :class:`Erasure`. ``reason`` is required (the address is cut from it)."""
    email = clean_address(email)
    if not email:
        raise ValidationError(_("Enter an e-mail address."))
    reason = strip_addresses(replace_address((reason or "").strip(), email))
    if not reason:
        raise ValidationError(_("Say why you do this."))
    with transaction.atomic():
        records = find(email, lock=True)
        result = Erasure(address_hash=address_hash(email))
        counts = result.counts
        replacement = erased_address()
        now = timezone.now()
        counts["contacts"] = _erase_contacts(records.contacts, replacement, now)
        counts["former_contact_names"] = records.former_contacts().exclude(name="").update(name="")
        counts["orders"] = _erase_orders(records, replacement)
        counts["payments"] = _erase_payments(records, replacement)
        counts["notifications"] = _erase_events(records, now)
        counts["refunds"] = _erase_refunds(records)
        counts["coupon_uses"] = _erase_coupon_uses(records)
        counts["emails"] = _erase_emails(records, replacement)
        counts["claims"] = _erase_claims(records, replacement)
        counts["registrations"] = _erase_registrations(records, replacement)
        counts["signin_codes"] = _erase_signin_codes(records, replacement)
        _erase_accounts(records, result, now)
        counts["accounts"] = len(result.anonymised_accounts)
        counts["access_grant_notes"] = _erase_grant_notes(records)
        own = [*records.contacts, *Order.objects.filter(pk__in=records.own_order_ids)]
        counts["audit_log_entries"] = scrub_log_entries(email, own)
        counts["sessions"] = end_sessions(email, result.anonymised_accounts)
        counts["tasks"] = drop_tasks(email)
        counts["other_email_fields"] = replace_in_email_fields(email)
        signals.buyer_data_erased.send(
            sender=Contact,
            email=email,
            replacement=replacement,
            users=result.anonymised_accounts,
            kept_users=result.kept_accounts,
            order_ids=sorted(records.order_ids),
            payment_references=list(
                Payment.objects.filter(order_id__in=records.order_ids).values_list(
                    "reference", flat=True
                )
            ),
        )
        _audit(records, result, reason=reason, by=by, via=via)
    return result


# Steps ----------------------------------------------------------------------------------------
def _erase_contacts(contacts, replacement, now):
    for number, contact in enumerate(contacts):
        contact.email = replacement if number == 0 else erased_address()
        contact.name = ""
        contact.registration_data = {}
        contact.note = strip_addresses(contact.note)
        contact.erased_at = now
        contact.save()
    return len(contacts)


def _erase_orders(records, replacement):
    for order in Order.objects.filter(pk__in=records.own_order_ids).select_for_update(of=("self",)):
        Order.objects.filter(pk=order.pk).update(
            email=replacement,
            email_is_placeholder=False,
            attention_note=strip_addresses(order.attention_note),
        )
    for order in Order.objects.filter(pk__in=records.mentioning_order_ids).only("attention_note"):
        Order.objects.filter(pk=order.pk).update(
            attention_note=replace_address(order.attention_note, records.email)
        )
    return len(records.order_ids)


def _erase_payments(records, replacement):
    changed = 0
    for payment in Payment.objects.filter(order_id__in=records.order_ids).select_related(None):
        own = payment.order_id in records.own_order_ids
        if own:
            values = {
                "payer_email": replacement if payment.payer_email else "",
                "payer_name": "",
                "detail": strip_addresses(payment.detail),
                "provider_data": strip_addresses(payment.provider_data),
                "checkout_url": "",  # the hosted page may carry the address (a prefill)
            }
        else:
            values = {
                "payer_email": replace_address(payment.payer_email, records.email, replacement),
                "detail": replace_address(payment.detail, records.email),
                "provider_data": replace_address(payment.provider_data, records.email),
            }
        changed += Payment.objects.filter(pk=payment.pk).update(**values)
    return changed


def _erase_events(records, now):
    changed = 0
    own_payments = set(
        Payment.objects.filter(order_id__in=records.own_order_ids).values_list("pk", flat=True)
    )
    for event in records.events():
        own = event.payment_id in own_payments or event.payment_id is None
        values = {}
        if own or contains([event.body, event.headers], records.email):
            if event.purged_at is None or event.body or event.headers:
                values.update(purged_fields(event, now))
        data = values.get("data", event.data)
        values["data"] = strip_addresses(data) if own else replace_address(data, records.email)
        values["error"] = replace_address(event.error, records.email)
        changed += PaymentEvent.objects.filter(pk=event.pk).update(**values)
    return changed


def _erase_refunds(records):
    changed = 0
    for refund in Refund.objects.filter(order_id__in=records.order_ids):
        scrub = (
            strip_addresses
            if refund.order_id in records.own_order_ids
            else (lambda value: replace_address(value, records.email))
        )
        changed += Refund.objects.filter(pk=refund.pk).update(
            reason=scrub(refund.reason), detail=scrub(refund.detail)
        )
    return changed


def _erase_coupon_uses(records):
    """The address a coupon use was recorded under (coupons used once per e-mail) is replaced,
    one address per use (the once-per-e-mail constraint holds per coupon): the erased buyer's
    uses no longer count against a new use with the same address."""
    changed = 0
    for use in records.coupon_uses().exclude(email=""):
        changed += Redemption.objects.filter(pk=use.pk).update(email=erased_address())
    return changed


def _erase_emails(records, replacement):
    changed = 0
    for outbound in records.emails():
        data = {key: value for key, value in outbound.data.items() if key != SEALED}
        values = {"to_email": replacement, "data": strip_addresses(data)}
        if outbound.sent_at is None:
            values.update(next_attempt_at=None, last_error=NOT_SENT)
        changed += OutboundEmail.objects.filter(pk=outbound.pk).update(**values)
    # Others that name the address (a staff notice about the order...): the address goes.
    others = (
        OutboundEmail.objects.exclude(pk__in=records.emails().values("pk"))
        .annotate(data_text=Cast("data", TextField()))
        .filter(mentions("data_text", records.email) | mentions("last_error", records.email))
    )
    for outbound in others:
        changed += OutboundEmail.objects.filter(pk=outbound.pk).update(
            data=replace_address(outbound.data, records.email),
            last_error=replace_address(outbound.last_error, records.email),
        )
    return changed


def _erase_claims(records, replacement):
    changed = 0
    for claim in records.claims():
        values = {"email": replacement}
        if claim.status == EmailClaim.Status.PENDING:
            values["status"] = EmailClaim.Status.CANCELLED
        changed += EmailClaim.objects.filter(pk=claim.pk).update(**values)
    return changed


def _erase_registrations(records, replacement):
    Status = PendingRegistration.Status
    registrations = records.registrations()
    registrations.filter(status=Status.PENDING).update(status=Status.CANCELLED)
    return registrations.update(email=replacement, registration_data={}, password="")


def _erase_signin_codes(records, replacement):
    Status = SignInCode.Status
    codes = records.signin_codes()
    codes.filter(status=Status.PENDING).update(status=Status.REPLACED)
    return codes.update(email=replacement)


def _erase_accounts(records, result, now):
    adapter = get_adapter()
    created_by_payment = set(records.guest_accounts().values_list("user_id", flat=True))
    for user in records.accounts:
        if adapter.erase_account(
            user, created_by_payment=user.pk in created_by_payment, replacement=erased_address()
        ):
            result.anonymised_accounts.append(user.pk)
        else:
            result.kept_accounts.append(user.pk)
    if not result.anonymised_accounts:
        return
    AccessLink.objects.filter(user_id__in=result.anonymised_accounts, used_at__isnull=True).update(
        used_at=now
    )
    grants = AccessGrant.objects.active().filter(user_id__in=result.anonymised_accounts)
    for grant in grants.select_for_update():
        revoke_access(grant, note="buyer data erased")
    GuestAccount.objects.filter(user_id__in=result.anonymised_accounts).update(retired_at=now)


def _erase_grant_notes(records):
    changed = 0
    own_accounts = set(records.account_ids)
    for grant in AccessGrant.objects.filter(
        Q(user_id__in=records.account_ids) | Q(order_id__in=records.order_ids)
    ).exclude(note=""):
        own = grant.user_id in own_accounts or grant.order_id in records.own_order_ids
        note = strip_addresses(grant.note) if own else replace_address(grant.note, records.email)
        if note != grant.note:
            changed += AccessGrant.objects.filter(pk=grant.pk).update(note=note)
    return changed


def _audit(records, result, *, reason, by, via):
    data = {
        "address_hash": result.address_hash,
        "reason": reason,
        "via": via,
        "counts": result.counts,
        "kept_accounts": result.kept_accounts,
    }
    targets = records.contacts or list(Order.objects.filter(pk__in=records.own_order_ids)[:1])
    for target in targets:
        log(target, ACTION_ERASED, user=by, data=data)
    logger.info(
        "Buyer data erased (address hash %s, via %s): %s", result.address_hash, via, result.counts
    )


def log_export(records, *, by=None, via="command"):
    """Record an export in the audit log of the address's contacts (with a hash, not the
    address)."""
    data = {"address_hash": address_hash(records.email), "via": via}
    for contact in records.contacts:
        log(contact, ACTION_EXPORTED, user=by, data=data)

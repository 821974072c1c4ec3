"""Staff fixes: what a member of staff does to an order, a payment or someone's access.

Each fix runs in one transaction that first locks the order (when there is one), checks the
current state and does nothing when the state says it was already done: a form submitted twice
changes things once. ``form`` is the one-time token of the submitted form; it goes into the
audit log and into the de-duplication key of any e-mail, so the same form never sends two.
Every fix is recorded in Wagtail's audit log with who did it and why (``reason``).

Correcting an order's e-mail and moving its access to another account are in
:mod:`wagtail_guestpay.buyers.corrections`, shared with the buyers' own claims; the two wrappers here
add the staff's state checks.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..buyers.corrections import UnusedAccount, correct_order_email, move_order_access
from ..emails import ACCESS, ACCESS_GRANTED, queue_email
from ..fulfilment.access import grant_access, revoke_access
from ..fulfilment.accounts import contact_for, find_or_create_user, is_placeholder, normalize_email
from ..fulfilment.confirmation import fulfil_order
from ..fulfilment.follow_up import OPEN_STATUSES, check_payment
from ..fulfilment.transitions import move_payment
from ..models import (
    AccessGrant,
    Attention,
    Contact,
    Order,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from ..providers.base import EventStatus, ProviderEvent

# A staff member may re-check a payment that is still open, and one the provider may yet report
# paid after we gave up on it.
RECHECKABLE = (*OPEN_STATUSES, PaymentStatus.FAILED, PaymentStatus.EXPIRED,
               PaymentStatus.CANCELLED)

ACTION_GRANTED = "wagtail_guestpay.access_granted"
ACTION_REVOKED = "wagtail_guestpay.access_revoked"
ACTION_RESENT = "wagtail_guestpay.access_email_resent"
ACTION_CHECKED = "wagtail_guestpay.payment_checked"
ACTION_HOLD_ACCEPTED = "wagtail_guestpay.hold_accepted"
ACTION_HOLD_REFUSED = "wagtail_guestpay.hold_refused"
ACTION_RESOLVED = "wagtail_guestpay.attention_resolved"
ACTION_EVENT_REVIEWED = "wagtail_guestpay.event_reviewed"


class NothingToDo(Exception):
    """The current state makes the fix pointless or impossible (e.g. it was just done); the
    message says why, for the member of staff."""


@dataclass
class Granted:
    user: object
    created: list = field(default_factory=list)  # the new AccessGrant rows
    existing: list = field(default_factory=list)  # products the account already had
    account_created: bool = False
    email_queued: bool = False


def _lock_order(order):
    """The order, locked (only its own row: PostgreSQL refuses FOR UPDATE on the nullable side
    of the joins, and locking the offer would serialise all its orders)."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("offer", "user", "contact")
        .get(pk=order.pk)
    )


def _email_of(user):
    return getattr(user, user.get_email_field_name(), "") or ""


def _dedupe(prefix, form):
    return f"{prefix}:{form}" if form else None


def contact_of(user):
    """The CRM contact of an account: the one linked to it, else the one of its e-mail (linked
    now, created if needed); None for an account without a usable e-mail."""
    contact = Contact.objects.filter(user=user).order_by("pk").first()
    if contact is not None:
        return contact
    email = normalize_email(_email_of(user))
    if not email or is_placeholder(email):
        return None
    contact = contact_for(email, source=Contact.Source.STAFF)
    if contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user", "updated_at"])
    return contact


# Access --------------------------------------------------------------------------------------
def _sort(result, grant, created, product):
    if created:
        result.created.append(grant)
    else:
        result.existing.append(product)


def grant_manually(products, *, by, reason, email="", user=None, form=""):
    """Grant ``products`` (pages) to ``user``, or to the account of ``email`` (found, or created
    with no password). Sends the account an e-mail listing the new access, with a link to set its
    password if it is new. Products it already holds are left as they are."""
    if not products:
        raise ValidationError(_("Choose at least one product."))
    with transaction.atomic():
        account_created = False
        if user is None:
            email = normalize_email(email)
            if not email or is_placeholder(email):
                raise ValidationError(_("Enter a real e-mail address."))
            contact = contact_for(email, source=Contact.Source.STAFF)  # locks the e-mail
            buyer = find_or_create_user(email)
            user, account_created = buyer.user, buyer.created
            if contact.user_id is None:
                contact.user = user
                contact.save(update_fields=["user", "updated_at"])
        else:
            contact = contact_of(user)
        if not user.is_active:
            raise NothingToDo(_("This account is deactivated: reactivate it first."))
        result = Granted(user=user, account_created=account_created)
        for product in products:
            grant, created = grant_access(user, product, source=AccessGrant.Source.STAFF,
                                          granted_by=by, note=reason)
            _sort(result, grant, created, product)
        if not result.created:
            raise NothingToDo(_("The account already has access to all of these products."))
        result.email_queued = bool(queue_email(
            ACCESS_GRANTED, _email_of(user), user=user,
            dedupe_key=_dedupe(f"staff-grant:{user.pk}", form),
            data={"products": [grant.product_id for grant in result.created]},
        ))
        log(contact or result.created[0], ACTION_GRANTED, user=by, data={
            "account": user.pk, "email": _email_of(user), "account_created": account_created,
            "products": [grant.product_id for grant in result.created],
            "product_titles": [grant.product.title for grant in result.created],
            "reason": reason, "form": form,
        })
    return result


def grant_order_access(order, *, by, reason, form=""):
    """Grant an order's products to the order's account (e.g. a paid order that never got its
    access) and send the access e-mail again."""
    with transaction.atomic():
        order = _lock_order(order)
        user = order.user
        if user is None or order.email_is_placeholder:
            raise NothingToDo(_("The order has no buyer account yet: correct its e-mail first."))
        if not user.is_active:
            raise NothingToDo(_("The buyer's account is deactivated: reactivate it first."))
        result = Granted(user=user)
        for product in order.offer.get_products():
            grant, created = grant_access(user, product, source=AccessGrant.Source.STAFF,
                                          order=order, granted_by=by, note=reason)
            _sort(result, grant, created, product)
        if not result.created:
            raise NothingToDo(_("The order's access is already granted."))
        result.email_queued = bool(queue_email(
            ACCESS, _email_of(user), user=user, order=order,
            dedupe_key=_dedupe(f"order:{order.pk}:access:staff", form),
        ))
        log(order, ACTION_GRANTED, user=by, data={
            "account": user.pk, "email": _email_of(user),
            "products": [grant.product_id for grant in result.created],
            "product_titles": [grant.product.title for grant in result.created],
            "reason": reason, "form": form,
        })
    return result


def revoke_grant(grant, *, by, reason, form=""):
    """Revoke one grant. Logged on its order, else on the account's contact."""
    with transaction.atomic():
        if grant.order_id:
            Order.objects.select_for_update().filter(pk=grant.order_id).first()
        grant = AccessGrant.objects.select_related("user", "product", "order").get(pk=grant.pk)
        if not grant.is_active or not revoke_access(grant, revoked_by=by, note=reason):
            raise NothingToDo(_("This access was already revoked."))
        target = grant.order or contact_of(grant.user) or grant
        log(target, ACTION_REVOKED, user=by, data={
            "grants": [grant.pk], "account": grant.user_id, "email": _email_of(grant.user),
            "products": [grant.product_id], "product_titles": [grant.product.title],
            "reason": reason, "form": form,
        })
    return grant


def revoke_order(order, *, by, reason, form=""):
    """Revoke every active grant an order made; returns them."""
    with transaction.atomic():
        order = _lock_order(order)
        grants = list(order.grants.active().select_related("user", "product"))
        revoked = [grant for grant in grants if revoke_access(grant, revoked_by=by, note=reason)]
        if not revoked:
            raise NothingToDo(_("The order gives no access any more."))
        log(order, ACTION_REVOKED, user=by, data={
            "grants": [grant.pk for grant in revoked],
            "account": revoked[0].user_id, "email": _email_of(revoked[0].user),
            "products": [grant.product_id for grant in revoked],
            "product_titles": [grant.product.title for grant in revoked],
            "reason": reason, "form": form,
        })
    return revoked


# The order's buyer ---------------------------------------------------------------------------
def correct_email(order, new_email, *, by, reason, unused_account=UnusedAccount.KEEP, form=""):
    """Staff's e-mail correction (see :func:`~.corrections.correct_order_email`). Refused
    (ValidationError, nothing changed) when the address's account is deactivated."""
    email = normalize_email(new_email)
    with transaction.atomic():
        locked = _lock_order(order)
        if (email and locked.email == email and not locked.email_is_placeholder
                and locked.user is not None and _email_of(locked.user).lower() == email):
            raise NothingToDo(_("The order already uses this e-mail and its account."))
        correction = correct_order_email(locked, email or new_email, by=by, via="staff",
                                         reason=reason, unused_account=unused_account)
        if not correction.user.is_active:
            # The access would have left the order's account for one that cannot use it, and
            # the order the queue: undo it all (this transaction) and say why.
            raise ValidationError(_("The account of %(email)s is deactivated: reactivate it "
                                    "first, or correct to another address.") % {"email": email})
        return correction


def move_access(order, to_user, *, by, reason, form=""):
    """Staff's move of an order's access to another account (several accounts case)."""
    with transaction.atomic():
        locked = _lock_order(order)
        if locked.user_id == to_user.pk:
            raise NothingToDo(_("The order's access is already with this account."))
        if not to_user.is_active:
            raise NothingToDo(_("This account is deactivated: reactivate it first."))
        return move_order_access(locked, to_user, by=by, reason=reason)


def resend_access_email(order, *, by, reason, form=""):
    """A new access e-mail for a paid order (with a fresh set-password link for an account that
    was never used)."""
    with transaction.atomic():
        order = _lock_order(order)
        user = order.user
        if user is None or order.email_is_placeholder:
            raise NothingToDo(_("The order has no buyer account yet: correct its e-mail first."))
        if not order.grants.active().exists():
            raise NothingToDo(_("The order gives no access: grant it first."))
        to = _email_of(user)
        outbound = queue_email(ACCESS, to, user=user, order=order,
                               dedupe_key=_dedupe(f"order:{order.pk}:access:resend", form))
        if outbound is None:
            raise NothingToDo(_("This e-mail was already sent again."))
        log(order, ACTION_RESENT, user=by, data={"to": to, "reason": reason, "form": form})
    return outbound


# Payments ------------------------------------------------------------------------------------
def recheck_payment(payment, *, by, reason, form=""):
    """Ask the payment system now where ``payment`` stands and apply the answer; returns the
    payment, refreshed. Raises ProviderError when the payment system cannot be reached."""
    if payment.status not in RECHECKABLE:
        raise NothingToDo(_("This payment is settled: there is nothing to check."))
    if form and _logged_for_form(payment.order, ACTION_CHECKED, form):
        raise NothingToDo(_("This check was already done (the form was sent twice)."))
    before = payment.status
    outcome = check_payment(payment.pk, statuses=RECHECKABLE, raise_errors=True)
    payment.refresh_from_db()
    log(payment.order, ACTION_CHECKED, user=by, data={
        "payment": payment.reference, "from": before, "to": payment.status,
        "outcome": outcome or "", "reason": reason, "form": form,
    })
    return payment


def _logged_for_form(order, action, form):
    """True if the fix submitted with the one-time ``form`` token is already in ``order``'s
    history (a double submission)."""
    from wagtail.models import ModelLogEntry

    return ModelLogEntry.objects.for_instance(order).filter(
        action=action, data__form=form).exists()


def _held_payment(payment):
    order = _lock_order(payment.order)
    payment = Payment.objects.select_related("account").get(pk=payment.pk)
    payment.order = order
    if payment.status != PaymentStatus.ON_HOLD:
        raise NothingToDo(_("This payment is not held for review any more."))
    return order, payment


def _settle_mismatch(order, note):
    if order.attention == Attention.AMOUNT_MISMATCH:
        order.attention = ""
    order.attention_note = f"{order.attention_note}\n{note}".strip()
    order.save(update_fields=["attention", "attention_note", "updated_at"])


def _mismatch_event(payment):
    """What the provider said when the payment was held (its e-mail is the buyer's)."""
    stored = (
        payment.events.filter(outcome=PaymentEvent.Outcome.AMOUNT_MISMATCH)
        .order_by("-received_at", "-pk").first()
    )
    if stored is not None:
        return ProviderEvent.from_dict(stored.data.get("resolved") or stored.data)
    return ProviderEvent(event_id=f"staff:{payment.reference}", status=EventStatus.PAID,
                         reference=payment.reference, email=payment.payer_email)


def accept_held_payment(payment, *, by, reason, form=""):
    """Accept a payment held because its amount or currency did not match: it becomes paid and
    the order is fulfilled (account, access, e-mail) as if it had matched."""
    with transaction.atomic():
        order, payment = _held_payment(payment)
        if not move_payment(payment, PaymentStatus.PAID, reason=f"accepted by staff: {reason}",
                            user=by):
            raise NothingToDo(_("This payment is not held for review any more."))
        _settle_mismatch(order, f"Amount accepted by staff ({payment.reference}): {reason}")
        order.refresh_from_db(fields=["status", "paid_at"])
        fulfil_order(order, payment, _mismatch_event(payment))
        log(order, ACTION_HOLD_ACCEPTED, user=by, data={
            "payment": payment.reference, "reason": reason, "form": form,
        })
    return payment


def refuse_held_payment(payment, *, by, reason, form=""):
    """Refuse a held payment: it fails and gives no access. The money is refunded at the payment
    system, not here."""
    with transaction.atomic():
        order, payment = _held_payment(payment)
        if not move_payment(payment, PaymentStatus.FAILED, reason=f"refused by staff: {reason}",
                            user=by):
            raise NothingToDo(_("This payment is not held for review any more."))
        _settle_mismatch(order, f"Amount refused by staff ({payment.reference}): {reason}")
        log(order, ACTION_HOLD_REFUSED, user=by, data={
            "payment": payment.reference, "reason": reason, "form": form,
        })
    return payment


# The staff's queues --------------------------------------------------------------------------
def resolve_attention(order, *, expected, by, reason, form=""):
    """Take an order out of the "needs attention" queue once staff dealt with it elsewhere (e.g.
    a refund handled at the payment system)."""
    with transaction.atomic():
        order = _lock_order(order)
        if not order.attention or order.attention != expected:
            raise NothingToDo(_("This order no longer waits for this."))
        if (order.attention == Attention.AMOUNT_MISMATCH
                and order.payments.filter(status=PaymentStatus.ON_HOLD).exists()):
            raise NothingToDo(_("A payment is still held: accept or refuse it instead."))
        previous = order.attention
        order.attention = ""
        order.attention_note = (
            f"{order.attention_note}\nResolved by staff ({timezone.now():%Y-%m-%d}): {reason}"
        ).strip()
        order.save(update_fields=["attention", "attention_note", "updated_at"])
        log(order, ACTION_RESOLVED, user=by, data={
            "attention": previous, "reason": reason, "form": form,
        })
    return order


def event_reviewed():
    """An expression for PaymentEvent querysets: staff marked the event as reviewed (an audit
    log entry says so)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    return Exists(ModelLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(PaymentEvent),
        action=ACTION_EVENT_REVIEWED,
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
    ))


def mark_event_reviewed(event, *, by, reason, form=""):
    """Take an unknown-payment or failed notification out of the staff's queue."""
    with transaction.atomic():
        event = PaymentEvent.objects.select_for_update().get(pk=event.pk)
        if PaymentEvent.objects.filter(pk=event.pk).filter(event_reviewed()).exists():
            raise NothingToDo(_("This notification was already reviewed."))
        log(event, ACTION_EVENT_REVIEWED, user=by, data={
            "outcome": event.outcome, "reason": reason, "form": form,
        })
    return event


__all__ = [
    "NothingToDo",
    "OPEN_STATUSES",
    "RECHECKABLE",
    "UnusedAccount",
    "accept_held_payment",
    "correct_email",
    "event_reviewed",
    "grant_manually",
    "grant_order_access",
    "mark_event_reviewed",
    "move_access",
    "recheck_payment",
    "refuse_held_payment",
    "resend_access_email",
    "resolve_attention",
    "revoke_grant",
    "revoke_order",
]

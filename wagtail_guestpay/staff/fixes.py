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
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..buyers.corrections import UnusedAccount, correct_order_email, move_order_access
from ..emails import ACCESS, ACCESS_GRANTED, queue_email
from ..fulfilment.access import grant_access, revoke_access
from ..fulfilment.accounts import contact_for, find_or_create_user, is_placeholder, normalize_email
from ..fulfilment.follow_up import OPEN_STATUSES
from ..models import AccessGrant, Contact, Order
from .common import (
    ACTION_GRANTED,
    ACTION_RESENT,
    ACTION_REVOKED,
    RECHECKABLE,
    NothingToDo,
    _dedupe,
    _email_of,
    _lock_order,
    contact_of,
)
from .payments import (
    accept_held_payment,
    event_reviewed,
    mark_event_reviewed,
    recheck_payment,
    refuse_held_payment,
    resolve_attention,
)

# The fixes of payments and of the staff's queues live in payments.py, what all fixes share in
# common.py; this module is the one to import (``from wagtail_guestpay.staff import fixes``).


@dataclass
class Granted:
    user: object
    created: list = field(default_factory=list)  # the new AccessGrant rows
    existing: list = field(default_factory=list)  # products the account already had
    account_created: bool = False
    email_queued: bool = False


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
            grant, created = grant_access(
                user, product, source=AccessGrant.Source.STAFF, granted_by=by, note=reason
            )
            _sort(result, grant, created, product)
        if not result.created:
            raise NothingToDo(_("The account already has access to all of these products."))
        result.email_queued = bool(
            queue_email(
                ACCESS_GRANTED,
                _email_of(user),
                user=user,
                dedupe_key=_dedupe(f"staff-grant:{user.pk}", form),
                data={"products": [grant.product_id for grant in result.created]},
            )
        )
        log(
            contact or result.created[0],
            ACTION_GRANTED,
            user=by,
            data={
                "account": user.pk,
                "email": _email_of(user),
                "account_created": account_created,
                "products": [grant.product_id for grant in result.created],
                "product_titles": [grant.product.title for grant in result.created],
                "reason": reason,
                "form": form,
            },
        )
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
            grant, created = grant_access(
                user,
                product,
                source=AccessGrant.Source.STAFF,
                order=order,
                granted_by=by,
                note=reason,
            )
            _sort(result, grant, created, product)
        if not result.created:
            raise NothingToDo(_("The order's access is already granted."))
        result.email_queued = bool(
            queue_email(
                ACCESS,
                _email_of(user),
                user=user,
                order=order,
                dedupe_key=_dedupe(f"order:{order.pk}:access:staff", form),
            )
        )
        log(
            order,
            ACTION_GRANTED,
            user=by,
            data={
                "account": user.pk,
                "email": _email_of(user),
                "products": [grant.product_id for grant in result.created],
                "product_titles": [grant.product.title for grant in result.created],
                "reason": reason,
                "form": form,
            },
        )
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
        log(
            target,
            ACTION_REVOKED,
            user=by,
            data={
                "grants": [grant.pk],
                "account": grant.user_id,
                "email": _email_of(grant.user),
                "products": [grant.product_id],
                "product_titles": [grant.product.title],
                "reason": reason,
                "form": form,
            },
        )
    return grant


def revoke_order(order, *, by, reason, form=""):
    """Revoke every active grant an order made; returns them."""
    with transaction.atomic():
        order = _lock_order(order)
        grants = list(order.grants.active().select_related("user", "product"))
        revoked = [grant for grant in grants if revoke_access(grant, revoked_by=by, note=reason)]
        if not revoked:
            raise NothingToDo(_("The order gives no access any more."))
        log(
            order,
            ACTION_REVOKED,
            user=by,
            data={
                "grants": [grant.pk for grant in revoked],
                "account": revoked[0].user_id,
                "email": _email_of(revoked[0].user),
                "products": [grant.product_id for grant in revoked],
                "product_titles": [grant.product.title for grant in revoked],
                "reason": reason,
                "form": form,
            },
        )
    return revoked


# The order's buyer ---------------------------------------------------------------------------
def correct_email(order, new_email, *, by, reason, unused_account=UnusedAccount.KEEP, form=""):
    """Staff's e-mail correction (see :func:`~.corrections.correct_order_email`). Refused
    (ValidationError, nothing changed) when the address's account is deactivated."""
    email = normalize_email(new_email)
    with transaction.atomic():
        locked = _lock_order(order)
        if (
            email
            and locked.email == email
            and not locked.email_is_placeholder
            and locked.user is not None
            and _email_of(locked.user).lower() == email
        ):
            raise NothingToDo(_("The order already uses this e-mail and its account."))
        correction = correct_order_email(
            locked,
            email or new_email,
            by=by,
            via="staff",
            reason=reason,
            unused_account=unused_account,
        )
        if not correction.user.is_active:
            # The access would have left the order's account for one that cannot use it, and
            # the order the queue: undo it all (this transaction) and say why.
            raise ValidationError(
                _(
                    "The account of %(email)s is deactivated: reactivate it "
                    "first, or correct to another address."
                )
                % {"email": email}
            )
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
        outbound = queue_email(
            ACCESS,
            to,
            user=user,
            order=order,
            dedupe_key=_dedupe(f"order:{order.pk}:access:resend", form),
        )
        if outbound is None:
            raise NothingToDo(_("This e-mail was already sent again."))
        log(order, ACTION_RESENT, user=by, data={"to": to, "reason": reason, "form": form})
    return outbound


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

"""Corrections of an order after the fact: the right e-mail, the right account.

Staff (in the admin) and buyers (claiming from the success page) both end up here, so that an
order's access moves the same way whoever moves it: in one transaction holding the order's lock,
recorded in Wagtail's audit log, with the access e-mail going to the new address only.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..emails import ACCESS, queue_email
from ..fulfilment.access import grant_access
from ..fulfilment.accounts import (
    BuyerAccount,
    contact_for,
    find_or_create_user,
    is_placeholder,
    normalize_email,
)
from ..models import AccessGrant, AccessLink, Attention, Contact, GuestAccount, Order, OrderStatus

# Attention reasons that a corrected e-mail or account settles.
SETTLED_BY_CORRECTION = {
    Attention.PLACEHOLDER_EMAIL,
    Attention.SEVERAL_ACCOUNTS,
    Attention.INACTIVE_ACCOUNT,
}


class UnusedAccount:
    """What to do with the account the order pointed to, when a payment created it and nobody
    ever used it."""

    KEEP = "keep"
    DEACTIVATE = "deactivate"
    DELETE = "delete"


@dataclass
class Correction:
    order: Order
    user: object
    account_created: bool
    previous_user_id: int | None
    previous_account: str  # "kept", "deactivated", "deleted" or "" when there was none


def correct_order_email(
    order, new_email, *, by=None, via="staff", reason="", unused_account=UnusedAccount.KEEP
):
    """Point ``order`` at ``new_email``: its contact, its account (found or created), its access
    (moved from the old account) and a fresh access e-mail to the new address.

    ``via`` is recorded in the audit log ("staff" or "claim"). Raises ValidationError for an
    address that is invalid or a placeholder.
    """
    email = normalize_email(new_email)
    if not email or is_placeholder(email):
        raise ValidationError(_("Enter a real e-mail address."))
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("offer", "user", "contact")
            .get(pk=order.pk)
        )
        previous_email, previous_user, previous_contact = order.email, order.user, order.contact
        contact = contact_for(
            email, source=Contact.Source.CLAIM if via == "claim" else Contact.Source.STAFF
        )
        buyer = find_or_create_user(email)
        contact.user = contact.user or buyer.user
        contact.save(update_fields=["user", "updated_at"])

        order.email = email
        order.email_is_placeholder = False
        order.contact = contact
        order.user = buyer.user
        order.paid_as_user = False
        if order.attention in SETTLED_BY_CORRECTION:
            order.attention = ""
        order.attention_note = (
            f"{order.attention_note}\n"
            f"E-mail corrected ({via}): {previous_email or '-'} -> {email}. {reason}".strip()
        )
        order.save()

        _move_grants(order, previous_user, buyer.user, by=by, note=f"e-mail corrected ({via})")
        if order.status == OrderStatus.PAID and buyer.user.is_active:
            _grant_order(order, buyer.user, by=by)
            _queue_access_email(order, buyer.user)

        previous_account = ""
        if previous_user is not None and previous_user.pk != buyer.user.pk:
            previous_account = _retire_unused_account(previous_user, unused_account)
        if (
            previous_contact is not None
            and previous_contact.is_placeholder
            and previous_contact.pk != contact.pk
            and not previous_contact.orders.exclude(pk=order.pk).exists()
        ):
            previous_contact.delete()

        log(
            order,
            "wagtail_guestpay.email_corrected",
            user=by,
            data={
                "from": previous_email,
                "to": email,
                "via": via,
                "reason": reason,
                "previous_account": previous_user.pk if previous_user else None,
                "account": buyer.user.pk,
                "previous_account_action": previous_account,
            },
        )
    return Correction(
        order=order,
        user=buyer.user,
        account_created=buyer.created,
        previous_user_id=previous_user.pk if previous_user else None,
        previous_account=previous_account,
    )


def move_order_access(order, to_user, *, by=None, reason=""):
    """Give an order's access to another account (a buyer with several accounts)."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("offer", "user")
            .get(pk=order.pk)
        )
        previous_user = order.user
        if previous_user is not None and previous_user.pk == to_user.pk:
            return order
        _move_grants(order, previous_user, to_user, by=by, note="moved to another account")
        previous_email = order.email
        order.user = to_user
        order.paid_as_user = False
        # The order's buyer e-mail is where its access and e-mails go: the new account's address
        # (and its contact). What the payment system returned stays on the payment, and the old
        # address in the audit log below.
        new_email = normalize_email(getattr(to_user, to_user.get_email_field_name(), ""))
        if new_email and new_email != order.email:
            order.email = new_email
            order.email_is_placeholder = False
            order.contact = contact_for(new_email, source=Contact.Source.STAFF)
            if order.contact.user_id is None:
                order.contact.user = to_user
                order.contact.save(update_fields=["user", "updated_at"])
        if order.attention in SETTLED_BY_CORRECTION:
            order.attention = ""
        order.save(
            update_fields=[
                "user",
                "paid_as_user",
                "email",
                "email_is_placeholder",
                "contact",
                "attention",
                "updated_at",
            ]
        )
        if order.status == OrderStatus.PAID:
            _grant_order(order, to_user, by=by)
            _queue_access_email(order, to_user)
        log(
            order,
            "wagtail_guestpay.access_moved",
            user=by,
            data={
                "from": previous_user.pk if previous_user else None,
                "to": to_user.pk,
                "from_email": previous_email,
                "to_email": order.email,
                "reason": reason,
            },
        )
    return order


def _move_grants(order, previous_user, new_user, *, by, note):
    if previous_user is None or previous_user.pk == new_user.pk:
        return
    from ..fulfilment.access import revoke_access

    for grant in order.grants.active().filter(user=previous_user).select_for_update():
        revoke_access(grant, revoked_by=by, note=note)


def _grant_order(order, user, *, by):
    for product in order.offer.get_products():
        grant_access(user, product, source=AccessGrant.Source.ORDER, order=order, granted_by=by)


def _queue_access_email(order, user):
    """A fresh access e-mail for the order's new account (the first one went elsewhere)."""
    sequence = order.emails.filter(kind=ACCESS).count() + 1
    email = getattr(user, user.get_email_field_name(), "")
    return queue_email(
        ACCESS, email, user=user, order=order, dedupe_key=f"order:{order.pk}:access:{sequence}"
    )


def _retire_unused_account(user, action):
    """Deactivate or delete an account a payment created, if nobody ever used it and nothing
    else points to it; returns what was done."""
    if action == UnusedAccount.KEEP:
        return "kept"
    guest = GuestAccount.objects.filter(user=user).first()
    unused = bool(guest and BuyerAccount(user=user, created=False).is_new)
    still_used = (
        AccessGrant.objects.active().filter(user=user).exists()
        or Order.objects.filter(user=user).exists()
    )
    if not unused or still_used:
        return "kept"
    AccessLink.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    if action == UnusedAccount.DELETE:
        user.delete()
        return "deleted"
    user.is_active = False
    user.save(update_fields=["is_active"])
    guest.retired_at = timezone.now()
    guest.save(update_fields=["retired_at"])
    return "deactivated"

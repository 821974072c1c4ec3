"""Buyers' accounts and contacts: e-mail normalization, placeholders, find-or-create."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import F, Q
from django.utils import timezone

from ..adapter import get_adapter
from ..conf import guestpay_settings
from ..models import Contact, GuestAccount
from .storing import insert_one


def normalize_email(email):
    """Trimmed and lower-cased; '' for anything that is not a valid address."""
    email = (email or "").strip().lower()
    if not email or len(email) > 254:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    if not _delivered_as_written(email):
        return ""
    return email


def _delivered_as_written(email):
    """False for an address that the mail goes to under another name: Django unquotes a quoted
    local part ('"ann"@example.com' goes to ann@example.com) and sends to the IDNA 2003 form of
    the domain, which drops zero-width characters and soft hyphens, maps "ß" to "ss" and
    full-width letters to ASCII. Such an address would reach another address's mailbox while
    being kept, and looked up, as a different string."""
    local, _at, domain = email.rpartition("@")
    if local.startswith('"'):
        return False
    if domain.isascii():
        return True
    try:
        return domain.encode("idna").decode("idna") == domain
    except UnicodeError:
        return False


def placeholder_domain():
    return guestpay_settings.PLACEHOLDER_EMAIL_DOMAIN.strip().lower()


def make_placeholder_email():
    return f"{secrets.token_hex(8)}@{placeholder_domain()}"


def is_placeholder(email):
    return (email or "").lower().endswith("@" + placeholder_domain())


def contact_for(email, *, source, is_placeholder=False, name=""):
    """The Contact for ``email``, created if needed, locked for the current transaction.
    ``name`` (the payer's name the payment system returned) fills a contact that has none."""
    contact = Contact.objects.select_for_update().filter(email=email).first()
    if contact is None:
        contact = Contact(email=email, source=source, is_placeholder=is_placeholder)
        if not insert_one(Contact, contact):  # made by a concurrent transaction meanwhile
            contact = Contact.objects.select_for_update().get(email=email)
    name = " ".join((name or "").split())[:255]
    if name and not contact.name:
        contact.name = name
        contact.save(update_fields=["name", "updated_at"])
    return contact


def add_registration_data(contact, data, user=None):
    """Keep what the buyer typed in the registration fields on their contact (saved). The name
    they gave (``adapter.contact_name``) replaces the payment system's: it is their own."""
    contact.registration_data = {**contact.registration_data, **data}
    contact.user = contact.user or user
    name = " ".join(get_adapter().contact_name(data).split())[:255]
    if name:
        contact.name = name
    contact.save()


@dataclass
class BuyerAccount:
    user: object
    created: bool = False
    several: bool = False  # several active accounts share the e-mail

    @property
    def is_new(self):
        """Created by a payment and never used: its owner may set a password from a link."""
        if self.created:
            return True
        guest = GuestAccount.objects.filter(user=self.user).first()
        if guest is None:
            return False
        guest.user = self.user
        return guest.is_unused


def users_with_email(email):
    User = get_user_model()
    field = User.get_email_field_name()
    return User._default_manager.filter(**{f"{field}__iexact": email})


def _retired_unused():
    """Accounts an e-mail correction retired (created for someone else's typo) and nobody used:
    :attr:`GuestAccount.is_unused`, in SQL."""
    return Q(
        is_active=False,
        guestpay_account__retired_at__isnull=False,
        guestpay_account__activated_at__isnull=True,
        last_login__isnull=True,
        password__startswith=UNUSABLE_PASSWORD_PREFIX,
    )


def accounts_holding(email):
    """The accounts that hold ``email``: every account with it but a retired, unused one (the
    address is free)."""
    return users_with_email(email).exclude(_retired_unused())


def take_back_retired(email, *, password=None):
    """Reactivate the retired, unused account of ``email`` for the address's owner; with
    ``password`` (a hash) it becomes a registered account. Returns the user, or None when there
    is none. Call it while holding the e-mail's Contact lock."""
    user = users_with_email(email).filter(_retired_unused()).order_by("pk").first()
    if user is None:
        return None
    user.is_active = True
    fields = ["is_active"]
    if password is not None:
        user.password = password
        fields.append("password")
    user.save(update_fields=fields)
    GuestAccount.objects.filter(user=user).update(
        retired_at=None, activated_at=timezone.now() if password is not None else None
    )
    return user


def find_or_create_user(email):
    """The account for a normalized e-mail: the only one, the most recently used of several, or a
    new one with no usable password. Call it while holding the e-mail's Contact lock."""
    candidates = list(
        users_with_email(email).order_by("-is_active", F("last_login").desc(nulls_last=True), "pk")
    )
    if candidates:
        active = [user for user in candidates if user.is_active]
        if not active:
            retired = take_back_retired(email)
            if retired is not None:
                return BuyerAccount(user=retired)  # never used: is_new, gets a set-password link
        return BuyerAccount(user=candidates[0], several=len(active) > 1)
    user = get_adapter().create_user(email)
    GuestAccount.objects.create(user=user)
    return BuyerAccount(user=user, created=True)

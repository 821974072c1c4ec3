"""The adapter: what a host site overrides to change accounts, URLs and e-mails.

Subclass :class:`GuestPayAdapter` and point ``WAGTAIL_GUESTPAY_ADAPTER`` at it.
"""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.shortcuts import resolve_url
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import get_random_string
from django.utils.http import urlencode
from django.utils.module_loading import import_string

from .conf import guestpay_settings


class GuestPayAdapter:
    # Accounts -------------------------------------------------------------------------------
    def create_user(self, email):
        """Create the account of a buyer who paid without one. It has no usable password until
        its owner sets one from the access e-mail."""
        User = get_user_model()
        fields = {User.get_email_field_name(): email}
        if User.USERNAME_FIELD != User.get_email_field_name():
            fields[User.USERNAME_FIELD] = self.make_username(email)
        user = User(**fields)
        user.set_unusable_password()
        user.save()
        return user

    def make_username(self, email):
        User = get_user_model()
        max_length = User._meta.get_field(User.USERNAME_FIELD).max_length or 150
        # The address itself, where the username rules allow it: easy for staff to recognise.
        base = re.sub(r"[^\w.@+-]", "-", email)[: max_length - 7] or "buyer"
        username = base
        while User._default_manager.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).exists():
            username = f"{base}-{get_random_string(6, 'abcdefghijkmnpqrstuvwxyz23456789')}"
        return username

    def erase_account(self, user, *, created_by_payment, replacement):
        """A buyer-data erasure reached ``user``, an account of the erased address; return True
        if it was anonymised. By default only an account a payment created (the package's own)
        is: deactivated, without a usable password, its e-mail ``replacement`` (an address
        that is no one's), its username and names replaced. An account the site created is the
        site's: left as it is (False), for the site to erase its own way (the
        ``buyer_data_erased`` signal lists it)."""
        if not created_by_payment:
            return False
        User = type(user)
        setattr(user, User.get_email_field_name(), replacement)
        if User.USERNAME_FIELD != User.get_email_field_name():
            local = replacement.partition("@")[0]
            setattr(user, User.USERNAME_FIELD, local)
        for name in ("first_name", "last_name"):
            if hasattr(user, name):
                setattr(user, name, "")
        user.set_unusable_password()
        user.is_active = False
        user.save()
        return True

    def display_name(self, user):
        """How e-mails and pages name the account: its full name, else its e-mail address."""
        full_name = getattr(user, "get_full_name", lambda: "")()
        return full_name or getattr(user, user.get_email_field_name(), "") or str(user)

    def contact_name(self, registration_data):
        """The person's name in the registration fields they filled (the Contacts "Name"
        column): a field named ``full_name`` or ``name``, else ``first_name`` + ``last_name``.
        Empty when none of them was filled."""
        data = registration_data or {}
        for key in ("full_name", "name"):
            if isinstance(data.get(key), str) and data[key].strip():
                return data[key].strip()
        parts = [data.get(key) for key in ("first_name", "last_name")]
        return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())

    # URLs -----------------------------------------------------------------------------------
    def get_base_url(self, site=None):
        """Absolute base URL of the public site, without a trailing slash."""
        base = guestpay_settings.BASE_URL
        if not base and site is not None:
            base = site.root_url
        if not base:
            base = getattr(settings, "WAGTAILADMIN_BASE_URL", "")
        return base.rstrip("/")

    def absolute_url(self, path, site=None):
        return self.get_base_url(site) + path

    def get_personal_area_url(self):
        return reverse("wagtail_guestpay:account")

    def get_login_url(self, next_url=""):
        """Where the package sends people to sign in: ``WAGTAIL_GUESTPAY_LOGIN_URL`` (a URL name
        or a path; the package's own sign-in page by default), with ``?next=``."""
        url = resolve_url(guestpay_settings.LOGIN_URL)
        if next_url:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode({'next': next_url})}"
        return url

    def get_password_reset_url(self):
        """Where an account's owner resets a forgotten password:
        ``WAGTAIL_GUESTPAY_PASSWORD_RESET_URL`` (the package's page by default); '' when it is
        set empty (the site has none)."""
        setting = guestpay_settings.PASSWORD_RESET_URL
        return resolve_url(setting) if setting else ""

    # E-mail ---------------------------------------------------------------------------------
    def get_from_email(self):
        return guestpay_settings.FROM_EMAIL or settings.DEFAULT_FROM_EMAIL

    def get_staff_emails(self):
        emails = guestpay_settings.STAFF_EMAILS
        if emails is None:
            emails = [email for _name, email in getattr(settings, "MANAGERS", [])]
        return list(emails)

    def render_mail(self, template_prefix, to, context):
        """``<prefix>_subject.txt``, ``<prefix>_message.txt`` and, if present,
        ``<prefix>_message.html``, as one message."""
        subject = render_to_string(f"{template_prefix}_subject.txt", context)
        subject = " ".join(subject.splitlines()).strip()
        text = render_to_string(f"{template_prefix}_message.txt", context)
        message = EmailMultiAlternatives(subject, text, self.get_from_email(), [to])
        try:
            html = render_to_string(f"{template_prefix}_message.html", context)
        except TemplateDoesNotExist:
            html = None
        if html:
            message.attach_alternative(html, "text/html")
        return message

    def send_mail(self, template_prefix, to, context):
        self.render_mail(template_prefix, to, context).send()


def get_adapter():
    return import_string(guestpay_settings.ADAPTER)()

"""Forgotten passwords: Django's token semantics, the package's outbox and pages.

The reset form (:class:`PasswordResetRequestForm`) never says whether the address has an account:
its view always answers "check your e-mail", and the lookup runs in a task
(:func:`send_reset_links`). A link is made with Django's ``default_token_generator`` when the
e-mail is built; it stops working once the password changes or the account signs in. Active
accounts only, as in Django; unlike Django's form, an account a payment created (no password yet)
may set its first password this way.
"""

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..emails import PASSWORD_RESET, queue_email
from ..fulfilment.accounts import accounts_holding, normalize_email
from ..models import GuestAccount


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if not email:
            raise forms.ValidationError(_("Enter a valid e-mail address."), code="invalid")
        return email


def reset_accounts(email):
    """Active accounts of ``email`` that may reset: a usable password, or created by a payment."""
    users = accounts_holding(email).filter(is_active=True)
    return [
        user
        for user in users
        if user.has_usable_password() or GuestAccount.objects.filter(user=user).exists()
    ]


def send_reset_links(email, language=""):
    email = normalize_email(email)
    if not email:
        return
    for user in reset_accounts(email):
        with transaction.atomic():
            queue_email(PASSWORD_RESET, email, user=user, language=language)


class ResetSetPasswordForm(SetPasswordForm):
    """Django's form; an account a payment created counts as used once its owner sets one."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        GuestAccount.objects.filter(user=user, activated_at__isnull=True).update(
            activated_at=timezone.now()
        )
        return user

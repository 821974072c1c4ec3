"""Buyer-facing forms: registration before payment, account completion, new access link, and the
success page's claim of an order by e-mail."""

import json
import re

from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from ..fulfilment.accounts import is_placeholder, normalize_email
from ..models import RegistrationField, RegistrationSettings
from . import typos

FIELD_PREFIX = "reg_"


def _registration_field(field):
    kind = RegistrationField.FieldType
    common = {"label": field.label, "required": field.required, "help_text": field.help_text}
    if field.field_type == kind.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, **common)
    if field.field_type == kind.PHONE:
        return forms.RegexField(
            regex=r"^\+?[0-9 ()\-.]{5,32}$",
            max_length=32,
            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            error_messages={"invalid": _("Enter a phone number.")},
            **common,
        )
    if field.field_type == kind.NUMBER:
        return forms.DecimalField(max_digits=20, decimal_places=6, **common)
    if field.field_type == kind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if field.field_type == kind.CHECKBOX:
        return forms.BooleanField(**common)
    if field.field_type == kind.CHOICE:
        choices = [("", "---------"), *field.choice_pairs()]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(max_length=255, **common)


class RegistrationFieldsMixin:
    """Adds the site's extra registration fields (site setting) to a form."""

    registration_intro = ""

    @property
    def first_registration_field_name(self):
        return self.registration_fields[0][1] if self.registration_fields else ""

    def add_registration_fields(self, site):
        self.registration_fields = []
        if site is None:
            return
        settings = RegistrationSettings.for_site(site)
        # Labels, help texts, choices and the introduction in the visitor's language, where the
        # settings give them ("In other languages"); the data keeps the fields' names and values.
        self.registration_intro = settings.in_language().intro
        for field in settings.fields_in_language():
            name = FIELD_PREFIX + field.name
            self.fields[name] = _registration_field(field)
            self.registration_fields.append((field, name))

    def registration_data(self):
        data = {}
        for field, name in self.registration_fields:
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                continue
            data[field.name] = (
                value.isoformat()
                if hasattr(value, "isoformat")
                else (str(value) if not isinstance(value, bool) else value)
            )
        return data


class PasswordFieldsMixin:
    def clean_password2(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise forms.ValidationError(_("The two passwords differ."), code="password_mismatch")
        return password2

    def validate_password_for(self, user):
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password2", error)


def _password_fields():
    return (
        forms.CharField(
            label=_("Password"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            help_text=password_validation.password_validators_help_text_html(),
        ),
        forms.CharField(
            label=_("Password again"),
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        ),
    )


class EmailTypoCheckMixin:
    """Asks "Did you mean ...?" before accepting an address whose domain looks mistyped.

    The check adds an "it is right" checkbox (``email_as_typed``) right after the e-mail field
    when the submitted address has a likely fix; the form is valid once the buyer corrects the
    address or ticks the box. A submit button named ``use_suggestion`` takes the fix in one click.
    The e-mail input also carries the domain lists for the progressive hint (email-typo.js).
    """

    typo_field = "email"
    keep_field = "email_as_typed"
    email_suggestion = ""

    def add_typo_check(self):
        name = self.add_prefix(self.typo_field)
        self.fields[self.typo_field].widget.attrs["data-guestpay-typo"] = json.dumps(
            typos.client_config(), separators=(",", ":")
        )
        if not self.is_bound:
            return
        suggestion = self.data.get(self.add_prefix("use_suggestion"), "")
        # The suggestion replaces the address it was made for, not one typed since (Enter in an
        # edited field submits the form's first button, "Use ...").
        if suggestion and suggestion != typos.suggest_email(
            normalize_email(self.data.get(name, ""))
        ):
            suggestion = ""
        if suggestion:
            self.data = self.data.copy()
            self.data[name] = suggestion
            self.data.pop(self.add_prefix(self.keep_field), None)
        self.typed_email = normalize_email(self.data.get(name, ""))
        self.email_suggestion = typos.suggest_email(self.typed_email)
        if self.email_suggestion:
            fields = list(self.fields.items())
            position = [key for key, _field in fields].index(self.typo_field) + 1
            keep = forms.BooleanField(
                required=False, label=_("%(email)s is right, keep it") % {"email": self.typed_email}
            )
            fields.insert(position, (self.keep_field, keep))
            self.fields = dict(fields)

    @property
    def typo_found(self):
        return self.is_bound and self.has_error(self.typo_field, "typo")

    def check_typo(self):
        if (
            self.email_suggestion
            and not self.cleaned_data.get(self.keep_field)
            and self.cleaned_data.get(self.typo_field) == self.typed_email
        ):
            self.add_error(
                self.typo_field,
                forms.ValidationError(
                    _("Did you mean %(suggestion)s?"),
                    code="typo",
                    params={"suggestion": self.email_suggestion},
                ),
            )


class RegistrationForm(
    EmailTypoCheckMixin, RegistrationFieldsMixin, PasswordFieldsMixin, forms.Form
):
    """Guest payment off: an anonymous buyer registers before going to the payment system (once
    the code e-mailed to the address is typed back: wagtail_guestpay.buyers.registrations)."""

    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, *args, site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"], self.fields["password2"] = _password_fields()
        self.add_registration_fields(site)
        self.add_typo_check()

    def clean_email(self):
        # Whether the address has an account is not looked at here: the answer must be the same
        # for every address (the e-mail that follows tells its owner; registrations.py).
        email = normalize_email(self.cleaned_data["email"])
        if not email or is_placeholder(email):
            raise forms.ValidationError(_("Enter a valid e-mail address."))
        return email

    def clean(self):
        cleaned = super().clean()
        from django.contrib.auth import get_user_model

        User = get_user_model()
        self.validate_password_for(User(**{User.get_email_field_name(): cleaned.get("email")}))
        self.check_typo()
        return cleaned


class AccountSetupForm(RegistrationFieldsMixin, PasswordFieldsMixin, forms.Form):
    """A new account's first visit: password and the extra registration fields."""

    def __init__(self, *args, user, site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["password1"], self.fields["password2"] = _password_fields()
        self.add_registration_fields(site)

    def clean(self):
        cleaned = super().clean()
        self.validate_password_for(self.user)
        return cleaned


class AccessLinkRequestForm(EmailTypoCheckMixin, forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_typo_check()

    def clean(self):
        cleaned = super().clean()
        self.check_typo()
        return cleaned


class GuestEmailForm(EmailTypoCheckMixin, forms.Form):
    """An address to prove with a code, whoever it belongs to: whether it has an account is not
    looked at (every address gets a code)."""

    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_typo_check()

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if not email or is_placeholder(email):
            raise forms.ValidationError(_("Enter a valid e-mail address."), code="invalid")
        return email

    def clean(self):
        cleaned = super().clean()
        self.check_typo()
        return cleaned


class ClaimEmailForm(GuestEmailForm):
    """Success page: the address the order's access should go to."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "guestpay-claim-%s")
        super().__init__(*args, **kwargs)


class FreeOfferForm(GuestEmailForm):
    """A free offer, guest payment on: the address to confirm with a code (registrations.py)."""


class CodeForm(forms.Form):
    """A one-time code e-mailed to an address (registration before payment, buyer claims)."""

    code = forms.CharField(
        label=_("Code from the e-mail"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "spellcheck": "false",
                "size": "8",
            }
        ),
    )

    def __init__(self, *args, digits=6, **kwargs):
        super().__init__(*args, **kwargs)
        self.digits = digits

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(rf"[0-9]{{{self.digits}}}", code):
            raise forms.ValidationError(
                _("Enter the %(digits)s-digit code from the e-mail."),
                code="format",
                params={"digits": self.digits},
            )
        return code


class ClaimCodeForm(CodeForm):
    """Success page: the one-time code e-mailed to the claimed address."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "guestpay-claim-%s")
        super().__init__(*args, **kwargs)

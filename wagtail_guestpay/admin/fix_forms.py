"""Forms of the staff fixes. Every one asks why (the reason goes to the audit log) and carries a
one-time token: signed, bound to one action on one object, and used as the de-duplication key of
what the fix sends, so that submitting the same form twice acts once."""

import secrets
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from ..buyers.corrections import UnusedAccount
from ..fulfilment.accounts import is_placeholder, normalize_email, users_with_email
from .listing import is_db_id

TOKEN_SALT = "wagtail_guestpay.admin.fix"
TOKEN_MAX_AGE = 24 * 3600  # a confirmation page left open longer must be reloaded


def new_form_token(key):
    return signing.dumps({"k": key, "n": secrets.token_urlsafe(16)}, salt=TOKEN_SALT)


class FixForm(forms.Form):
    """Base of the fix forms: ``key`` names the action and its object (``"revoke-grant:12"``)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why you do this: kept in the audit log with your name and the time."),
    )
    form_token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, key, **kwargs):
        self.key = key
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["form_token"] = new_form_token(key)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Say why you do this."))
        return reason

    def clean_form_token(self):
        try:
            data = signing.loads(
                self.cleaned_data["form_token"], salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE
            )
        except signing.BadSignature as exc:  # includes SignatureExpired
            raise forms.ValidationError(
                _("This form is out of date: it was reloaded, check it and confirm again.")
            ) from exc
        if not isinstance(data, dict) or data.get("k") != self.key:
            raise forms.ValidationError(_("This form belongs to another action."))
        return str(data.get("n", ""))

    def full_clean(self):
        super().full_clean()
        if self.is_bound and "form_token" in self.errors:
            # Give the re-rendered form a fresh token, so that it can be submitted once fixed.
            data = self.data.copy()
            data["form_token"] = new_form_token(self.key)
            self.data = data


class CorrectEmailForm(FixForm):
    email = forms.EmailField(
        label=_("The buyer's real e-mail"),
        help_text=_("From the payment system's dashboard or from the buyer."),
    )
    unused_account = forms.ChoiceField(
        label=_("The account of the wrong e-mail"),
        choices=[
            (UnusedAccount.KEEP, _("Keep it")),
            (UnusedAccount.DEACTIVATE, _("Deactivate it")),
            (UnusedAccount.DELETE, _("Delete it")),
        ],
        initial=UnusedAccount.KEEP,
        widget=forms.RadioSelect,
        help_text=_(
            "Only an account this payment created and nobody ever used is deactivated "
            "or deleted; any other account is kept."
        ),
    )
    field_order = ["email", "unused_account", "reason"]

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if not email or is_placeholder(email):
            raise forms.ValidationError(_("Enter a real e-mail address."))
        return email


def find_account(value):
    """The account for a username or an e-mail; raises ValidationError when there is none or
    when several accounts share the e-mail."""
    User = get_user_model()
    value = (value or "").strip()
    user = User._default_manager.filter(**{User.USERNAME_FIELD: value}).first()
    if user is not None:
        return user
    email = normalize_email(value)
    matches = list(users_with_email(email)[:2]) if email else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise forms.ValidationError(
            _("Several accounts use this e-mail: type the username of the one you mean.")
        )
    raise forms.ValidationError(_("No account has this username or e-mail."))


class MoveAccessForm(FixForm):
    account = forms.TypedChoiceField(
        label=_("Move the access to"),
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
        empty_value=None,
    )
    other = forms.CharField(
        label=_("Or another account (username or e-mail)"), required=False, max_length=254
    )
    field_order = ["account", "other", "reason"]

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {user.pk: user for user in candidates}
        self.fields["account"].choices = [(user.pk, candidate_label(user)) for user in candidates]
        if not candidates:
            del self.fields["account"]

    def clean(self):
        cleaned = super().clean()
        chosen, other = cleaned.get("account"), (cleaned.get("other") or "").strip()
        if chosen and other:
            raise forms.ValidationError(_("Choose an account or type one, not both."))
        if chosen:
            cleaned["user"] = self.candidates[chosen]
        elif other:
            try:
                cleaned["user"] = find_account(other)
            except forms.ValidationError as exc:
                self.add_error("other", exc)
        elif not self.errors:
            raise forms.ValidationError(_("Choose the account that should get the access."))
        return cleaned


def candidate_label(user):
    email = getattr(user, user.get_email_field_name(), "")
    last = user.last_login.strftime("%Y-%m-%d") if user.last_login else _("never")
    state = "" if user.is_active else f" ({_('deactivated')})"
    return _("%(username)s, %(email)s, last login: %(last)s%(state)s") % {
        "username": user.get_username(),
        "email": email,
        "last": last,
        "state": state,
    }


class ProductsField(forms.ModelMultipleChoiceField):
    """Refuses ids beyond the database's integers before they reach a query (SQLite raises
    OverflowError on them: a 500)."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if text.isascii() and text.isdigit() and not is_db_id(text):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": text},
                )
        return super()._check_values(value)


class GrantAccessForm(FixForm):
    target = forms.CharField(
        label=_("E-mail or username"),
        max_length=254,
        help_text=_(
            "An e-mail without an account gets a new account and a link to set its "
            "password. When several accounts share an e-mail, type a username."
        ),
    )
    products = ProductsField(
        label=_("Products"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    field_order = ["target", "products", "reason"]

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["products"].queryset = products

    def clean_target(self):
        value = self.cleaned_data["target"].strip()
        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: value}).first()
        if user is not None:
            return {"user": user}
        email = normalize_email(value)
        if not email or is_placeholder(email):
            raise forms.ValidationError(_("Enter a real e-mail address or an existing username."))
        if len(users_with_email(email)[:2]) > 1:
            raise forms.ValidationError(
                _("Several accounts use this e-mail: type the username of the one you mean.")
            )
        return {"email": email}


class ReviewHoldForm(FixForm):
    ACCEPT, REFUSE = "accept", "refuse"
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (
                "accept",
                _("Accept the amount received: the order is paid and the buyer gets access"),
            ),
            (
                "refuse",
                _(
                    "Refuse it: the payment fails and gives no access (refund it at the "
                    "payment system)"
                ),
            ),
        ],
    )
    field_order = ["decision", "reason"]


class ResolveAttentionForm(FixForm):
    attention = forms.CharField(widget=forms.HiddenInput)


class RefundForm(FixForm):
    """The amount to refund: the whole remaining amount unless the payment system takes parts
    (then an amount up to it)."""

    amount = forms.DecimalField(
        label=_("Amount to refund"), max_digits=12, decimal_places=2, min_value=Decimal("0.01")
    )
    field_order = ["amount", "reason"]

    def __init__(self, *args, refundable, partial, currency, **kwargs):
        super().__init__(*args, **kwargs)
        if refundable <= 0:  # nothing left: the fix says so (no amount to check)
            del self.fields["amount"]
            return
        field = self.fields["amount"]
        field.max_value = refundable
        field.validators.append(MaxValueValidator(refundable))
        field.help_text = _("In %(currency)s, at most %(amount)s.") % {
            "currency": currency,
            "amount": refundable,
        }
        self.initial.setdefault("amount", refundable)
        if not partial:  # the whole amount only: nothing to choose
            field.disabled = True
            field.help_text = _("This payment system refunds the whole amount only.")

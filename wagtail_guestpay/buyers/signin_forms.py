"""Forms of the buyer account pages: sign in with a password or a code, a new e-mail address."""

from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from ..fulfilment.accounts import accounts_holding, normalize_email
from .forms import CodeForm

EMAIL_WIDGET = forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"})


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254, widget=EMAIL_WIDGET)

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if not email:
            raise forms.ValidationError(_("Enter a valid e-mail address."), code="invalid")
        return email


class PasswordSignInForm(EmailForm):
    """E-mail and password. One answer for an unknown address and a wrong password."""

    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request=None, **kwargs):
        kwargs.setdefault("auto_id", "signin-%s")
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = None

    def clean(self):
        cleaned = super().clean()
        email, password = cleaned.get("email"), cleaned.get("password")
        if email and password:
            for account in accounts_holding(email).filter(is_active=True)[:5]:
                self.user = authenticate(
                    self.request, username=account.get_username(), password=password
                )
                if self.user is not None:
                    break
        if self.user is None and not self.errors:
            raise forms.ValidationError(_("Wrong e-mail or password."), code="invalid_login")
        return cleaned


class CodeRequestForm(EmailForm):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "signin-code-%s")
        super().__init__(*args, **kwargs)


class SignInCodeForm(CodeForm):
    pass


class EmailChangeForm(EmailForm):
    """A new address; the current password too when the account has one."""

    password = forms.CharField(
        label=_("Your current password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["email"].label = _("New e-mail address")
        if not user.has_usable_password():
            del self.fields["password"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your current password."), code="wrong")
        return password

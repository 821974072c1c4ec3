"""The payment system form: account fields plus one field per credential of the provider.

The credential fields come from the provider class of the account's kind (``Provider.credentials``,
a tuple of :class:`~wagtail_guestpay.providers.base.Credential`). Non-secret values are stored in
``ProviderAccount.options``. Secret values are write-only: the form never renders them back, only
whether one is set; an empty input keeps the stored value, "Remove" deletes it, and a secret may
instead be read from an environment variable the account names (``secrets_from_env``).
"""

import os
import re
import uuid

from django import forms
from django.core import signing
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ..conf import guestpay_settings
from ..crypto import CredentialDecryptionError, decrypt_json
from ..models import ProviderAccount
from ..models.providers import credential_from_env, env_name_allowed, holds_site_key
from ..providers.registry import get_provider_class

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PUBLIC_ID_SALT = "wagtail_guestpay.admin.provideraccount.public_id"
PUBLIC_ID_MAX_AGE = 7 * 24 * 3600


class SecretState:
    """What the form may say about a stored secret: never its value."""

    def __init__(self, account, name):
        self.env_name = (account.secrets_from_env or {}).get(name, "") if account.pk else ""
        self.env_allowed = env_name_allowed(self.env_name)
        # Said only of a variable this site lets accounts name: nothing about the others.
        self.env_is_set = bool(self.env_allowed and credential_from_env(self.env_name))
        self.unreadable = False
        self.stored = False
        if account.pk and account.secrets_encrypted:
            try:
                self.stored = name in decrypt_json(account.secrets_encrypted)
            except CredentialDecryptionError:
                self.unreadable = True

    @property
    def is_set(self):
        return self.env_is_set if self.env_name else self.stored

    @property
    def label(self):
        if self.env_name:
            if not self.env_allowed:
                return gettext(
                    "Names the environment variable %(name)s, which this site does "
                    "not let payment systems read: name one starting with "
                    "%(prefix)s."
                ) % {"name": self.env_name, "prefix": guestpay_settings.CREDENTIAL_ENV_PREFIX}
            if self.env_is_set:
                return gettext("Read from the environment variable %(name)s (set).") % {
                    "name": self.env_name
                }
            return gettext(
                "Read from the environment variable %(name)s, which is not set on this server."
            ) % {"name": self.env_name}
        if self.unreadable:
            return gettext(
                "Stored, but it cannot be decrypted with the configured keys: enter it again."
            )
        return gettext("Set") if self.stored else gettext("Not set")


class CredentialFields:
    """The form fields of one credential, for the template."""

    def __init__(self, form, credential):
        self.credential = credential
        self.secret = credential.secret
        if credential.secret:
            self.value = form[form.secret_field(credential)]
            self.clear = form[form.clear_field(credential)]
            self.env = form[form.env_field(credential)]
            self.state = form.secret_states[credential.name]
        else:
            self.value = form[form.option_field(credential)]


class ProviderAccountForm(WagtailAdminModelForm):
    class Meta:
        model = ProviderAccount
        fields = ["name", "mode", "is_active"]

    def __init__(self, *args, kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The kind of a saved account never changes: its credentials, webhook and payments
            # belong to that provider. A new kind is a new payment system.
            kind = self.instance.kind
        else:
            self.instance.kind = kind
            self._keep_public_id()
        self.kind = kind
        self.provider_class = get_provider_class(kind)
        self.secret_states = {}
        for credential in self.provider_class.credentials:
            if credential.secret:
                self._add_secret_fields(credential)
            else:
                self._add_option_field(credential)

    def _keep_public_id(self):
        """A new account's webhook URL is shown while its form is filled (some providers give
        their webhook secret only once the URL is registered with them): its public id travels,
        signed, in a hidden field until the account is created."""
        self.fields["public_id_token"] = forms.CharField(widget=forms.HiddenInput, required=False)
        self.public_id_expired = False
        if self.is_bound:
            try:
                value = signing.loads(
                    self.data.get(self.add_prefix("public_id_token"), ""),
                    salt=PUBLIC_ID_SALT,
                    max_age=PUBLIC_ID_MAX_AGE,
                )
                self.instance.public_id = uuid.UUID(value)
            except (signing.BadSignature, ValueError, TypeError):
                self.public_id_expired = True  # the instance keeps a fresh id
        self._set_public_id_token()

    def _set_public_id_token(self):
        token = signing.dumps(str(self.instance.public_id), salt=PUBLIC_ID_SALT)
        self.initial["public_id_token"] = token
        if self.is_bound:
            self.data = self.data.copy()
            self.data[self.add_prefix("public_id_token")] = token

    # Field names --------------------------------------------------------------------------------
    @staticmethod
    def option_field(credential):
        return f"option__{credential.name}"

    @staticmethod
    def secret_field(credential):
        return f"secret__{credential.name}"

    @staticmethod
    def clear_field(credential):
        return f"secret__{credential.name}__clear"

    @staticmethod
    def env_field(credential):
        return f"secret__{credential.name}__env"

    def _add_option_field(self, credential):
        initial = self.instance.get_option(credential.name, credential.default)
        if credential.choices:
            field = forms.ChoiceField(choices=credential.choices, required=credential.required)
        else:
            field = forms.CharField(required=credential.required, max_length=500)
        field.label = credential.label
        field.help_text = credential.help_text
        field.initial = initial
        self.fields[self.option_field(credential)] = field

    def _add_secret_fields(self, credential):
        state = SecretState(self.instance, credential.name)
        self.secret_states[credential.name] = state
        self.fields[self.secret_field(credential)] = forms.CharField(
            label=credential.label,
            required=False,
            strip=True,
            max_length=4000,
            widget=forms.PasswordInput(
                render_value=False,
                attrs={
                    "autocomplete": "new-password",
                    "spellcheck": "false",
                    # The "Stored value: Set / Not set" line of the template.
                    "aria-describedby": f"id_{self.secret_field(credential)}-state",
                },
            ),
            help_text=credential.help_text,
        )
        self.fields[self.clear_field(credential)] = forms.BooleanField(
            label=_("Remove the stored %(label)s") % {"label": credential.label}, required=False
        )
        self.fields[self.env_field(credential)] = forms.CharField(
            label=_("…or read %(label)s from this environment variable")
            % {"label": credential.label},
            required=False,
            max_length=100,
            initial=state.env_name,
            help_text=_(
                "The name of a variable set in the web server's and the worker's "
                "environment, e.g. GUESTPAY_STRIPE_SECRET_KEY. It replaces any stored "
                "value."
            ),
        )

    # Template helpers ---------------------------------------------------------------------------
    def credential_fields(self):
        return [CredentialFields(self, cred) for cred in self.provider_class.credentials]

    # Validation ---------------------------------------------------------------------------------
    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and (
            self.public_id_expired
            or ProviderAccount.objects.filter(public_id=self.instance.public_id).exists()
        ):
            self.instance.public_id = uuid.uuid4()
            self._set_public_id_token()
            self.add_error(
                None,
                _(
                    "This form's webhook URL expired and was replaced: copy the "
                    "new one into the payment system's dashboard, then save."
                ),
            )
        for credential in self.provider_class.credentials:
            if not credential.secret:
                continue
            value = cleaned.get(self.secret_field(credential), "")
            clear = cleaned.get(self.clear_field(credential), False)
            env_name = cleaned.get(self.env_field(credential), "").strip()
            state = self.secret_states[credential.name]
            if env_name and not ENV_NAME.match(env_name):
                self.add_error(
                    self.env_field(credential),
                    _("Use letters, digits and underscores only, not starting with a digit."),
                )
                # Not a name: perhaps the secret itself, pasted into the wrong box. Not shown back.
                self.data = self.data.copy()
                self.data[self.add_prefix(self.env_field(credential))] = ""
                continue
            if env_name and not env_name_allowed(env_name):
                self.add_error(
                    self.env_field(credential),
                    _(
                        "Name a variable starting with %(prefix)s: this site lets payment systems "
                        "read no other (WAGTAIL_GUESTPAY_CREDENTIAL_ENV_PREFIX)."
                    )
                    % {"prefix": guestpay_settings.CREDENTIAL_ENV_PREFIX},
                )
                continue
            if env_name and holds_site_key(os.environ.get(env_name, "")):
                self.add_error(
                    self.env_field(credential),
                    _("This variable holds one of the site's own keys, not a payment credential."),
                )
                continue
            if value and env_name:
                self.add_error(
                    self.secret_field(credential),
                    _("Type the value or name an environment variable, not both."),
                )
                continue
            if value and clear:
                self.add_error(
                    self.clear_field(credential),
                    _("Type a new value or remove the stored one, not both."),
                )
                continue
            will_have = bool(env_name or value or (state.stored and not clear))
            if credential.required and not will_have:
                self.add_error(
                    self.secret_field(credential),
                    _("%(label)s is required: type it or name an environment variable.")
                    % {"label": credential.label},
                )
        return cleaned

    # Saving -------------------------------------------------------------------------------------
    def apply_credentials(self, account):
        """Copy the cleaned credentials onto ``account`` (not saved)."""
        options = dict(account.options or {})
        from_env = dict(account.secrets_from_env or {})
        secret_updates = {}
        for credential in self.provider_class.credentials:
            if not credential.secret:
                value = self.cleaned_data.get(self.option_field(credential), "")
                if value:
                    options[credential.name] = value
                else:
                    options.pop(credential.name, None)
                continue
            value = self.cleaned_data.get(self.secret_field(credential), "")
            env_name = self.cleaned_data.get(self.env_field(credential), "").strip()
            if env_name:
                from_env[credential.name] = env_name
                secret_updates[credential.name] = ""  # one source of truth: the environment
            else:
                from_env.pop(credential.name, None)
                if value:
                    secret_updates[credential.name] = value
                elif self.cleaned_data.get(self.clear_field(credential)):
                    secret_updates[credential.name] = ""
        account.options = options
        account.secrets_from_env = from_env
        if secret_updates:
            account.set_secrets(secret_updates)

    def save(self, commit=True):
        account = super().save(commit=False)
        account.kind = self.kind
        self.apply_credentials(account)
        if commit:
            account.save()
        return account

    @property
    def changed_credentials(self):
        """Names of the credentials this submission changed (for the audit log; no values)."""
        names = []
        for credential in self.provider_class.credentials:
            if credential.secret:
                fields = (
                    self.secret_field(credential),
                    self.clear_field(credential),
                    self.env_field(credential),
                )
                if (
                    self.cleaned_data.get(fields[0])
                    or self.cleaned_data.get(fields[1])
                    or fields[2] in self.changed_data
                ):
                    names.append(credential.name)
            elif self.option_field(credential) in self.changed_data:
                names.append(credential.name)
        return names

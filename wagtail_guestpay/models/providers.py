import logging
import os
import uuid

from django.db import models
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from ..conf import guestpay_settings
from ..crypto import decrypt_json, encrypt_json
from ..providers.registry import get_provider_class, provider_kind_choices

logger = logging.getLogger(__name__)


class ProviderAccount(models.Model):
    """A payment system the merchant has connected: its kind, mode and credentials.

    Non-secret settings (merchant id, client id...) live in ``options``. Secret values are
    encrypted at rest in ``secrets_encrypted`` or read from the environment variable named in
    ``secrets_from_env``; neither is ever shown back in a form.
    """

    class Mode(models.TextChoices):
        TEST = "test", _("Test")
        LIVE = "live", _("Live")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("payment system"), max_length=32, choices=provider_kind_choices)
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.TEST)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive payment systems take no new payments.")
    )
    options = models.JSONField(_("settings"), default=dict, blank=True)
    secrets_encrypted = models.TextField(blank=True, editable=False)
    secrets_from_env = models.JSONField(
        _("secrets from environment variables"),
        default=dict,
        blank=True,
        help_text=_("Credential name -> name of the environment variable that holds it."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Notifications that failed verification and were not kept (over the hourly budgets of
    # WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_LIMITS): counted here, nothing else is stored.
    rejected_dropped = models.PositiveBigIntegerField(
        _("rejected notifications not kept"), default=0, editable=False
    )
    rejected_dropped_at = models.DateTimeField(
        _("last rejected notification not kept"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("payment system")
        verbose_name_plural = _("payment systems")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()}, {self.get_mode_display()})"

    @property
    def provider_class(self):
        return get_provider_class(self.kind)

    def get_provider(self):
        return self.provider_class(self)

    @property
    def supports_guest_payment(self):
        cls = get_provider_class(self.kind, missing_ok=True)
        return bool(cls and cls.supports_guest_payment)

    @property
    def is_live(self):
        return self.mode == self.Mode.LIVE

    # Credentials ---------------------------------------------------------------------------
    def get_secret(self, name):
        env_name = (self.secrets_from_env or {}).get(name)
        if env_name:
            return credential_from_env(env_name)
        return self._stored_secrets().get(name, "")

    def _stored_secrets(self):
        """The decrypted ``secrets_encrypted``, decrypted once per instance, value and keys."""
        stamp = (self.secrets_encrypted, tuple(guestpay_settings.ENCRYPTION_KEYS or ()))
        memo = self.__dict__.get("_secrets_memo")
        if memo is None or memo[0] != stamp:
            memo = self._secrets_memo = (stamp, decrypt_json(self.secrets_encrypted))
        return memo[1]

    def has_secret(self, name):
        return bool(self.get_secret(name))

    def set_secrets(self, values):
        """Store secret values (``{name: value}``); an empty value removes the stored secret."""
        stored = decrypt_json(self.secrets_encrypted)
        for name, value in values.items():
            if value:
                stored[name] = value
            else:
                stored.pop(name, None)
        self.secrets_encrypted = encrypt_json(stored)

    def get_option(self, name, default=""):
        return (self.options or {}).get(name, default)

    def notification_path(self):
        return reverse("wagtail_guestpay:notify", args=[self.public_id])


def env_name_allowed(name):
    """True if a payment system's credential may be read from the environment variable ``name``
    (WAGTAIL_GUESTPAY_CREDENTIAL_ENV_PREFIX)."""
    return bool(name) and name.startswith(guestpay_settings.CREDENTIAL_ENV_PREFIX)


def holds_site_key(value):
    """True if ``value`` is one of the site's own keys (SECRET_KEY, its fallbacks, the credential
    encryption keys): never a payment credential, never read as one."""
    from django.conf import settings

    keys = [
        settings.SECRET_KEY,
        *getattr(settings, "SECRET_KEY_FALLBACKS", []),
        *guestpay_settings.ENCRYPTION_KEYS,
    ]
    return bool(value) and any(
        isinstance(key, str | bytes)
        and key
        and constant_time_compare(value, key if isinstance(key, str) else key.decode())
        for key in keys
    )


def credential_from_env(name):
    """The value of the environment variable ``name`` as a credential: "" when the name is not
    allowed or the variable holds one of the site's own keys (logged, without the value)."""
    if not env_name_allowed(name):
        logger.warning(
            "A payment system names the environment variable %s, which "
            "WAGTAIL_GUESTPAY_CREDENTIAL_ENV_PREFIX does not allow: not read.",
            name,
        )
        return ""
    value = os.environ.get(name, "")
    if holds_site_key(value):
        logger.warning(
            "The environment variable %s holds one of the site's own keys: not read "
            "as a payment credential.",
            name,
        )
        return ""
    return value

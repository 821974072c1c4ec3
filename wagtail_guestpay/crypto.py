"""Encryption of provider credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from ``WAGTAIL_GUESTPAY_ENCRYPTION_KEYS``; the first encrypts, all decrypt, so a key can
be rotated by putting the new one first. Under ``DEBUG`` with no key configured, a key is derived
from ``SECRET_KEY`` so that the sandbox works out of the box; system check W002 says so, and
E002 refuses that fallback in production.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import guestpay_settings


class CredentialDecryptionError(Exception):
    """Stored credentials cannot be read with the configured keys."""


def derived_debug_key():
    digest = hashlib.sha256(
        b"wagtail_guestpay.credentials:" + settings.SECRET_KEY.encode()
    ).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet():
    keys = list(guestpay_settings.ENCRYPTION_KEYS or [])
    if not keys:
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS is empty: provider credentials cannot be stored."
            )
        keys = [derived_debug_key()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS must hold Fernet keys "
            "(cryptography.fernet.Fernet.generate_key())."
        ) from exc


def encrypt_json(data):
    if not data:
        return ""
    return _fernet().encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token):
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise CredentialDecryptionError(
            "Provider credentials cannot be decrypted with WAGTAIL_GUESTPAY_ENCRYPTION_KEYS."
        ) from exc

"""What staff see of a payment system's raw notification: header values that could carry
credentials masked, secret keys masked in bodies, and the buyers' secret order links cut.
Shared by the notifications (events.py) and the transactions (transactions.py) admin."""

import json
import re
from urllib.parse import quote

from django.urls import reverse

from ..providers.base import load_json

MASK = "•••"


SECRET_HEADER_HINTS = (
    "authorization",
    "cookie",
    "secret",
    "token",
    "password",
    "api-key",
    "apikey",
)


SECRET_KEY_HINTS = ("secret", "password", "api_key", "apikey", "access_token", "refresh_token")


def redact(text):
    """Cut the secret token out of buyers' order links in ``text`` (plain or URL-encoded)."""
    prefix = reverse("wagtail_guestpay:order", args=["TOKEN"]).split("TOKEN")[0]
    for form in (prefix, quote(prefix, safe="")):
        text = re.sub(re.escape(form) + r"[A-Za-z0-9_\-]+", form + MASK, text, flags=re.IGNORECASE)
    return text


def safe_headers(headers):
    return [
        (name, MASK if any(hint in name.lower() for hint in SECRET_HEADER_HINTS) else value)
        for name, value in sorted((headers or {}).items())
    ]


def _mask_keys(value):
    if isinstance(value, dict):
        return {
            key: MASK
            if any(hint in str(key).lower() for hint in SECRET_KEY_HINTS)
            else _mask_keys(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_keys(item) for item in value]
    return value


def safe_body(body):
    """The body as text for display: pretty JSON when it is JSON, with secret-looking keys
    masked and order links cut. Text that is not JSON, or JSON nested deeper than
    MAX_JSON_DEPTH, is shown as text."""
    try:
        data = load_json(body)
    except ValueError:
        return redact(body)
    return redact(json.dumps(_mask_keys(data), indent=2, ensure_ascii=False, sort_keys=True))


def safe_data(data):
    return redact(json.dumps(_mask_keys(data or {}), indent=2, ensure_ascii=False, sort_keys=True))

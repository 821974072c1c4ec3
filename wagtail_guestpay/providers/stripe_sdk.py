"""Stripe's SDK, loaded on first use, and its webhook signature check, for :mod:`.stripe`."""

import re

from django.core.exceptions import ImproperlyConfigured

from .exceptions import InvalidSignature

#: Seconds a webhook signature stays valid (the SDK's ``Webhook.DEFAULT_TOLERANCE``).
TOLERANCE = 300
_KEYLIKE = re.compile(r"\b(sk|rk|pk|whsec)_[A-Za-z0-9_*.]+")


def load_sdk():
    """The ``stripe`` module, or a clear error when the optional dependency is missing."""
    try:
        import stripe
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImproperlyConfigured(
            "The Stripe payment system needs the stripe package: "
            "pip install 'wagtail-guestpay[stripe]'."
        ) from exc
    return stripe


def verify_signature(body, header, secret, tolerance=TOLERANCE):
    """Check ``Stripe-Signature`` over the raw ``body`` with the SDK's verifier (HMAC-SHA256 of
    ``"<t>.<body>"`` keyed with the whole ``whsec_`` string, constant-time compared, any ``v1``
    may match, ``t`` not older than ``tolerance`` seconds). Raise InvalidSignature otherwise."""
    stripe = load_sdk()
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSignature(
            "The body is not UTF-8, so it cannot carry Stripe's signature."
        ) from exc
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(redact(exc.user_message or "Invalid Stripe signature.")) from exc


def redact(text):
    """``text`` without anything that looks like a Stripe key or signing secret."""
    return _KEYLIKE.sub(lambda match: f"{match.group(1)}_…", str(text))

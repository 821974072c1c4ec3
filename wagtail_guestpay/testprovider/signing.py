"""The test provider's signature scheme (the same shape as Stripe's):

``X-Testpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
"""

import hashlib
import hmac
import time

HEADER = "X-Testpay-Signature"
TOLERANCE = 300


def signature(secret, timestamp, body):
    message = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secret, body, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


class SignatureError(Exception):
    pass


def verify(secret, header, body, *, now=None, tolerance=TOLERANCE):
    """Raise SignatureError unless ``header`` signs ``body`` with ``secret`` within
    ``tolerance`` seconds."""
    if not secret:
        raise SignatureError("The account has no signing secret.")
    parts = {}
    for item in (header or "").split(","):
        key, _sep, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError) as exc:
        raise SignatureError("No timestamp in the signature header.") from exc
    candidates = parts.get("v1", [])
    if not candidates:
        raise SignatureError("No v1 signature in the header.")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("The signature does not match.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("The signature is outside the tolerance window.")

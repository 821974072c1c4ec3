"""WayForPay's HMAC-MD5 signatures: the Purchase form's and the one a callback or CHECK_STATUS
answer carries (the protocol is described in wayforpay.py)."""

import hashlib
import hmac
from decimal import Decimal

from .base import load_json

CALLBACK_FIELDS = (
    "merchantAccount",
    "orderReference",
    "amount",
    "currency",
    "authCode",
    "cardPan",
    "transactionStatus",
    "reasonCode",
)


def hmac_md5(secret, values):
    """Hex HMAC-MD5 of ``values`` joined with ``;`` (UTF-8), keyed with ``secret``."""
    message = ";".join("" if value is None else str(value) for value in values)
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.md5).hexdigest()


def php_amount(value):
    """``value`` as PHP writes ``floatval(value)``: ``100``, ``1547.36``, ``10.5``."""
    text = repr(float(Decimal(str(value))))
    if "e" in text or "E" in text:  # not an amount anyone pays; keep it exact
        return format(Decimal(str(value)).normalize(), "f")
    return text.removesuffix(".0")


def purchase_signature_values(fields):
    """The values the Purchase signature covers, in the documented order, from the form fields
    (a list of ``(name, value)``)."""
    single = {}
    lists = {"productName[]": [], "productCount[]": [], "productPrice[]": []}
    for name, value in fields:
        if name in lists:
            lists[name].append(value)
        else:
            single[name] = value
    return [
        single["merchantAccount"],
        single["merchantDomainName"],
        single["orderReference"],
        single["orderDate"],
        single["amount"],
        single["currency"],
        *lists["productName[]"],
        *lists["productCount[]"],
        *lists["productPrice[]"],
    ]


def loads(text):
    """JSON with numbers kept as their lexemes (``100``, ``100.0`` and ``1547.36`` stay as sent)."""
    return load_json(text, parse_float=str, parse_int=str)


def as_text(value):
    return "" if value is None else str(value)


def callback_signature_candidates(secret, account, data):
    """Signatures a genuine callback or status answer may carry.

    The string is built with our merchant account (as the official SDK does) and the other fields
    as received. The amount is tried as its JSON lexeme and as PHP's rendering of it
    (``100.0`` -> ``100``), since the official SDK and plugin verify on PHP's rendering. Both are
    the same number: no field can be changed by picking one.
    """
    values = [account, *(as_text(data.get(name)) for name in CALLBACK_FIELDS[1:])]
    amounts = [values[2]]
    try:
        rendered = php_amount(values[2])
    except (ArithmeticError, ValueError):
        rendered = None
    if rendered and rendered not in amounts:
        amounts.append(rendered)
    candidates = []
    for amount in amounts:
        values[2] = amount
        candidates.append(hmac_md5(secret, values))
    return candidates


def is_signed(secret, account, data):
    given = data.get("merchantSignature")
    if not secret or not isinstance(given, str) or not given:
        return False
    given = given.lower().encode()
    return any(
        hmac.compare_digest(candidate.encode(), given)
        for candidate in callback_signature_candidates(secret, account, data)
    )

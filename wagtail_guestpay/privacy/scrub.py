"""Replacing an address in stored values: text, and JSON values (dicts, lists) at any depth."""

import re
import secrets

from .records import text_forms

# What an erased address becomes: an address that is no one's (``.invalid`` is reserved, RFC
# 2606), random, so that the erased rows of one buyer still belong together and nothing links
# them to the address.
ERASED_DOMAIN = "erased.invalid"
# What an address inside free text (notes, reasons, raw bodies) becomes.
MARK = "[erased]"

# Any e-mail-like word: free text of a buyer's own records may name their other addresses too.
ADDRESS = re.compile(r"[^\s@<>\"'(),;:\\\[\]]+@[^\s@<>\"'(),;:\\\[\]]+\.[^\s@<>\"'(),;:\\\[\]]+")


def erased_address():
    return f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"


def is_erased(email):
    return (email or "").lower().endswith("@" + ERASED_DOMAIN)


def replace_address(value, email, mark=MARK):
    """``value`` with every occurrence of ``email`` (any case, also JSON-escaped) replaced."""
    if isinstance(value, str):
        for form in text_forms(email):
            value = re.sub(re.escape(form), mark, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {
            replace_address(key, email, mark): replace_address(item, email, mark)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [replace_address(item, email, mark) for item in value]
    return value


def strip_addresses(value, mark=MARK):
    """``value`` with every e-mail address in it replaced (erased addresses stay)."""
    if isinstance(value, str):
        return ADDRESS.sub(lambda m: m.group(0) if is_erased(m.group(0)) else mark, value)
    if isinstance(value, dict):
        return {
            strip_addresses(key, mark): strip_addresses(item, mark) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [strip_addresses(item, mark) for item in value]
    return value


def contains(value, email):
    """True if ``email`` occurs in ``value`` (any case), at any depth of dicts, lists, tuples."""
    if isinstance(value, str):
        text = value.lower()
        return any(form.lower() in text for form in text_forms(email))
    if isinstance(value, dict):
        return any(contains(key, email) or contains(item, email) for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains(item, email) for item in value)
    return False

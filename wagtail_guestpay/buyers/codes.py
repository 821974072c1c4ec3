"""One-time codes e-mailed to an address and typed back on the page that asked for them.

The primitives shared by buyer claims (:mod:`wagtail_guestpay.buyers.claims`) and verified registration
(:mod:`wagtail_guestpay.buyers.registrations`):

- :func:`new_code`: a short random number, from :mod:`secrets`;
- :func:`code_hash`: only a salted HMAC-SHA256 of a code is ever stored, keyed by ``SECRET_KEY``
  and a per-use key salt, and bound to what the code was sent for (an order, a registration and
  its address);
- :func:`check_code`: every typed code counts against the row's ``attempts`` by a conditional
  ``UPDATE`` *before* the comparison (concurrent guesses cannot get more tries), then the hashes
  are compared in constant time;
- the code itself travels to the mailbox sealed in the outbox row and is dropped once sent
  (:func:`wagtail_guestpay.emails.queue_code_email`).

A row that holds a code has ``attempts`` and ``code_hash`` fields; its owner says which rows still
wait for their code (``pending``) and how to hash a typed code for it (``hash_of``).
"""

import secrets
from dataclasses import dataclass
from enum import Enum

from django.db.models import F
from django.utils.crypto import constant_time_compare, salted_hmac

CODE_DIGITS = 6


class CodeCheck(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"  # no code waiting: expired, replaced, used, or never asked for
    LOCKED = "locked"  # too many wrong codes
    NOT_ALLOWED = "not_allowed"  # right code, but what it was for may no longer happen


@dataclass
class Attempt:
    result: CodeCheck
    attempts_left: int = 0
    # This attempt's wrong code spent the last try: the caller locks the row. A request that
    # found no try left spent none, and must not lock: the tries may have gone to right codes
    # typed at the same moment (the same code in several tabs), one of which is using the row.
    locks: bool = False


def new_code():
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt():
    return secrets.token_hex(16)


def code_hash(key_salt, salt, *bound, code):
    """HMAC-SHA256 of ``code`` keyed by SECRET_KEY and ``key_salt`` (one per use of codes),
    salted per code and bound to ``bound`` (what the code was sent for)."""
    value = ":".join([salt, *(str(part) for part in bound), code])
    return salted_hmac(key_salt, value, algorithm="sha256").hexdigest()


def check_code(row, code, *, hash_of, max_attempts, pending):
    """Count one attempt at ``row``'s code, then compare it.

    ``pending`` filters the rows still waiting for their code (e.g. ``{"status": "pending"}``),
    ``hash_of(row, code)`` hashes a typed code the way ``row.code_hash`` was made. Returns
    ACCEPTED, WRONG with the attempts left, or LOCKED once no attempt is left (or the row stopped
    waiting meanwhile): locking the row is the caller's business, when ``locks`` says so.
    ``row`` is refreshed.
    """
    manager = type(row)._default_manager
    counted = manager.filter(pk=row.pk, attempts__lt=max_attempts, **pending).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        return Attempt(CodeCheck.LOCKED)
    row.refresh_from_db()
    if not row.code_hash or not constant_time_compare(hash_of(row, code), row.code_hash):
        left = max(max_attempts - row.attempts, 0)
        if left:
            return Attempt(CodeCheck.WRONG, attempts_left=left)
        return Attempt(CodeCheck.LOCKED, locks=True)
    return Attempt(CodeCheck.ACCEPTED)

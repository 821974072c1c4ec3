"""Registration before payment, for offers without guest payment, proven by an e-mailed code.

The visitor fills the registration form (e-mail, password twice, the site's registration fields).
:func:`start` records a :class:`~wagtail_guestpay.models.PendingRegistration` (the password
already hashed) bound to the browser session, and queues :func:`send_code` as a task. Nothing in
the request looks at accounts, so the answer is the same, in content and in time, for every
address: a redirect to the page that asks for the code.

The task looks. A free address gets a short code; an address that has an account gets no code
but "you already have an account: log in to continue your purchase". :func:`confirm` checks a
typed code (few attempts, constant-time comparison, expiry, single use) and only then creates
the account, with the chosen password and the registration fields; the view logs it in and sends
it to the payment system. Until then nothing exists but the pending row: nobody can register
somebody else's address with their own password (account pre-hijacking), and nobody learns
whether an address has an account.

A free offer with guest payment uses the same row and code (``purpose`` FREE, no password, no
registration fields): every address gets a code, and the right one grants the offer through
:func:`wagtail_guestpay.fulfilment.free.grant_free_order` (an existing account gets it, nobody is
logged in) instead of creating an account here.

This is django-allauth's "prevent enumeration" behaviour, with a code typed back instead of a
link (mail scanners open links). The code primitives are shared with buyer claims
(:mod:`wagtail_guestpay.buyers.codes`).
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import queueing, signals
from ..adapter import get_adapter
from ..conf import guestpay_settings
from ..emails import (
    FREE_CODE,
    REGISTRATION_CODE,
    REGISTRATION_EXISTING,
    queue_code_email,
    queue_email,
)
from ..fulfilment.accounts import (
    accounts_holding,
    add_registration_data,
    contact_for,
    take_back_retired,
)
from ..fulfilment.free import grant_free_order
from ..models import Contact, PendingRegistration, hash_token
from ..ratelimit import configured_budget
from .codes import CodeCheck, check_code, code_hash, new_code, new_salt

HASH_KEY_SALT = "wagtail_guestpay.registrations.code"
# A registration past its expiry is kept this long (its page can still say "expired, ask for a
# new code"), then deleted by the maintenance task.
KEEP_EXPIRED = timedelta(days=1)
Status = PendingRegistration.Status
Purpose = PendingRegistration.Purpose


def rate_limit(name):
    """The (requests, seconds) budget ``name`` of ``REGISTRATION_RATE_LIMITS``."""
    return configured_budget("REGISTRATION_RATE_LIMITS", name)


def max_age():
    return guestpay_settings.as_timedelta("REGISTRATION_CODE_MAX_AGE")


def max_age_minutes():
    return int(max_age().total_seconds() // 60)


# Starting ----------------------------------------------------------------------------------------
def start(
    offer,
    *,
    email,
    password,
    registration_data,
    site=None,
    language="",
    replaces="",
    purpose=Purpose.REGISTER,
):
    """Record a registration for ``offer`` and queue its first e-mail. Returns the token that
    binds it to the browser session (only its hash is stored). ``replaces``: the token of the
    session's previous registration, which stops waiting for its code. ``purpose`` FREE: a free
    offer's "confirm your address" (``password`` None)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        if replaces:
            _finish(
                PendingRegistration.objects.filter(session_hash=hash_token(replaces)),
                Status.REPLACED,
            )
        registration = PendingRegistration.objects.create(
            purpose=purpose,
            offer=offer,
            site=site,
            email=email,
            password=make_password(password) if password else "",
            registration_data=registration_data,
            language=language,
            session_hash=hash_token(token),
            expires_at=timezone.now() + max_age(),
        )
        _queue_send(registration.pk, 1)
    return token


def find(token, offer, purpose=Purpose.REGISTER):
    """The registration of this browser session (its token) for ``offer``, in any status."""
    if not token:
        return None
    return PendingRegistration.objects.filter(
        session_hash=hash_token(token), offer=offer, purpose=purpose
    ).first()


def _queue_send(registration_id, number):
    transaction.on_commit(
        lambda: queueing.enqueue(
            "wagtail_guestpay.tasks.send_registration_code", registration_id, number
        )
    )


def request_new_code(registration):
    """ "Send a new code": queue the registration's next e-mail. False when it no longer waits for
    a code or has had its ``REGISTRATION_MAX_CODES``."""
    with transaction.atomic():
        counted = PendingRegistration.objects.filter(
            pk=registration.pk,
            status=Status.PENDING,
            codes_requested__lt=guestpay_settings.REGISTRATION_MAX_CODES,
        ).update(codes_requested=F("codes_requested") + 1)
        if not counted:
            return False
        registration.refresh_from_db()
        _queue_send(registration.pk, registration.codes_requested)
    return True


# The e-mail (a task) ---------------------------------------------------------------------------
def _hash_of(registration, code):
    return code_hash(
        HASH_KEY_SALT, registration.salt, registration.pk, registration.email, code=code
    )


def send_code(registration_id, number):
    """The ``number``-th e-mail of a registration (1, then one more per "send a new code"): a new
    code to a free address, or "log in instead" to an address that has an account. A new code
    replaces the previous one and starts the expiry again. Safe to run twice: each number is
    sent at most once. Returns "code", "account", or None when there was nothing to send."""
    registration = PendingRegistration.objects.filter(
        pk=registration_id, status=Status.PENDING, codes_sent__lt=number
    ).first()
    if registration is None:
        return None
    # A free offer's code goes to every address: an account that exists gets the offer too.
    free = registration.purpose == Purpose.FREE
    taken = not free and accounts_holding(registration.email).exists()
    registration.salt = "" if taken else new_salt()
    code = None if taken else new_code()
    with transaction.atomic():
        claimed = PendingRegistration.objects.filter(
            pk=registration.pk, status=Status.PENDING, codes_sent__lt=number
        ).update(
            codes_sent=number,
            salt=registration.salt,
            code_hash="" if taken else _hash_of(registration, code),
            expires_at=timezone.now() + max_age(),
        )
        if not claimed:  # a concurrent run sent it
            return None
        common = {
            "dedupe_key": f"registration:{registration.pk}:{number}",
            "data": {"registration": registration.pk, "max_age_minutes": max_age_minutes()},
            "language": registration.language,
        }
        if taken:
            queue_email(REGISTRATION_EXISTING, registration.email, **common)
        else:
            kind = FREE_CODE if free else REGISTRATION_CODE
            queue_code_email(kind, registration.email, code, **common)
    return "account" if taken else "code"


# Confirmation ----------------------------------------------------------------------------------
@dataclass
class Confirmation:
    result: CodeCheck
    attempts_left: int = 0
    user: object = None
    grant: object = None  # a free offer's FreeGrant


class _AddressTaken(Exception):
    pass


def confirm(registration, code, *, grant=None):
    """Check a code typed for ``registration``; when right, create its account (the chosen
    password, the registration fields on the Contact) and return it. Every call counts against
    the registration's attempts. NOT_ALLOWED: the address got an account meanwhile.

    A FREE registration is granted instead; ``grant(registration)`` replaces the free offer's
    grant (a coupon that makes a paid offer free: fulfilment/free_coupons.py). It runs in the
    transaction that uses the registration, so an exception it raises leaves it pending."""
    if registration is None or not registration.is_pending:
        return Confirmation(CodeCheck.EXPIRED)
    attempt = check_code(
        registration,
        code,
        hash_of=_hash_of,
        max_attempts=guestpay_settings.REGISTRATION_CODE_MAX_ATTEMPTS,
        pending={"status": Status.PENDING},
    )
    if attempt.locks:
        _finish(PendingRegistration.objects.filter(pk=registration.pk), Status.LOCKED)
    if attempt.result != CodeCheck.ACCEPTED:
        return Confirmation(attempt.result, attempts_left=attempt.attempts_left)
    if registration.is_expired:  # expired between the first look and the check
        return Confirmation(CodeCheck.EXPIRED)
    if registration.purpose == Purpose.FREE:
        grant = _grant_free(registration, grant)
        if grant is None:
            return Confirmation(CodeCheck.EXPIRED)
        return Confirmation(CodeCheck.ACCEPTED, grant=grant)
    try:
        user = _create_account(registration)
    except _AddressTaken:
        _finish(PendingRegistration.objects.filter(pk=registration.pk), Status.CANCELLED)
        return Confirmation(CodeCheck.NOT_ALLOWED)
    if user is None:
        return Confirmation(CodeCheck.EXPIRED)
    return Confirmation(CodeCheck.ACCEPTED, user=user)


def _create_account(registration):
    """The account, created once, while holding the address's Contact lock (the lock the
    payment pipeline takes before it finds or creates an account); None when a concurrent
    request used the registration first."""
    User = get_user_model()
    email = registration.email
    with transaction.atomic():
        contact = contact_for(email, source=Contact.Source.REGISTRATION)
        if accounts_holding(email).exists():
            raise _AddressTaken  # rolls back the Contact made above, if any
        used = _finish(
            PendingRegistration.objects.filter(pk=registration.pk),
            Status.USED,
            used_at=timezone.now(),
        )
        if not used:
            return None
        # An account retired for someone else's typo is taken back rather than doubled.
        user = take_back_retired(email, password=registration.password)
        if user is None:
            user = get_adapter().create_user(email)
            user.password = registration.password
            user.save(update_fields=["password"])
        contact.user = user
        add_registration_data(contact, registration.registration_data)
        transaction.on_commit(
            lambda: signals.account_activated.send(
                sender=User, user=user, registration_data=contact.registration_data, request=None
            ),
            robust=True,
        )
    return user


def _grant_free(registration, grant=None):
    """A free offer's code was right: grant it to the address, once (the registration is used
    in the same transaction, and the order's ``free_key`` is unique); None when a concurrent
    request used the registration first."""
    with transaction.atomic():
        used = _finish(
            PendingRegistration.objects.filter(pk=registration.pk),
            Status.USED,
            used_at=timezone.now(),
        )
        if not used:
            return None
        if grant is not None:
            return grant(registration)
        return grant_free_order(
            registration.offer,
            registration.email,
            key=f"registration:{registration.pk}",
            site=registration.site,
            language=registration.language,
        )


def _finish(registrations, status, **extra):
    """Stop pending ``registrations`` (a queryset) waiting, forgetting the password hash and the
    code's; returns how many were pending."""
    return registrations.filter(status=Status.PENDING).update(
        status=status, password="", code_hash="", **extra
    )


def purge():
    """Delete registrations expired for more than KEEP_EXPIRED (the maintenance task)."""
    deleted, _by_model = PendingRegistration.objects.filter(
        expires_at__lt=timezone.now() - KEEP_EXPIRED
    ).delete()
    return deleted

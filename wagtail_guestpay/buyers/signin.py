"""Passwordless sign-in and a new e-mail address, proven by a one-time code e-mailed there.

The steps of a sign-in with a code:

1. **Ask** (:func:`request_signin_code`, run in a task so that the answer takes the same time for
   every address): the active account that holds the address gets a code; an unknown address, an
   inactive account and, by default, a staff account (``SIGNIN_EXCLUDE_STAFF``) get nothing, and
   the page that asked says the same thing either way.
2. **Issue** (:func:`issue_code`): a 6-digit code and a one-click link token, valid
   ``SIGNIN_CODE_MAX_AGE``. Only a salted HMAC of the code (bound to the account, the purpose and
   the address) and a hash of the token are stored; both travel to the mailbox sealed in the
   outbox row (:mod:`wagtail_guestpay.emails`). Asking again replaces the pending code.
3. **Type the code** (:func:`check_signin_code`): every typed code counts against the row's
   attempts before the comparison (:func:`wagtail_guestpay.codes.check_code`); the last wrong one
   locks it. The views also count tries per client and per address (``SIGNIN_RATE_LIMITS``).
4. **Or press the link's button** (:func:`use_link`): a GET only shows the button (mail scanners
   open links); the POST uses the code.
5. **Use** (:func:`_use`): a conditional ``UPDATE`` from pending to used, so a code signs in once;
   the account is checked again (still active, still allowed). The view logs the browser in.

A payment never logs anyone in: these explicit sign-ins, the password and the first visit through
an access link are the only ways in.

An e-mail change (:func:`request_email_change`, :func:`confirm_email_change`) uses the same rows
with the purpose ``email_change``: the code goes to the new address, and once it is typed the
account takes the address and the old address is told.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..adapter import get_adapter
from ..conf import guestpay_settings
from ..emails import EMAIL_CHANGE_CODE, EMAIL_CHANGED, SEALED, SIGNIN_CODE, queue_email, seal
from ..fulfilment.accounts import accounts_holding, is_placeholder, normalize_email
from ..models import SignInCode, hash_token
from ..ratelimit import configured_budget
from .codes import CodeCheck, check_code, code_hash, new_code, new_salt

HASH_KEY_SALT = "wagtail_guestpay.signin.code"
Purpose = SignInCode.Purpose
Status = SignInCode.Status


def rate_limit(name):
    """The (requests, seconds) budget ``name`` of ``SIGNIN_RATE_LIMITS``."""
    return configured_budget("SIGNIN_RATE_LIMITS", name)


def may_sign_in_with_code(user):
    """Active accounts only; staff sign in with their password unless the site allows codes."""
    if user is None or not user.is_active:
        return False
    return not (user.is_staff and guestpay_settings.SIGNIN_EXCLUDE_STAFF)


def account_for(email):
    """The active account that holds ``email`` (the most recently used of several), or None."""
    return (
        accounts_holding(email)
        .filter(is_active=True)
        .order_by(F("last_login").desc(nulls_last=True), "-pk")
        .first()
    )


def _hash(row, code):
    return code_hash(HASH_KEY_SALT, row.salt, row.user_id, row.purpose, row.email, code=code)


# 1-2. Ask and issue ----------------------------------------------------------------------------
def request_signin_code(email, next_url="", language=""):
    """Queue a sign-in code to ``email`` if an account may use one; returns the row or None.
    ``next_url`` must already be checked (same site)."""
    email = normalize_email(email)
    user = account_for(email) if email else None
    if not may_sign_in_with_code(user):
        return None
    return issue_code(user, Purpose.SIGN_IN, email, next_url=next_url, language=language)


def issue_code(user, purpose, email, *, next_url="", language=""):
    """Replace ``user``'s pending code for ``purpose`` by a new one, e-mailed to ``email``."""
    max_age = guestpay_settings.as_timedelta("SIGNIN_CODE_MAX_AGE")
    code, salt, token = new_code(), new_salt(), secrets.token_urlsafe(32)
    with transaction.atomic():
        get_user_model()._default_manager.select_for_update().filter(pk=user.pk).first()
        SignInCode.objects.filter(user=user, purpose=purpose, status=Status.PENDING).update(
            status=Status.REPLACED
        )
        row = SignInCode(
            user=user,
            purpose=purpose,
            email=email,
            salt=salt,
            link_hash=hash_token(token),
            next_url=next_url[:2000],
            expires_at=timezone.now() + max_age,
        )
        row.code_hash = _hash(row, code)
        row.save()
        kind = SIGNIN_CODE if purpose == Purpose.SIGN_IN else EMAIL_CHANGE_CODE
        queue_email(
            kind,
            email,
            user=user,
            language=language,
            data={
                "max_age_minutes": int(max_age.total_seconds() // 60),
                SEALED: seal({"code": code, "token": token}),
            },
        )
    return row


# 3-5. Type the code, or press the link's button ------------------------------------------------
@dataclass
class SignIn:
    result: CodeCheck
    user: object = None
    next_url: str = ""


def check_signin_code(email, code):
    """Check a code typed for ``email``; ACCEPTED with the account to log in, or why not."""
    email = normalize_email(email)
    row = SignInCode.objects.pending().filter(purpose=Purpose.SIGN_IN, email=email).first()
    return _check(row, code)


def _check(row, code):
    if row is None:
        return SignIn(CodeCheck.EXPIRED)
    attempt = check_code(
        row,
        code,
        hash_of=_hash,
        pending={"status": Status.PENDING},
        max_attempts=guestpay_settings.SIGNIN_CODE_MAX_ATTEMPTS,
    )
    if attempt.locks:
        SignInCode.objects.filter(pk=row.pk, status=Status.PENDING).update(status=Status.LOCKED)
    if attempt.result != CodeCheck.ACCEPTED:
        return SignIn(attempt.result)
    return _use(row)


def link_row(token):
    """The pending sign-in a link's token belongs to (nothing is used), or None."""
    if not token or len(token) > 100:
        return None
    return (
        SignInCode.objects.pending()
        .select_related("user")
        .filter(purpose=Purpose.SIGN_IN, link_hash=hash_token(token))
        .first()
    )


def use_link(token):
    """The POST behind a sign-in link's button."""
    row = link_row(token)
    if row is None:
        return SignIn(CodeCheck.EXPIRED)
    return _use(row)


def _use(row):
    used = SignInCode.objects.filter(
        pk=row.pk, status=Status.PENDING, expires_at__gt=timezone.now()
    ).update(status=Status.USED, used_at=timezone.now())
    if not used:
        return SignIn(CodeCheck.EXPIRED)
    user = get_user_model()._default_manager.filter(pk=row.user_id).first()
    if row.purpose == Purpose.SIGN_IN and not may_sign_in_with_code(user):
        return SignIn(CodeCheck.NOT_ALLOWED)
    return SignIn(CodeCheck.ACCEPTED, user=user, next_url=row.next_url)


# A new e-mail address -------------------------------------------------------------------------
def email_of(user):
    return getattr(user, user.get_email_field_name(), "") or ""


def request_email_change(user, new_email, language=""):
    """E-mail a code to ``new_email`` for ``user``; ValueError when it is no change."""
    new_email = normalize_email(new_email)
    if not new_email or is_placeholder(new_email) or new_email == normalize_email(email_of(user)):
        raise ValueError(_("Enter a new address."))
    return issue_code(user, Purpose.EMAIL_CHANGE, new_email, language=language)


def pending_email_change(user):
    return SignInCode.objects.pending().filter(user=user, purpose=Purpose.EMAIL_CHANGE).first()


def confirm_email_change(user, code, language=""):
    """Check a code typed for ``user``'s new address; when right, the account takes it (unless
    another account holds it meanwhile: NOT_ALLOWED) and the old address is told."""
    row = pending_email_change(user)
    if row is not None and accounts_holding(row.email).exclude(pk=user.pk).exists():
        return SignIn(CodeCheck.NOT_ALLOWED)
    outcome = _check(row, code)
    if outcome.result != CodeCheck.ACCEPTED:
        return outcome
    try:
        with transaction.atomic():
            _move_address(outcome.user, row.email, language)
    except IntegrityError:  # the username is taken meanwhile
        return SignIn(CodeCheck.NOT_ALLOWED)
    return outcome


def _move_address(user, new_email, language):
    User = type(user)
    user = User._default_manager.select_for_update().get(pk=user.pk)
    if accounts_holding(new_email).exclude(pk=user.pk).exists():
        raise IntegrityError("The address is taken.")
    old_email = email_of(user)
    field = user.get_email_field_name()
    setattr(user, field, new_email)
    fields = [field]
    if User.USERNAME_FIELD != field and user.get_username().lower() == old_email.lower():
        setattr(user, User.USERNAME_FIELD, get_adapter().make_username(new_email))
        fields.append(User.USERNAME_FIELD)
    user.save(update_fields=fields)
    queue_email(
        EMAIL_CHANGED, old_email, user=user, language=language, data={"new_email": new_email}
    )

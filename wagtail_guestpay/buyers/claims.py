"""Buyers fix an order's e-mail themselves, from its success page, proven by a one-time code.

Two cases, one path:

- **claim**: the payment system returned no e-mail (Google Pay / Apple Pay), the order has a
  placeholder address; the buyer gives the real one.
- **correction**: the buyer mistyped the address; allowed within ``EMAIL_CORRECTION_WINDOW`` after
  the payment, while the account the typo created has never been used, and only for the address
  the payment gave (not one staff or a claim already set).

The buyer types an address; :func:`request_code` e-mails a short random code to that address only
(through the outbox, the code sealed) and keeps a salted HMAC of it. :func:`confirm_code` checks
a typed code (few attempts, constant-time comparison) and hands the order to
:func:`wagtail_guestpay.buyers.corrections.correct_order_email`, the same move staff use: the order and
contact change address, the account is found or created, the access moves once and the access
e-mail follows. Nobody is logged in. An order's address changes at most once this way (a unique
constraint), and every step is in the order's audit log.

Nothing here looks at accounts before the code is confirmed, so what the buyer sees never depends
on whether an address has an account.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from ..conf import guestpay_settings
from ..emails import CLAIM_CODE, queue_code_email
from ..fulfilment.accounts import is_placeholder, normalize_email
from ..models import (
    Attention,
    ClaimKind,
    EmailClaim,
    GuestAccount,
    Order,
    OrderStatus,
    OutboundEmail,
)
from ..ratelimit import configured_budget
from .codes import CODE_DIGITS, CodeCheck, check_code, new_code, new_salt  # noqa: F401 (views)
from .codes import code_hash as _code_hash
from .corrections import Correction, UnusedAccount, correct_order_email

# After this many claims locked by wrong codes, the order is left to staff: asking for new codes
# must not buy unlimited guesses.
MAX_LOCKED_CLAIMS = 3
HASH_KEY_SALT = "wagtail_guestpay.claims.code"
Status = EmailClaim.Status


# Who may claim what ----------------------------------------------------------------------------
def claim_kind(order, now=None):
    """What the buyer of ``order`` may do from its success page: ``ClaimKind.CLAIM``,
    ``ClaimKind.CORRECTION`` or None."""
    if order.status != OrderStatus.PAID or order.is_free:  # a free order's address was confirmed
        return None
    if order.email_claims.filter(status=Status.USED).exists():
        return None
    if order.email_claims.filter(status=Status.LOCKED).count() >= MAX_LOCKED_CLAIMS:
        return None
    if order.email_is_placeholder:
        return ClaimKind.CLAIM
    if order.paid_as_user or order.user_id is None or order.paid_at is None:
        return None
    if (now or timezone.now()) > correction_deadline(order):
        return None
    if (
        ModelLogEntry.objects.for_instance(order)
        .filter(action="wagtail_guestpay.email_corrected")
        .exists()
    ):
        return None  # staff set this address: it is not the buyer's typo any more
    guest = GuestAccount.objects.select_related("user").filter(user_id=order.user_id).first()
    if guest is None or not guest.is_unused:
        return None
    return ClaimKind.CORRECTION


def correction_deadline(order):
    return order.paid_at + guestpay_settings.as_timedelta("EMAIL_CORRECTION_WINDOW")


def pending_claim(order):
    """The claim waiting for its code, if any (not expired)."""
    return EmailClaim.objects.pending().filter(order=order).first()


def rate_limit(name):
    """The (requests, seconds) budget ``name`` of ``CLAIM_RATE_LIMITS``."""
    return configured_budget("CLAIM_RATE_LIMITS", name)


# Codes (the primitives are in codes.py) --------------------------------------------------------
def code_hash(claim_or_salt, order_id=None, email=None, code=""):
    """HMAC-SHA256 of a code, keyed by SECRET_KEY and salted per claim (and bound to the order
    and address it was sent for)."""
    if isinstance(claim_or_salt, EmailClaim):
        salt, order_id, email = claim_or_salt.salt, claim_or_salt.order_id, claim_or_salt.email
    else:
        salt = claim_or_salt
    return _code_hash(HASH_KEY_SALT, salt, order_id, email, code=code)


def request_code(order, email):
    """Start a claim of ``order`` for ``email`` (replacing a pending one) and queue the code to
    that address. Returns the claim, or None when the order cannot be claimed (any more).

    Raises ValidationError for an address that cannot be used.
    """
    email = normalize_email(email)
    if not email or is_placeholder(email):
        raise ValidationError(_("Enter a real e-mail address."), code="invalid")
    max_age = guestpay_settings.as_timedelta("CLAIM_CODE_MAX_AGE")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        kind = claim_kind(order)
        if kind is None:
            return None
        if kind == ClaimKind.CORRECTION and email == order.email:
            raise ValidationError(
                _("This is the address we already have: enter the right one."), code="same"
            )
        EmailClaim.objects.filter(order=order, status=Status.PENDING).update(status=Status.REPLACED)
        code, salt = new_code(), new_salt()
        try:
            with transaction.atomic():
                claim = EmailClaim.objects.create(
                    order=order,
                    kind=kind,
                    email=email,
                    salt=salt,
                    code_hash=code_hash(salt, order.pk, email, code),
                    expires_at=timezone.now() + max_age,
                )
        except IntegrityError:  # a concurrent request started one: that one stands
            return pending_claim(order)
        queue_code_email(
            CLAIM_CODE,
            email,
            code,
            order=order,
            dedupe_key=f"claim:{claim.pk}",
            data={"kind": kind, "max_age_minutes": int(max_age.total_seconds() // 60)},
        )
        log(
            order,
            "wagtail_guestpay.claim_code_sent",
            data={"kind": kind, "to": email, "claim": claim.pk},
        )
    return claim


# Confirmation ----------------------------------------------------------------------------------
@dataclass
class Confirmation:
    result: CodeCheck
    attempts_left: int = 0
    correction: Correction | None = None


def confirm_code(order, code):
    """Check a code typed for ``order``'s pending claim; when right, move the order to the
    claimed address. Every call counts against the claim's attempts."""
    claim = EmailClaim.objects.filter(order=order, status=Status.PENDING).first()
    if claim is None or claim.is_expired:
        return Confirmation(CodeCheck.EXPIRED)
    attempt = check_code(
        claim,
        code,
        hash_of=lambda claim, code: code_hash(claim, code=code),
        max_attempts=guestpay_settings.CLAIM_CODE_MAX_ATTEMPTS,
        pending={"status": Status.PENDING},
    )
    if attempt.locks:
        _lock(claim)
    if attempt.result != CodeCheck.ACCEPTED:
        return Confirmation(attempt.result, attempts_left=attempt.attempts_left)
    return _complete(claim)


def _lock(claim):
    with transaction.atomic():
        if EmailClaim.objects.filter(pk=claim.pk, status=Status.PENDING).update(
            status=Status.LOCKED
        ):
            log(
                claim.order,
                "wagtail_guestpay.claim_locked",
                data={"kind": claim.kind, "to": claim.email, "claim": claim.pk},
            )


def _complete(claim):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=claim.order_id)
        if claim_kind(order) != claim.kind:
            EmailClaim.objects.filter(pk=claim.pk, status=Status.PENDING).update(
                status=Status.CANCELLED
            )
            log(
                order,
                "wagtail_guestpay.claim_refused",
                data={"kind": claim.kind, "to": claim.email, "claim": claim.pk},
            )
            return Confirmation(CodeCheck.NOT_ALLOWED)
        try:
            with transaction.atomic():
                used = EmailClaim.objects.filter(pk=claim.pk, status=Status.PENDING).update(
                    status=Status.USED, used_at=timezone.now()
                )
        except IntegrityError:  # another claim of this order was confirmed meanwhile
            used = 0
        if not used:
            return Confirmation(CodeCheck.NOT_ALLOWED)
        previous_email = order.email
        correction = correct_order_email(
            order,
            claim.email,
            via="claim",
            reason="Confirmed by the buyer with a code sent to the new address.",
            unused_account=(
                UnusedAccount.DEACTIVATE
                if claim.kind == ClaimKind.CORRECTION
                else UnusedAccount.KEEP
            ),
        )
        _stop_mail_to(order, previous_email)
        if not correction.user.is_active:
            from ..fulfilment.confirmation import flag

            flag(
                correction.order,
                Attention.INACTIVE_ACCOUNT,
                f"Claimed for {claim.email}, whose account {correction.user.pk} is deactivated.",
            )
    return Confirmation(CodeCheck.ACCEPTED, correction=correction)


def _stop_mail_to(order, address):
    """The wrong address gets nothing more: drop this order's unsent e-mails to it."""
    OutboundEmail.objects.filter(order=order, to_email=address, sent_at__isnull=True).update(
        next_attempt_at=None, last_error="Not sent: the buyer corrected the address."
    )

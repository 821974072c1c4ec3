"""E-mails to buyers and staff, through an outbox.

An e-mail is queued as an :class:`~wagtail_guestpay.models.OutboundEmail` row inside the
transaction that decides it (its ``dedupe_key`` makes "one access e-mail per order" a database
fact), and delivered after commit by a task that claims the row with a lease, renders it in the
buyer's language and sends it through Django's e-mail API. A failed send is retried with back-off;
a placeholder address is never written to.

A worker that decides e-mails (the drain of payment events) sends them itself once its transaction
commits (:func:`sending_here`): the row is queued already leased to it, so no task row, dequeue
and acknowledgement are written per e-mail; what it cannot send (a failure, a worker killed
before sending) is retried by the maintenance task once the lease has passed, as above.

A secret an e-mail must carry (a claim's one-time code) is queued under ``data["sealed"]``,
encrypted with the credential keys (:mod:`wagtail_guestpay.crypto`), and dropped from the row once
the message is sent or given up: the database never holds it in clear.
"""

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from . import queueing
from .adapter import get_adapter
from .conf import guestpay_settings
from .email_builders import build_message
from .email_kinds import (
    ACCESS,
    ACCESS_GRANTED,
    ACCESS_LINK,
    CLAIM_CODE,
    EMAIL_CHANGE_CODE,
    EMAIL_CHANGED,
    FREE_CODE,
    KIND_LABELS,
    PASSWORD_RESET,
    REFUND,
    REGISTRATION_CODE,
    REGISTRATION_EXISTING,
    SEALED,
    SIGNIN_CODE,
    STAFF_NOTICE,
    STAFF_NOTICE_REASONS,
    kind_label,
)
from .fulfilment.accounts import is_placeholder
from .fulfilment.storing import insert_one
from .models import OutboundEmail

# The kinds (email_kinds.py) and the builders (email_builders.py) are part of this module's API.
__all__ = [
    "ACCESS",
    "ACCESS_LINK",
    "ACCESS_GRANTED",
    "STAFF_NOTICE",
    "CLAIM_CODE",
    "REGISTRATION_CODE",
    "REGISTRATION_EXISTING",
    "FREE_CODE",
    "SIGNIN_CODE",
    "EMAIL_CHANGE_CODE",
    "EMAIL_CHANGED",
    "PASSWORD_RESET",
    "REFUND",
    "SEALED",
    "KIND_LABELS",
    "STAFF_NOTICE_REASONS",
    "kind_label",
    "LEASE",
    "build_message",
    "queue_email",
    "queue_code_email",
    "queue_access_email",
    "queue_staff_notice",
    "retry_delay",
    "deliver",
    "sending_here",
    "seal",
    "due_emails",
]

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
_here = threading.local()


@contextmanager
def sending_here():
    """E-mails queued inside this block are sent by this thread after their transaction commits,
    rather than by a task of their own (for workers; a web request never sends)."""
    previous = getattr(_here, "active", False)
    _here.active = True
    try:
        yield
    finally:
        _here.active = previous


def queue_email(kind, to_email, *, user=None, order=None, dedupe_key=None, data=None, language=""):
    """Record an e-mail to send once the current transaction commits; returns the row, or None
    when ``dedupe_key`` was queued before (or the address is a placeholder)."""
    if not to_email or is_placeholder(to_email):
        return None
    here = getattr(_here, "active", False)
    now = timezone.now()
    outbound = OutboundEmail(
        kind=kind,
        to_email=to_email,
        user=user,
        order=order,
        dedupe_key=dedupe_key,
        data=data or {},
        language=language or (order.language if order else ""),
        # Sent here: claimed by this worker from the start (deliver()'s lease).
        attempts=1 if here else 0,
        next_attempt_at=now + LEASE if here else now,
    )
    if not insert_one(OutboundEmail, outbound):  # dedupe_key: queued before
        return None
    if here:
        transaction.on_commit(lambda: _send(outbound.pk, now), robust=True)
    else:
        transaction.on_commit(
            lambda: queueing.enqueue("wagtail_guestpay.tasks.send_email", outbound.pk)
        )
    return outbound


def queue_code_email(kind, to_email, code, *, data=None, **kwargs):
    """:func:`queue_email` for an e-mail that carries a one-time code: the code is sealed in the
    row, and dropped from it once the message is sent or given up."""
    return queue_email(
        kind, to_email, data={**(data or {}), SEALED: seal({"code": code})}, **kwargs
    )


def queue_access_email(order, user):
    """The one access e-mail of a paid order."""
    return queue_email(
        ACCESS, _user_email(user), user=user, order=order, dedupe_key=f"order:{order.pk}:access"
    )


def queue_staff_notice(reason, *, order=None, detail=""):
    key = f"order:{order.pk}:staff:{reason}" if order else None
    for address in get_adapter().get_staff_emails():
        queue_email(
            STAFF_NOTICE,
            address,
            order=order,
            dedupe_key=f"{key}:{address}" if key else None,
            data={"reason": reason, "detail": detail},
            language="",
        )


def _user_email(user):
    return getattr(user, user.get_email_field_name(), "") or ""


def retry_delay(attempts):
    return min(timedelta(minutes=1) * (2 ** max(attempts - 1, 0)), timedelta(hours=6))


def deliver(outbound_id):
    """Send one queued e-mail if it is due and unsent. Safe to call twice: the row is claimed with
    a conditional update before anything is sent."""
    now = timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=outbound_id, sent_at__isnull=True)
        .filter(next_attempt_at__lte=now)
        .update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )
    if not claimed:
        return False
    return _send(outbound_id, now)


def _send(outbound_id, now):
    """Send an e-mail this worker has claimed (deliver(), or queued by :func:`sending_here`)."""
    outbound = OutboundEmail.objects.select_related(
        "order__offer", "order__site", "order__receipt", "user"
    ).get(pk=outbound_id)
    if is_placeholder(outbound.to_email):
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            next_attempt_at=None, last_error="Not sent: placeholder address."
        )
        return False
    try:
        # The buyer's language; the site's default for e-mails to staff and when none is known.
        with translation.override(outbound.language or settings.LANGUAGE_CODE):
            prefix, context = build_message(outbound)
            get_adapter().send_mail(prefix, outbound.to_email, context)
    except Exception as exc:  # the e-mail backend or a template failed: retry later
        give_up = outbound.attempts >= guestpay_settings.EMAIL_MAX_ATTEMPTS
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            next_attempt_at=None if give_up else now + retry_delay(outbound.attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            **(_unsealed(outbound) if give_up else {}),
        )
        logger.warning(
            "E-mail %s (%s) failed, attempt %s",
            outbound.pk,
            outbound.kind,
            outbound.attempts,
            exc_info=True,
        )
        return False
    OutboundEmail.objects.filter(pk=outbound.pk).update(
        sent_at=timezone.now(), next_attempt_at=None, last_error="", **_unsealed(outbound)
    )
    return True


def seal(data):
    """Encrypt a secret for ``queue_email(..., data={SEALED: seal({...})})``."""
    from .crypto import encrypt_json

    return encrypt_json(data)


def _unsealed(outbound):
    """The update that drops a sent (or abandoned) message's sealed secret."""
    if SEALED not in outbound.data:
        return {}
    return {"data": {key: value for key, value in outbound.data.items() if key != SEALED}}


def due_emails(limit=100):
    return OutboundEmail.objects.filter(
        sent_at__isnull=True, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:limit]

"""The confirmation pipeline: from what a provider said to access and e-mail.

1. :func:`store_events` keeps every verified provider event as a PaymentEvent, unique per provider
   account and event id (a redelivery is a no-op), and wakes a drain (fulfilment/dispatch.py).
2. :func:`process_event` (a task) lets the provider complete the event (e.g. a PayPal capture),
   then, in one transaction holding the order's lock, checks amount and currency, moves the status
   through :func:`~wagtail_guestpay.transitions.move_payment` and, when the payment became paid,
   finds or creates the buyer's account, grants access once and queues the access e-mail.
3. :func:`check_payment` asks the provider for the status of an unconfirmed payment, with back-off,
   and feeds the answer through the same path; :func:`expire_stale_payments` gives up after the
   confirmation window.

Business rules live here; providers only translate.
"""

import logging
import traceback
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import queue, signals
from .access import grant_access, revoke_order_access
from .accounts import contact_for, find_or_create_user, make_placeholder_email, normalize_email
from .conf import guestpay_settings
from .emails import queue_access_email, queue_staff_notice
from .fulfilment.dispatch import wake
from .fulfilment.storing import insert_ignoring_conflicts
from .models import (
    AccessGrant,
    Attention,
    Contact,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderReference,
)
from .money import same_amount
from .providers.base import EventStatus, ProviderEvent
from .providers.exceptions import ProviderError
from .transitions import move_payment

logger = logging.getLogger(__name__)

Outcome = PaymentEvent.Outcome

STATUS_FOR_EVENT = {
    EventStatus.CREATED: PaymentStatus.CREATED,
    EventStatus.PENDING: PaymentStatus.PENDING,
    EventStatus.APPROVED: PaymentStatus.APPROVED,
    EventStatus.PAID: PaymentStatus.PAID,
    EventStatus.FAILED: PaymentStatus.FAILED,
    EventStatus.EXPIRED: PaymentStatus.EXPIRED,
    EventStatus.CANCELLED: PaymentStatus.CANCELLED,
    EventStatus.REFUNDED: PaymentStatus.REFUNDED,
    EventStatus.REVERSED: PaymentStatus.REFUNDED,
}

OPEN_STATUSES = (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.APPROVED)
SCRUBBED_HEADERS = {"cookie", "authorization", "proxy-authorization"}


# 1. Storing ----------------------------------------------------------------------------------
def store_events(account, events, *, source, notification=None, enqueue_processing=True):
    """Store verified ``events`` in one INSERT (a redelivery inserts nothing: unique per account
    and event id, ON CONFLICT DO NOTHING, no savepoint). A drain takes them after commit.

    Without ``enqueue_processing`` the caller processes them itself: they are stored leased (no
    drain takes them meanwhile), and the ids of those not processed yet are returned.
    """
    lease = None if enqueue_processing else (
        timezone.now() + guestpay_settings.as_timedelta("EVENT_TASK_GRACE"))
    body = headers = None
    if notification is not None:
        body = _body_text(notification.body)
        headers = _scrub_headers(notification.headers)
    rows = []
    for event in events:
        event_id = event.event_id
        if source == PaymentEvent.Source.STATUS_CHECK:
            event_id = f"check:{event_id}"
        rows.append(PaymentEvent(
            account=account, provider_event_id=_no_nul(event_id[:255]), source=source,
            event_type=_no_nul(event.event_type[:100]), data=_no_nul(event.to_dict()),
            headers=headers or {}, body=body or "", next_attempt_at=lease,
        ))
    if not rows:
        return []
    insert_ignoring_conflicts(PaymentEvent, rows)
    if enqueue_processing:
        wake()
        return []
    return list(PaymentEvent.objects.filter(
        account=account, provider_event_id__in=[row.provider_event_id for row in rows],
        processed_at__isnull=True,
    ).order_by("pk").values_list("pk", flat=True))


def store_rejected(account, notification, reason):
    """Keep a notification that failed verification, for staff to see. It changes nothing."""
    if not guestpay_settings.STORE_REJECTED_NOTIFICATIONS:
        return None
    with transaction.atomic():  # a failure here must not break the caller's transaction
        return PaymentEvent.objects.create(
            account=account, provider_event_id=None, source=PaymentEvent.Source.NOTIFICATION,
            signature_valid=False, body=_body_text(notification.body, limit=16 * 1024),
            headers=_scrub_headers(notification.headers), outcome=Outcome.REJECTED,
            error=_no_nul(str(reason)[:500]), processed_at=timezone.now(),
        )


def _body_text(body, limit=None):
    text = _no_nul(body.decode("utf-8", errors="replace"))
    return text[:limit] if limit else text


def _scrub_headers(headers):
    return {
        key: _no_nul(value[:1000]) for key, value in headers.items()
        if key.lower() not in SCRUBBED_HEADERS
    }


def _no_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters: replace them (SQLite can, but the
    stored text must be the same on both)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_no_nul(key): _no_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nul(item) for item in value]
    return value


def _enqueue_after_commit(func, *args):
    """Queue ``func`` once the current transaction commits.

    On django-q2's ORM broker in the same database the task row is written inside the current
    transaction instead: it becomes visible to the workers exactly when the event does (or
    never, on rollback), and the request stays one write transaction: SQLite has one writer at a
    time, and a second transaction per notification halves what it can ingest (see
    bench/results). Other brokers (Redis) are written to after the commit, since a worker could
    otherwise look for the event before it is committed.
    """
    if queue.queue_shares_transaction():
        queue.enqueue(func, *args)
    else:
        transaction.on_commit(lambda: queue.enqueue(func, *args), robust=True)


# 2. Processing -------------------------------------------------------------------------------
def find_payment(account, event):
    """The payment an event is about: by our reference, else by any provider id we know."""
    payments = Payment.objects.select_related("order__offer").filter(account=account)
    if event.reference:
        payment = payments.filter(reference=event.reference).first()
        if payment is not None:
            return payment
    references = event.all_provider_references()
    if references:
        payment = payments.filter(provider_reference__in=references).first()
        if payment is not None:
            return payment
        return payments.filter(references__value__in=references).first()
    return None


def remember_references(payment, references):
    """Record the provider's other ids of ``payment`` (idempotent, one INSERT at most; the main
    id is ``payment.provider_reference`` itself, found without a row here)."""
    values = {value[:255] for value in references if value}
    values.discard(payment.provider_reference)
    if values:
        ProviderReference.objects.bulk_create(
            [ProviderReference(account_id=payment.account_id, payment=payment, value=value)
             for value in sorted(values)],
            ignore_conflicts=True,
        )


def process_event(event_id):
    """Apply one stored event; returns its outcome. Safe to run twice or concurrently: the event
    row is locked and marked processed in the same transaction that applies it. A failure rolls
    the transaction back and is recorded on the event, which the sweeper retries with back-off."""
    event = (
        PaymentEvent.objects.select_related("account")
        .filter(pk=event_id, processed_at__isnull=True, signature_valid=True)
        .first()
    )
    if event is None:
        return None
    try:
        provider_event = ProviderEvent.from_dict(event.data)
        payment = find_payment(event.account, provider_event)
        if payment is not None:
            resolved = event.account.get_provider().resolve_event(payment, provider_event)
        else:
            resolved = provider_event
        with transaction.atomic():
            locked = PaymentEvent.objects.select_for_update().get(pk=event_id)
            if locked.processed_at is not None:
                return locked.outcome
            outcome = apply_event(payment, resolved, source=locked.source)
            if resolved != provider_event:
                locked.data = {**locked.data, "resolved": resolved.to_dict()}
            locked.payment = payment
            locked.outcome = outcome
            locked.processed_at = timezone.now()
            locked.next_attempt_at = None
            locked.attempts = F("attempts") + 1
            locked.error = ""
            locked.save()
        return outcome
    except Exception as exc:  # recorded on the event and retried with back-off by the sweeper
        _record_failure(event, exc)
        return Outcome.FAILED


def _record_failure(event, exc):
    attempts = event.attempts + 1
    give_up = attempts >= guestpay_settings.EVENT_MAX_ATTEMPTS
    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
    PaymentEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(
        attempts=attempts, error=error,
        outcome=Outcome.FAILED if give_up else Outcome.WAITING,
        next_attempt_at=None if give_up else timezone.now() + poll_delay(attempts),
    )
    logger.error("Payment event %s failed (attempt %s): %s", event.pk, attempts, error,
                 exc_info=exc)
    if give_up:
        queue_staff_notice("event_failed", detail=f"Payment event {event.pk}: {error}")


def apply_event(payment, event, *, source=""):
    """Apply a (resolved) provider event to its payment; returns the event's outcome.

    Runs inside the caller's transaction; takes the order's row lock first.
    """
    if payment is None:
        queue_staff_notice(
            "unknown_payment",
            detail=f"{event.event_type} {event.reference or event.provider_reference}",
        )
        return Outcome.UNKNOWN_PAYMENT
    order = Order.objects.select_for_update(of=("self",)).select_related("offer", "user").get(
        pk=payment.order_id
    )
    payment.refresh_from_db()
    payment.order = order
    _remember_payer(payment, event)
    reason = f"{source}: {event.event_type or event.status}".strip(": ")

    if event.status == EventStatus.PARTIALLY_REFUNDED:
        flag(order, Attention.PARTIAL_REFUND, f"{event.refunded_amount} {event.currency}")
        return Outcome.APPLIED

    target = STATUS_FOR_EVENT[event.status]
    if target == PaymentStatus.PAID and not same_amount(
        payment.amount, payment.currency, event.amount, event.currency
    ):
        note = (
            f"Expected {payment.amount} {payment.currency}, the payment system said "
            f"{event.amount} {event.currency or '?'} ({payment.reference})."
        )
        if move_payment(payment, PaymentStatus.ON_HOLD, reason=f"{reason}: amount mismatch"):
            flag(order, Attention.AMOUNT_MISMATCH, note)
        return Outcome.AMOUNT_MISMATCH

    if not move_payment(payment, target, reason=reason):
        return Outcome.NO_CHANGE
    if target == PaymentStatus.PAID:
        fulfil_order(order, payment, event)
    elif target == PaymentStatus.REFUNDED:
        _after_refund(order, payment, event)
    return Outcome.APPLIED


def _remember_payer(payment, event):
    fields = []
    email = normalize_email(event.email)
    if email and email != payment.payer_email:
        payment.payer_email = email
        fields.append("payer_email")
    if event.payer_name and not payment.payer_name:
        payment.payer_name = event.payer_name[:255]
        fields.append("payer_name")
    if event.provider_reference and not payment.provider_reference:
        payment.provider_reference = event.provider_reference[:255]
        fields.append("provider_reference")
    if event.detail:
        payment.detail = event.detail[:255]
        fields.append("detail")
    if fields:
        payment.save(update_fields=[*fields, "updated_at"])
    remember_references(payment, event.all_provider_references())


def flag(order, reason, note=""):
    """Put an order in the staff's "needs attention" queue and tell staff."""
    order.attention = reason
    if note:
        order.attention_note = f"{order.attention_note}\n{note}".strip()
    order.save(update_fields=["attention", "attention_note", "updated_at"])
    queue_staff_notice(reason, order=order, detail=note)


def fulfil_order(order, payment, event):
    """A payment became paid: find or create the buyer's account, grant the offer's products and
    queue the access e-mail. Runs once per order (the caller moved the payment to PAID)."""
    if order.paid_as_user and order.user_id:
        user = order.user
        email = normalize_email(getattr(user, user.get_email_field_name(), ""))
        contact = contact_for(email, source=Contact.Source.LOGGED_IN) if email else None
        _link(order, contact, user, email or order.email)
        _grant_and_tell(order, user)
        return

    email = normalize_email(event.email) or payment.payer_email or normalize_email(order.email)
    if not email:
        placeholder = make_placeholder_email()
        contact = contact_for(placeholder, source=Contact.Source.GUEST_PAYMENT, is_placeholder=True)
        order.email_is_placeholder = True
        _link(order, contact, None, placeholder)
        flag(order, Attention.PLACEHOLDER_EMAIL,
             f"{payment.account.get_kind_display()} returned no e-mail ({payment.reference}).")
        return

    contact = contact_for(email, source=Contact.Source.GUEST_PAYMENT)
    buyer = find_or_create_user(email)
    if buyer.created:
        user = buyer.user
        transaction.on_commit(
            lambda: signals.account_created.send(sender=type(user), user=user, order=order),
            robust=True,
        )
    _link(order, contact, buyer.user, email)
    if not buyer.user.is_active:
        flag(order, Attention.INACTIVE_ACCOUNT, f"Account {buyer.user.pk} is deactivated.")
        return
    if buyer.several:
        flag(order, Attention.SEVERAL_ACCOUNTS,
             f"Several accounts use {email}; access went to account {buyer.user.pk}.")
    _grant_and_tell(order, buyer.user)


def _link(order, contact, user, email):
    order.contact = contact
    order.user = user
    order.email = email
    order.save(update_fields=["contact", "user", "email", "email_is_placeholder", "updated_at"])
    if contact is not None and user is not None and contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user", "updated_at"])


def _grant_and_tell(order, user):
    for product in order.offer.get_products():
        grant_access(user, product, source=AccessGrant.Source.ORDER, order=order)
    queue_access_email(order, user)


def _after_refund(order, payment, event):
    order.refresh_from_db(fields=["status"])
    revoked = 0
    if order.status == OrderStatus.REFUNDED and order.offer.revoke_on_refund:
        revoked = revoke_order_access(order, note=f"{event.event_type or 'refund'}")
    kind = "reversed" if event.status == EventStatus.REVERSED else "refunded"
    queue_staff_notice(
        Attention.REFUNDED, order=order,
        detail=f"Payment {payment.reference} {kind}; {revoked} access grant(s) revoked.",
    )


# 3. Following up unconfirmed payments --------------------------------------------------------
def poll_delay(attempts):
    first = guestpay_settings.as_timedelta("POLL_FIRST_DELAY")
    longest = guestpay_settings.as_timedelta("POLL_MAX_DELAY")
    factor = guestpay_settings.POLL_BACKOFF_FACTOR
    return min(first * (factor ** max(attempts - 1, 0)), longest)


def check_payment(payment_id, *, statuses=OPEN_STATUSES, raise_errors=False):
    """Ask the provider where an unconfirmed payment stands and apply the answer.

    Staff may also re-check a payment that failed or expired (``statuses``), since a provider can
    still report it paid; ``raise_errors`` lets them see a ProviderError instead of silence.
    """
    payment = Payment.objects.select_related("account").filter(
        pk=payment_id, status__in=statuses
    ).first()
    if payment is None:
        return None
    now = timezone.now()
    count = payment.check_count + 1
    Payment.objects.filter(pk=payment.pk).update(
        check_count=count, last_checked_at=now, next_check_at=now + poll_delay(count)
    )
    try:
        event = payment.account.get_provider().fetch_status(payment)
    except ProviderError as exc:
        logger.info("Status check of %s failed: %s", payment.reference, exc)
        if raise_errors:
            raise
        return None
    if event is None:
        return None
    outcome = None
    for event_pk in store_events(payment.account, [event],
                                 source=PaymentEvent.Source.STATUS_CHECK, enqueue_processing=False):
        outcome = process_event(event_pk)
    return outcome


def request_status_check(payment):
    """Queue a status check for a buyer waiting on the return page, at most once per interval."""
    now = timezone.now()
    interval = timedelta(seconds=guestpay_settings.RETURN_PAGE_CHECK_INTERVAL)
    claimed = (
        Payment.objects.filter(pk=payment.pk, status__in=OPEN_STATUSES)
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=now - interval))
        .update(last_checked_at=now)
    )
    if claimed:
        _enqueue_after_commit("wagtail_guestpay.tasks.check_payment_status", payment.pk)
    return bool(claimed)


def expire_stale_payments(limit=100):
    """Expire open payments older than the confirmation window; returns how many."""
    cutoff = timezone.now() - guestpay_settings.as_timedelta("CONFIRMATION_WINDOW")
    expired = 0
    ids = Payment.objects.filter(status__in=OPEN_STATUSES, created_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:limit]
    for payment_id in list(ids):
        with transaction.atomic():
            payment = Payment.objects.select_related("order").get(pk=payment_id)
            Order.objects.select_for_update().filter(pk=payment.order_id).first()
            payment.refresh_from_db()
            expired += move_payment(
                payment, PaymentStatus.EXPIRED, reason="not confirmed within the window"
            )
    return expired

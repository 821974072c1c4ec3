"""The confirmation pipeline: from what a provider said to access and e-mail.

1. :func:`~.intake.store_events` (intake.py) keeps every verified provider event as a
   PaymentEvent, unique per provider account and event id (a redelivery is a no-op), and wakes
   a drain (dispatch.py, drain.py) that runs :func:`process_event` on it.
2. :func:`process_event` (here; a task) lets the provider complete the event (e.g. a PayPal
   capture), then, in one transaction holding the order's lock, checks amount and currency,
   moves the status through :func:`~.transitions.move_payment` and, when the payment became
   paid, finds or creates the buyer's account, grants access once and queues the access e-mail.
   An account that already held every product still gets the order's grants (the payment system
   took the money), but the order is marked ``bought_twice`` for staff. A payment never logs
   anyone in.
3. :func:`~.follow_up.check_payment` (follow_up.py) asks the provider for the status of an
   unconfirmed payment, with back-off, and feeds the answer through the same path;
   :func:`~.follow_up.expire_stale_payments` gives up after the confirmation window.

Business rules live here; providers only translate.
"""

import logging
import traceback

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import signals
from ..conf import guestpay_settings
from ..emails import REFUND, queue_access_email, queue_email, queue_staff_notice
from ..models import (
    AccessGrant,
    Attention,
    Contact,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderReference,
    Refund,
    RefundStatus,
)
from ..money import quantize, same_amount
from ..providers.base import EventStatus, ProviderEvent
from .access import grant_access, holds_every, revoke_order_access
from .accounts import contact_for, find_or_create_user, make_placeholder_email, normalize_email
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
            [
                ProviderReference(account_id=payment.account_id, payment=payment, value=value)
                for value in sorted(values)
            ],
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
            payment.account = event.account  # the same row: no query for it later
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
        attempts=attempts,
        error=error,
        outcome=Outcome.FAILED if give_up else Outcome.WAITING,
        next_attempt_at=None if give_up else timezone.now() + poll_delay(attempts),
    )
    logger.error(
        "Payment event %s failed (attempt %s): %s", event.pk, attempts, error, exc_info=exc
    )
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
    # What the paid order's receipt and coupon use need comes with the lock, in one query.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("offer", "user", "site", "receipt", "redemption__coupon")
        .get(pk=payment.order_id)
    )
    account = payment.account  # refresh_from_db() forgets it
    payment.refresh_from_db()
    payment.order = order
    payment.account = account
    _remember_payer(payment, event)
    reason = f"{source}: {event.event_type or event.status}".strip(": ")

    if event.status == EventStatus.PARTIALLY_REFUNDED:
        _after_partial_refund(order, payment, event)
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
        deliver_to_account(order)
        return

    email = normalize_email(event.email) or payment.payer_email or normalize_email(order.email)
    if not email:
        placeholder = make_placeholder_email()
        contact = contact_for(
            placeholder,
            source=Contact.Source.GUEST_PAYMENT,
            is_placeholder=True,
            name=payment.payer_name,
        )
        order.email_is_placeholder = True
        _link(order, contact, None, placeholder)
        flag(
            order,
            Attention.PLACEHOLDER_EMAIL,
            f"{payment.account.get_kind_display()} returned no e-mail ({payment.reference}).",
        )
        return
    deliver_to_email(order, email, source=Contact.Source.GUEST_PAYMENT, name=payment.payer_name)


def deliver_to_account(order):
    """Grant a settled order to the account that was signed in when it was made."""
    user = order.user
    email = normalize_email(getattr(user, user.get_email_field_name(), ""))
    contact = contact_for(email, source=Contact.Source.LOGGED_IN) if email else None
    _link(order, contact, user, email or order.email)
    _grant_and_tell(order, user)


def deliver_to_email(order, email, *, source, name=""):
    """Grant a settled order to the account of a (normalized, real) ``email``: the only one, the
    most recently used of several, or a new one that gets the set-up link. Nobody is logged in.
    Paid orders (above) and free ones (free.py) both come through here."""
    contact = contact_for(email, source=source, name=name)
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
        flag(
            order,
            Attention.SEVERAL_ACCOUNTS,
            f"Several accounts use {email}; access went to account {buyer.user.pk}.",
        )
    _grant_and_tell(order, buyer.user, new_account=buyer.created)


def _link(order, contact, user, email):
    order.contact = contact
    order.user = user
    order.email = email
    order.save(update_fields=["contact", "user", "email", "email_is_placeholder", "updated_at"])
    if contact is not None and user is not None and contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user", "updated_at"])


def _grant_and_tell(order, user, *, new_account=False):
    products = order.offer.product_pages()
    # A free order has nothing to refund; an account created for this order holds nothing yet.
    if not order.is_free and not new_account and holds_every(user, products):
        order.bought_twice = True
        order.save(update_fields=["bought_twice", "updated_at"])
        note = f"Account {user.pk} already had every product of {order.offer.title}."
        if order.attention:  # an earlier reason (several accounts) stays the one to act on
            order.attention_note = f"{order.attention_note}\n{note}".strip()
            order.save(update_fields=["attention_note", "updated_at"])
        else:
            flag(order, Attention.BOUGHT_TWICE, note)
    for product in products:
        grant_access(user, product, source=AccessGrant.Source.ORDER, order=order)
    queue_access_email(order, user)


def _after_partial_refund(order, payment, event):
    """A partial refund staff made here is expected: the buyer is told. Any other one (made at
    the payment system) waits for staff."""
    refunded = event.refunded_amount
    done = Refund.objects.filter(payment=payment, status=RefundStatus.DONE).total()
    if refunded is None or refunded <= 0 or done < refunded:
        flag(order, Attention.PARTIAL_REFUND, f"{refunded} {event.currency}")
        return
    _queue_refund_email(
        order,
        refunded,
        access_revoked=False,
        dedupe_key=f"order:{order.pk}:refund:{payment.pk}:{refunded}",
    )


def _after_refund(order, payment, event):
    order.refresh_from_db(fields=["status"])
    revoked = 0
    if order.status == OrderStatus.REFUNDED and order.offer.revoke_on_refund:
        revoked = revoke_order_access(order, note=f"{event.event_type or 'refund'}")
    kind = "reversed" if event.status == EventStatus.REVERSED else "refunded"
    if kind == "refunded":  # a chargeback is the bank's doing, not a refund to announce
        _queue_refund_email(
            order,
            event.refunded_amount or payment.amount,
            access_revoked=bool(revoked),
            dedupe_key=f"order:{order.pk}:refund:{payment.pk}",
        )
    queue_staff_notice(
        Attention.REFUNDED,
        order=order,
        detail=f"Payment {payment.reference} {kind}; {revoked} access grant(s) revoked.",
    )


def _queue_refund_email(order, amount, *, access_revoked, dedupe_key):
    """Tell the buyer that ``amount`` of their payment for ``order`` is on its way back."""
    queue_email(
        REFUND,
        order.email,
        user=order.user,
        order=order,
        dedupe_key=dedupe_key,
        data={
            "amount": str(quantize(amount, order.currency)),
            "currency": order.currency,
            "access_revoked": access_revoked,
        },
    )


def poll_delay(attempts):
    first = guestpay_settings.as_timedelta("POLL_FIRST_DELAY")
    longest = guestpay_settings.as_timedelta("POLL_MAX_DELAY")
    factor = guestpay_settings.POLL_BACKOFF_FACTOR
    return min(first * (factor ** max(attempts - 1, 0)), longest)

"""Refunding a paid order from the admin (the "Refund" fix).

Three steps, so that no database lock is held while the payment system is asked:

1. :func:`_request`: in one transaction holding the order's lock, check what may still be
   refunded and record a :class:`~wagtail_guestpay.models.Refund` row. Its ``form_key`` (the staff
   form's one-time token) is unique: the same form sent twice makes one request. A request whose
   earlier try got no answer (a timeout) is tried again under the same idempotency key.
2. The provider's :meth:`~wagtail_guestpay.providers.base.Provider.refund` translates the request
   for its API and the answer back (Stripe's Idempotency-Key and PayPal's PayPal-Request-Id carry
   the Refund's key).
3. :func:`_settle`: in a second transaction holding the order's lock, record the answer. A refund
   that is done becomes a provider event applied through the confirmation pipeline, exactly like
   the payment system's own refund notification: whichever of the two comes first moves the
   payment (``move_payment`` makes the second a no-op), revokes access per the offer's switch and
   queues the buyer's refund e-mail, once.

Every step is in the order's audit log with who asked and why.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..fulfilment.confirmation import apply_event
from ..fulfilment.intake import store_events
from ..models import Attention, Payment, PaymentEvent, PaymentStatus, Refund, RefundStatus
from ..providers.base import EventStatus, ProviderEvent
from ..providers.base import RefundStatus as Answer
from ..providers.exceptions import ProviderError
from .common import NothingToDo, _lock_order

ACTION_REFUND_REQUESTED = "wagtail_guestpay.refund_requested"
ACTION_REFUND_ANSWERED = "wagtail_guestpay.refund_answered"
# A request still "being sent" after this long lost its process (the provider's timeouts are
# far shorter): the next "Refund" sends it again, under the same key.
STALE_AFTER = timedelta(minutes=10)

REFUND_STATUS_FOR_ANSWER = {
    Answer.DONE: RefundStatus.DONE,
    Answer.PENDING: RefundStatus.PENDING,
    Answer.FAILED: RefundStatus.FAILED,
}


class RefundRefused(Exception):
    """The payment system refused the refund or could not be asked; nothing changed. The
    message (no secrets: providers' errors never carry them) is for the member of staff."""


@dataclass(frozen=True)
class Refundable:
    """What of an order may be refunded now, and how."""

    payment: Payment | None
    amount: Decimal  # still refundable
    partial: bool  # the payment system takes less than the whole amount
    supported: bool  # the payment system can refund through its API


def refundable(order):
    """The order's paid payment and how much of it may still be refunded."""
    payment = (
        order.payments.select_related("account")
        .filter(status=PaymentStatus.PAID)
        .order_by("created_at", "pk")
        .first()
    )
    if payment is None:
        return Refundable(None, Decimal(0), False, False)
    provider = payment.account.get_provider()
    held = Refund.objects.filter(payment=payment).holding().total()
    return Refundable(
        payment,
        max(payment.amount - held, Decimal(0)),
        bool(provider.can_refund_partially),
        bool(provider.can_refund),
    )


def refund_order(order, *, by, reason, amount=None, form):
    """Refund ``amount`` (the whole remaining amount when None) of ``order``'s paid payment;
    returns the Refund. Raises NothingToDo when the state makes it pointless (refunded already,
    the same form again, a refund on its way) and RefundRefused when the payment system says no
    or cannot be reached."""
    refund = _request(order, by=by, reason=reason, amount=amount, form=form)
    provider = refund.payment.account.get_provider()
    try:
        answer = provider.refund(refund.payment, refund.amount, key=refund.idempotency_key)
    except ProviderError as exc:
        # No answer (or none that can be read): the refund may or may not have been made. It
        # stays counted and is sent again, under the same key, by the next "Refund".
        status = RefundStatus.FAILED if not exc.retryable else RefundStatus.UNKNOWN
        _settle(refund, by=by, status=status, detail=str(exc))
        raise RefundRefused(str(exc)) from exc
    except Exception:  # a bug: the request must not stay "being sent" for ever
        _settle(refund, by=by, status=RefundStatus.UNKNOWN, detail="error, see the logs")
        raise
    status = REFUND_STATUS_FOR_ANSWER[answer.status]
    refund = _settle(refund, by=by, status=status, detail=answer.detail, refund_id=answer.refund_id)
    if status == RefundStatus.FAILED:
        raise RefundRefused(answer.detail or _("The payment system refused the refund."))
    return refund


def _request(order, *, by, reason, amount, form):
    with transaction.atomic():
        order = _lock_order(order)
        if Refund.objects.filter(form_key=form).exists():
            raise NothingToDo(_("This refund was already sent (the form was sent twice)."))
        state = refundable(order)
        if state.payment is None:
            raise NothingToDo(_("This order has no paid payment to refund."))
        if not state.supported:
            raise RefundRefused(
                _(
                    "%(system)s cannot refund through its API: refund at the "
                    "payment system's dashboard."
                )
                % {"system": state.payment.account.get_kind_display()}
            )
        refunds = Refund.objects.filter(payment=state.payment)
        sending = refunds.filter(status=RefundStatus.REQUESTED)
        if sending.filter(updated_at__gte=timezone.now() - STALE_AFTER).exists():
            raise NothingToDo(_("A refund of this payment is being sent right now."))
        # Without an answer, or sent by a process that died before recording it: send again.
        unanswered = (
            refunds.filter(status__in=(RefundStatus.UNKNOWN, RefundStatus.REQUESTED))
            .order_by("pk")
            .first()
        )
        if unanswered is not None:  # try the same request again, under the same key
            unanswered.status = RefundStatus.REQUESTED
            unanswered.attempts += 1
            unanswered.save(update_fields=["status", "attempts", "updated_at"])
            _log(order, ACTION_REFUND_REQUESTED, unanswered, by, reason, form, retry=True)
            return unanswered
        amount = state.amount if amount is None else Decimal(amount)
        if state.amount <= 0:
            raise NothingToDo(_("This payment is refunded already."))
        if amount <= 0 or amount > state.amount:
            raise RefundRefused(
                _("The amount must be more than 0 and at most %(amount)s.")
                % {"amount": state.amount}
            )
        if amount < state.amount and not state.partial:
            raise RefundRefused(
                _("%(system)s refunds the whole amount only.")
                % {"system": state.payment.account.get_kind_display()}
            )
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    order=order,
                    payment=state.payment,
                    amount=amount,
                    currency=state.payment.currency,
                    reason=reason,
                    requested_by=by,
                    form_key=form,
                    attempts=1,
                )
        except IntegrityError as exc:  # the same form, sent at the same moment
            raise NothingToDo(_("This refund was already sent (the form was sent twice).")) from exc
        refund.payment = state.payment
        _log(order, ACTION_REFUND_REQUESTED, refund, by, reason, form)
    return refund


def _settle(refund, *, by, status, detail="", refund_id=""):
    """Record the payment system's answer; a refund that is done is applied to the payment."""
    with transaction.atomic():
        order = _lock_order(refund.order)
        refund = Refund.objects.select_related("payment__account").get(pk=refund.pk)
        refund.status = status
        refund.detail = detail[:255]
        refund.provider_refund_id = (refund_id or refund.provider_refund_id)[:255]
        refund.save(update_fields=["status", "detail", "provider_refund_id", "updated_at"])
        outcome = ""
        if status == RefundStatus.DONE:
            outcome = _apply(order, refund)
            _settle_bought_twice(order, refund)
        log(
            order,
            ACTION_REFUND_ANSWERED,
            user=by,
            data={
                "refund": refund.pk,
                "payment": refund.payment.reference,
                "status": status,
                "detail": refund.detail,
                "outcome": outcome,
            },
        )
    return refund


def _apply(order, refund):
    """The refund as the provider event it is, stored and applied like a notification."""
    payment = refund.payment
    total = Refund.objects.filter(payment=payment, status=RefundStatus.DONE).total()
    full = total >= payment.amount
    event = ProviderEvent(
        event_id=f"staff-refund:{refund.pk}",
        status=EventStatus.REFUNDED if full else EventStatus.PARTIALLY_REFUNDED,
        reference=payment.reference,
        amount=payment.amount,
        currency=payment.currency,
        refunded_amount=total,
        event_type="staff_refund",
        detail=refund.detail,
    )
    stored = store_events(
        payment.account, [event], source=PaymentEvent.Source.REFUND, enqueue_processing=False
    )
    if not stored:
        return PaymentEvent.Outcome.NO_CHANGE  # this refund was applied before
    event_pk = stored[0]  # the id of the stored event, not processed yet
    payment.order = order
    outcome = apply_event(payment, event, source=PaymentEvent.Source.REFUND)
    PaymentEvent.objects.filter(pk=event_pk).update(
        payment=payment,
        outcome=outcome,
        processed_at=timezone.now(),
        next_attempt_at=None,
        attempts=1,
    )
    return outcome


def _settle_bought_twice(order, refund):
    """A refund is what an order bought twice waited for: it leaves the staff's queue."""
    order.refresh_from_db(fields=["attention", "attention_note"])
    if order.attention == Attention.BOUGHT_TWICE:
        order.attention = ""
        order.attention_note = (
            f"{order.attention_note}\nRefunded by staff ({refund.amount_display}): {refund.reason}"
        ).strip()
        order.save(update_fields=["attention", "attention_note", "updated_at"])


def _log(order, action, refund, by, reason, form, retry=False):
    log(
        order,
        action,
        user=by,
        data={
            "refund": refund.pk,
            "payment": refund.payment.reference,
            "amount": str(refund.amount),
            "currency": refund.currency,
            "reason": reason,
            "form": form,
            "retry": retry,
        },
    )

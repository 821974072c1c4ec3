"""Staff fixes of payments and of the staff's queues: re-checking a payment with its payment
system, accepting or refusing a held payment, resolving an order's "needs attention" and marking
a notification reviewed. The same rules as :mod:`.fixes` (one transaction, order locked first,
idempotent, audit-logged)."""

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..fulfilment.confirmation import fulfil_order
from ..fulfilment.follow_up import check_payment
from ..fulfilment.transitions import move_payment
from ..models import Attention, Payment, PaymentEvent, PaymentStatus
from ..providers.base import EventStatus, ProviderEvent
from .common import (
    ACTION_CHECKED,
    ACTION_EVENT_REVIEWED,
    ACTION_HOLD_ACCEPTED,
    ACTION_HOLD_REFUSED,
    ACTION_RESOLVED,
    RECHECKABLE,
    NothingToDo,
    _lock_order,
    _logged_for_form,
)


def recheck_payment(payment, *, by, reason, form=""):
    """Ask the payment system now where ``payment`` stands and apply the answer; returns the
    payment, refreshed. Raises ProviderError when the payment system cannot be reached."""
    if payment.status not in RECHECKABLE:
        raise NothingToDo(_("This payment is settled: there is nothing to check."))
    if form and _logged_for_form(payment.order, ACTION_CHECKED, form):
        raise NothingToDo(_("This check was already done (the form was sent twice)."))
    before = payment.status
    outcome = check_payment(payment.pk, statuses=RECHECKABLE, raise_errors=True)
    payment.refresh_from_db()
    log(
        payment.order,
        ACTION_CHECKED,
        user=by,
        data={
            "payment": payment.reference,
            "from": before,
            "to": payment.status,
            "outcome": outcome or "",
            "reason": reason,
            "form": form,
        },
    )
    return payment


def _held_payment(payment):
    order = _lock_order(payment.order)
    payment = Payment.objects.select_related("account").get(pk=payment.pk)
    payment.order = order
    if payment.status != PaymentStatus.ON_HOLD:
        raise NothingToDo(_("This payment is not held for review any more."))
    return order, payment


def _settle_mismatch(order, note):
    if order.attention == Attention.AMOUNT_MISMATCH:
        order.attention = ""
    order.attention_note = f"{order.attention_note}\n{note}".strip()
    order.save(update_fields=["attention", "attention_note", "updated_at"])


def _mismatch_event(payment):
    """What the provider said when the payment was held (its e-mail is the buyer's)."""
    stored = (
        payment.events.filter(outcome=PaymentEvent.Outcome.AMOUNT_MISMATCH)
        .order_by("-received_at", "-pk")
        .first()
    )
    if stored is not None:
        return ProviderEvent.from_dict(stored.data.get("resolved") or stored.data)
    return ProviderEvent(
        event_id=f"staff:{payment.reference}",
        status=EventStatus.PAID,
        reference=payment.reference,
        email=payment.payer_email,
    )


def accept_held_payment(payment, *, by, reason, form=""):
    """Accept a payment held because its amount or currency did not match: it becomes paid and
    the order is fulfilled (account, access, e-mail) as if it had matched."""
    with transaction.atomic():
        order, payment = _held_payment(payment)
        if not move_payment(
            payment, PaymentStatus.PAID, reason=f"accepted by staff: {reason}", user=by
        ):
            raise NothingToDo(_("This payment is not held for review any more."))
        _settle_mismatch(order, f"Amount accepted by staff ({payment.reference}): {reason}")
        order.refresh_from_db(fields=["status", "paid_at"])
        fulfil_order(order, payment, _mismatch_event(payment))
        log(
            order,
            ACTION_HOLD_ACCEPTED,
            user=by,
            data={"payment": payment.reference, "reason": reason, "form": form},
        )
    return payment


def refuse_held_payment(payment, *, by, reason, form=""):
    """Refuse a held payment: it fails and gives no access. The money is refunded at the payment
    system, not here."""
    with transaction.atomic():
        order, payment = _held_payment(payment)
        if not move_payment(
            payment, PaymentStatus.FAILED, reason=f"refused by staff: {reason}", user=by
        ):
            raise NothingToDo(_("This payment is not held for review any more."))
        _settle_mismatch(order, f"Amount refused by staff ({payment.reference}): {reason}")
        log(
            order,
            ACTION_HOLD_REFUSED,
            user=by,
            data={"payment": payment.reference, "reason": reason, "form": form},
        )
    return payment


def resolve_attention(order, *, expected, by, reason, form=""):
    """Take an order out of the "needs attention" queue once staff dealt with it elsewhere (e.g.
    a refund handled at the payment system)."""
    with transaction.atomic():
        order = _lock_order(order)
        if not order.attention or order.attention != expected:
            raise NothingToDo(_("This order no longer waits for this."))
        if (
            order.attention == Attention.AMOUNT_MISMATCH
            and order.payments.filter(status=PaymentStatus.ON_HOLD).exists()
        ):
            raise NothingToDo(_("A payment is still held: accept or refuse it instead."))
        previous = order.attention
        order.attention = ""
        order.attention_note = (
            f"{order.attention_note}\nResolved by staff ({timezone.now():%Y-%m-%d}): {reason}"
        ).strip()
        order.save(update_fields=["attention", "attention_note", "updated_at"])
        log(
            order,
            ACTION_RESOLVED,
            user=by,
            data={"attention": previous, "reason": reason, "form": form},
        )
    return order


def event_reviewed():
    """An expression for PaymentEvent querysets: staff marked the event as reviewed (an audit
    log entry says so)."""
    from django.contrib.contenttypes.models import ContentType
    from wagtail.models import ModelLogEntry

    return Exists(
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(PaymentEvent),
            action=ACTION_EVENT_REVIEWED,
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
        )
    )


def mark_event_reviewed(event, *, by, reason, form=""):
    """Take an unknown-payment or failed notification out of the staff's queue."""
    with transaction.atomic():
        event = PaymentEvent.objects.select_for_update().get(pk=event.pk)
        if PaymentEvent.objects.filter(pk=event.pk).filter(event_reviewed()).exists():
            raise NothingToDo(_("This notification was already reviewed."))
        log(
            event,
            ACTION_EVENT_REVIEWED,
            user=by,
            data={"outcome": event.outcome, "reason": reason, "form": form},
        )
    return event

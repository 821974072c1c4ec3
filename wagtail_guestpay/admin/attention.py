"""The dashboard's "Needs attention" panel: what waits for staff, each line linking to its fix.

Shown only to users who may see transactions. Each section costs one query, two when it has more
lines than it shows (for the total), and reads a small indexed set whatever the number of orders
(migration 0008): the orders that need attention (a partial index), the orders paid within
``ATTENTION_NO_ACCESS_WITHIN``, the open payments, the notifications to review (a partial index).
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.admin.ui.components import Component

from ..conf import guestpay_settings
from ..models import (
    AccessGrant,
    Attention,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from ..staff import fixes
from .links import fix_url, index_url, inspect_url
from .permissions import can_fix, can_manage_access, can_refund, can_view

LINES = 5  # lines shown per section
QUEUED_OUTCOMES = (PaymentEvent.Outcome.UNKNOWN_PAYMENT, PaymentEvent.Outcome.FAILED)


@dataclass
class Line:
    text: str
    url: str
    action: str  # the link's text: what the fix is


@dataclass
class Section:
    key: str
    title: str
    help: str
    count: int
    lines: list = field(default_factory=list)
    all_url: str = ""


def _take(queryset):
    items = list(queryset[:LINES])
    count = queryset.count() if len(items) == LINES else len(items)
    return items, count


def _order_text(order):
    return f"{order.number} · {order.offer.title} · {order.amount_display} · {order.email or '-'}"


def _fix_line(text, allowed, fix, fix_pk, action, order_pk):
    """A line linking to the fix ``fix`` when the user may make it, to the order otherwise."""
    if allowed:
        return Line(text, fix_url(fix, fix_pk), action)
    return Line(text, inspect_url("transactions", order_pk), _("Inspect"))


def _bought_twice_line(order, fix, refund):
    """Refund in one click (to the refund's confirmation) when the user may and it is paid."""
    if refund and order.status == OrderStatus.PAID and not order.is_free:
        return Line(_order_text(order), fix_url("refund_order", order.pk), _("Refund"))
    return _fix_line(
        _order_text(order), fix, "resolve_attention", order.pk, _("Mark as dealt with"), order.pk
    )


def _transactions(**params):
    return f"{index_url('transactions')}?{urlencode(params)}"


def attention_sections(user):
    """The non-empty sections of the panel for ``user``."""
    fix, grant, refund = can_fix(user), can_manage_access(user), can_refund(user)
    # needs_attention() is the condition of the partial index guestpay_order_attention.
    orders = Order.objects.needs_attention().select_related("offer").order_by("created_at", "pk")
    sections = []

    items, count = _take(orders.filter(attention=Attention.PLACEHOLDER_EMAIL))
    sections.append(
        Section(
            "placeholder",
            _("No e-mail from the payment system"),
            _("Find the buyer's e-mail in the payment system's dashboard, then correct it."),
            count,
            [
                _fix_line(_order_text(o), fix, "correct_email", o.pk, _("Correct the e-mail"), o.pk)
                for o in items
            ],
            _transactions(attention=Attention.PLACEHOLDER_EMAIL),
        )
    )

    held = Payment.objects.filter(order=OuterRef("pk"), status=PaymentStatus.ON_HOLD)
    items, count = _take(
        orders.filter(attention=Attention.AMOUNT_MISMATCH).annotate(
            held_payment=Subquery(held.values("pk")[:1])
        )
    )
    sections.append(
        Section(
            "mismatch",
            _("Amount or currency does not match"),
            _("The payment is held: accept or refuse the amount received."),
            count,
            [
                _fix_line(
                    _order_text(o),
                    fix and o.held_payment,
                    "review_hold",
                    o.held_payment,
                    _("Accept or refuse"),
                    o.pk,
                )
                for o in items
            ],
            _transactions(attention=Attention.AMOUNT_MISMATCH),
        )
    )

    within = guestpay_settings.as_timedelta("ATTENTION_NO_ACCESS_WITHIN")
    items, count = _take(
        Order.objects.select_related("offer")
        .order_by("paid_at", "pk")  # the index's order
        .filter(
            status=OrderStatus.PAID,
            attention="",  # the others are listed by reason
            paid_at__gte=timezone.now() - within,
        )
        .filter(~Exists(AccessGrant.objects.filter(order=OuterRef("pk"))))
    )
    sections.append(
        Section(
            "no_access",
            _("Paid orders without access"),
            _("Paid in the last %(within)s, but no access was ever granted.")
            % {"within": _duration(within)},
            count,
            [
                _fix_line(
                    _order_text(o),
                    grant and o.user_id,
                    "grant_order_access",
                    o.pk,
                    _("Grant access"),
                    o.pk,
                )
                for o in items
            ],
            _transactions(status__exact=OrderStatus.PAID, access="none"),
        )
    )

    cutoff = timezone.now() - guestpay_settings.as_timedelta("ATTENTION_PENDING_AFTER")
    items, count = _take(
        Payment.objects.filter(
            status__in=[PaymentStatus.PENDING, PaymentStatus.APPROVED], created_at__lt=cutoff
        )
        .select_related("order__offer")
        .order_by("created_at", "pk")
    )
    sections.append(
        Section(
            "pending",
            _("Payments waiting for confirmation"),
            _("Not confirmed since %(since)s or longer: ask the payment system.")
            % {"since": _duration(guestpay_settings.as_timedelta("ATTENTION_PENDING_AFTER"))},
            count,
            [
                _fix_line(
                    f"{_order_text(p.order)} · {p.get_status_display()}",
                    fix,
                    "check_payment",
                    p.pk,
                    _("Check now"),
                    p.order_id,
                )
                for p in items
            ],
            _transactions(status__exact=OrderStatus.PENDING),
        )
    )

    items, count = _take(
        PaymentEvent.objects.filter(outcome__in=QUEUED_OUTCOMES)
        .exclude(fixes.event_reviewed())
        .select_related("account")
        .order_by("received_at", "pk")
    )
    sections.append(
        Section(
            "events",
            _("Notifications to review"),
            _("About payments this site does not know, or that failed to process."),
            count,
            [
                Line(
                    f"{e.account.name} · {e.event_type or e.get_source_display()} · "
                    f"{e.get_outcome_display()}",
                    inspect_url("events", e.pk),
                    _("Review"),
                )
                for e in items
            ],
            f"{index_url('events')}?{urlencode({'reviewed': 'no'})}",
        )
    )

    items, count = _take(orders.filter(attention=Attention.BOUGHT_TWICE))
    sections.append(
        Section(
            "bought_twice",
            _("Bought twice"),
            _(
                "A guest paid again for what their account already had: they got it again. Refund "
                "the payment (or mark it as dealt with when the buyer wants to keep it)."
            ),
            count,
            [_bought_twice_line(o, fix, refund) for o in items],
            _transactions(bought_twice="yes"),
        )
    )

    items, count = _take(
        orders.filter(
            attention__in=[  # named: the index serves a list
                value
                for value in Attention.values
                if value
                not in (
                    "",
                    Attention.PLACEHOLDER_EMAIL,
                    Attention.AMOUNT_MISMATCH,
                    Attention.BOUGHT_TWICE,
                )
            ]
        )
    )
    sections.append(
        Section(
            "other",
            _("Other orders that need action"),
            _("Several accounts, refunds, deactivated accounts, coupons used beyond their limit."),
            count,
            [
                Line(
                    f"{_order_text(o)} · {o.get_attention_display()}",
                    inspect_url("transactions", o.pk),
                    _("Inspect"),
                )
                for o in items
            ],
            _transactions(attention="any"),
        )
    )
    return [section for section in sections if section.count]


def _duration(delta):
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


class NeedsAttentionPanel(Component):
    name = "guestpay_needs_attention"
    template_name = "wagtail_guestpay/admin/attention_panel.html"
    order = 90  # above Wagtail's own panels

    def get_context_data(self, parent_context):
        user = parent_context["request"].user
        return {"sections": attention_sections(user), "transactions_url": index_url("transactions")}

    def render_html(self, parent_context=None):
        if not can_view(parent_context["request"].user):
            return ""
        return super().render_html(parent_context)

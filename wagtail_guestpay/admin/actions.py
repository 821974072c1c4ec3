"""The fixes an inspect view offers: those the viewer may carry out on the object now, the one
that settles the order's case first."""

from typing import NamedTuple

from django.utils.translation import gettext as _

from ..models import Attention, OrderStatus, PaymentStatus
from ..staff import fixes
from .links import fix_url
from .permissions import can_fix, can_manage_access, can_refund


class Action(NamedTuple):
    label: str
    url: str
    primary: bool = False  # the fix of what the order waits for


# The fix that settles each reason an order waits for.
FIX_FOR_ATTENTION = {
    Attention.PLACEHOLDER_EMAIL: "correct_email",
    Attention.SEVERAL_ACCOUNTS: "move_access",
    Attention.INACTIVE_ACCOUNT: "move_access",
    Attention.PARTIAL_REFUND: "resolve_attention",
    Attention.REFUNDED: "resolve_attention",
    Attention.BOUGHT_TWICE: "resolve_attention",  # after a refund, or the buyer's answer
    Attention.COUPON_OVERSHOOT: "resolve_attention",  # honoured: staff decide it is fine
}


def order_actions(order, user):
    """The fixes ``user`` may carry out on ``order`` now. ``order`` carries the annotations of
    the transactions listing (``has_active_grant``, ``has_grant``)."""
    wanted = FIX_FOR_ATTENTION.get(order.attention, "")
    if (
        order.attention == Attention.BOUGHT_TWICE
        and order.status == OrderStatus.PAID
        and can_refund(user)
    ):
        wanted = "refund_order"  # what a guest who paid twice is usually owed
    has_account = order.user_id is not None and not order.email_is_placeholder
    if not wanted and order.is_settled and has_account and not order.has_grant:
        wanted = "grant_order_access"  # paid, and access was never granted
    candidates = []
    if can_fix(user):
        candidates += [
            ("correct_email", _("Correct the e-mail"), True),
            ("move_access", _("Move the access to another account"), True),
            (
                "resend_access_email",
                _("Send the access e-mail again"),
                has_account and order.has_active_grant,
            ),
            ("resolve_attention", _("Mark as dealt with"), bool(order.attention)),
        ]
    if can_manage_access(user):
        candidates += [
            (
                "grant_order_access",
                _("Grant the order's access"),
                has_account and not order.has_active_grant,
            ),
            ("revoke_order_access", _("Revoke the order's access"), order.has_active_grant),
        ]
    if can_refund(user):
        # A free order has nothing to refund.
        refundable = order.status == OrderStatus.PAID and not order.is_free
        candidates.append(("refund_order", _("Refund"), refundable))
    actions = [
        Action(label, fix_url(name, order.pk), name == wanted)
        for name, label, shown in candidates
        if shown
    ]
    return sorted(actions, key=lambda action: not action.primary)


def payment_actions(payment, user):
    actions = []
    if can_fix(user):
        if payment.status == PaymentStatus.ON_HOLD:
            actions.append(Action(_("Accept or refuse"), fix_url("review_hold", payment.pk), True))
        if payment.status in fixes.RECHECKABLE:
            actions.append(
                Action(
                    _("Check with the payment system now"),
                    fix_url("check_payment", payment.pk),
                    payment.status in fixes.OPEN_STATUSES,
                )
            )
    return actions

"""The audit history shown in the inspect views: Wagtail's log entries of one object, with the
reason and the main facts of each entry spelled out."""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

from ..models import Attention, OrderStatus, PaymentEvent, PaymentStatus

# Data keys shown with an entry, in this order, and their labels.
SHOWN = [
    ("from", pgettext_lazy("value before a change", "from")),
    ("to", pgettext_lazy("value after a change", "to")),
    ("payment", _("payment")),
    ("email", _("account e-mail")),
    ("from_email", _("buyer e-mail before")),
    ("to_email", _("buyer e-mail after")),
    ("product_titles", _("products")),
    ("previous_account_action", _("wrong account")),
    ("attention", _("was waiting for")),
    ("outcome", _("outcome")),
    ("via", _("by")),
]

# Labels of the coded values some entries keep (the rest are shown as stored).
VALUE_LABELS = {
    "via": {
        "staff": _("staff"),
        "claim": _("the buyer, with a code"),
        "admin": _("staff, in the admin"),
        "command": _("a management command"),
    },
    "previous_account_action": {
        "kept": _("kept"),
        "deactivated": _("deactivated"),
        "deleted": _("deleted"),
    },
}


# Entries whose "from" and "to" are statuses, and the choices that label them.
STATUS_ACTIONS = {
    "wagtail_guestpay.order_status": OrderStatus,
    "wagtail_guestpay.payment_status": PaymentStatus,
    "wagtail_guestpay.payment_checked": PaymentStatus,
}


def _value_label(key, value, action=""):
    if key in ("from", "to") and action in STATUS_ACTIONS:
        return dict(STATUS_ACTIONS[action].choices).get(value, value)
    if key == "attention":
        return dict(Attention.choices).get(value, value)
    if key == "outcome":
        return dict(PaymentEvent.Outcome.choices).get(value, value)
    return VALUE_LABELS.get(key, {}).get(value, value) if isinstance(value, str) else value


def history_for(instance, limit=200):
    entries = list(
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(type(instance)),
            object_id=str(instance.pk),
        )
        .select_related("user")
        .order_by("-timestamp", "-pk")[:limit]
    )
    for entry in entries:
        data = entry.data or {}
        formatter = log_registry.get_formatter(entry)  # (loads the registered actions)
        entry.label = formatter.label if formatter else entry.action
        entry.reason = data.get("reason", "")
        entry.facts = [
            (
                label,
                ", ".join(map(str, value))
                if isinstance(value, list)
                else _value_label(key, value, entry.action),
            )
            for key, label in SHOWN
            if (value := data.get(key)) not in (None, "", [])
        ]
    return entries

"""The audit history shown in the inspect views: Wagtail's log entries of one object, with the
reason and the main facts of each entry spelled out."""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import registry as log_registry
from wagtail.models import ModelLogEntry

# Data keys shown with an entry, in this order, and their labels.
SHOWN = [
    ("from", _("from")),
    ("to", _("to")),
    ("payment", _("payment")),
    ("email", _("account e-mail")),
    ("product_titles", _("products")),
    ("previous_account_action", _("wrong account")),
    ("attention", _("was waiting for")),
    ("outcome", _("outcome")),
    ("via", _("by")),
]


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
            (label, ", ".join(map(str, value)) if isinstance(value, list) else value)
            for key, label in SHOWN
            if (value := data.get(key)) not in (None, "", [])
        ]
    return entries

"""How the staff listings show an order's access state and a date-time, shared by the
transactions, notifications and contacts admin and the access filter."""

from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import pgettext_lazy

ACCESS_LABELS = {
    "granted": pgettext_lazy("access state", "Granted"),
    "revoked": pgettext_lazy("access state", "Revoked"),
    "none": pgettext_lazy("access state", "None"),
}


def access_state(order):
    if order.has_active_grant:
        return "granted"
    return "revoked" if order.has_grant else "none"


def _iso(value):
    return value.isoformat(timespec="seconds") if value else ""


def short_datetime(value):
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else ""

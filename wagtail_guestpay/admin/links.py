"""URLs of the staff admin's screens."""

from django.urls import reverse

NAMESPACE = "wagtail_guestpay_staff"


def fix_url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def inspect_url(listing, pk):
    """``listing``: "transactions", "contacts" or "events"."""
    return reverse(f"guestpay_{listing}_modeladmin_inspect", args=[pk])


def index_url(listing):
    return reverse(f"guestpay_{listing}_modeladmin_index")

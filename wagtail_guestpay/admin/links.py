"""URLs of the staff admin's screens."""

from django.urls import reverse

from .compat import HAS_CHOOSE_PARENT_URL

NAMESPACE = "wagtail_guestpay_staff"


def fix_url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def inspect_url(listing, pk):
    """``listing``: "transactions", "contacts" or "events"."""
    return reverse(f"guestpay_{listing}_modeladmin_inspect", args=[pk])


def index_url(listing):
    return reverse(f"guestpay_{listing}_modeladmin_index")


def new_result_page_url():
    """Create a payment result page: choose its parent (or go straight to the editor when there
    is only one place for it)."""
    if HAS_CHOOSE_PARENT_URL:
        return reverse(
            "wagtailadmin_pages:choose_parent", args=["wagtail_guestpay", "paymentresultpage"]
        )
    return fix_url("new_result_page")

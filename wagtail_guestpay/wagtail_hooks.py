"""Registers the app's admin pieces with Wagtail. Views and viewsets live elsewhere."""

from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail_modeladmin.options import modeladmin_register

from .admin import urls as staff_urls
from .admin.attention import NeedsAttentionPanel
from .admin.contacts import ContactsAdmin
from .admin.coupons import CouponViewSet
from .admin.events import PaymentEventsAdmin
from .admin.gear import GearSettingsLogFormatter
from .admin.menu import GUESTPAY_MENU_HOOK, PaymentsMenu
from .admin.offers import OfferViewSet
from .admin.permissions import can_view
from .admin.transactions import TransactionsAdmin

register_snippet(OfferViewSet)
register_snippet(CouponViewSet)

# Staff: Transactions, Contacts and payment notifications in the Payments menu (shown only to
# users with the guestpay permissions), the fixes' screens and the dashboard panel.
STAFF_ADMINS = (TransactionsAdmin, ContactsAdmin, PaymentEventsAdmin)
for staff_admin in STAFF_ADMINS:
    modeladmin_register(staff_admin)  # URLs and permissions; the menu items are below


@hooks.register(GUESTPAY_MENU_HOOK)
def register_transactions_menu_item():
    return TransactionsAdmin().get_menu_item(order=300)


@hooks.register(GUESTPAY_MENU_HOOK)
def register_contacts_menu_item():
    return ContactsAdmin().get_menu_item(order=400)


@hooks.register(GUESTPAY_MENU_HOOK)
def register_payment_events_menu_item():
    return PaymentEventsAdmin().get_menu_item(order=500)


@hooks.register("register_admin_urls")
def register_staff_fix_urls():
    return [path("guestpay/", include(staff_urls))]


@hooks.register("construct_homepage_panels")
def add_needs_attention_panel(request, panels):
    if can_view(request.user):
        panels.append(NeedsAttentionPanel())


@hooks.register("register_admin_viewset")
def register_payments_menu():
    """The "Payments" menu (``guestpay_menu``) with its payment systems; see admin/menu.py to
    add items to it."""
    return PaymentsMenu()


@hooks.register("register_log_actions")
def register_log_actions(actions):
    actions.register_action(
        "wagtail_guestpay.payment_status", _("Payment status changed"), _("Payment status changed")
    )
    actions.register_action(
        "wagtail_guestpay.order_status", _("Order status changed"), _("Order status changed")
    )
    actions.register_action(
        "wagtail_guestpay.email_corrected", _("E-mail corrected"), _("E-mail corrected")
    )
    actions.register_action(
        "wagtail_guestpay.credentials_changed",
        _("Credentials changed"),
        _("Payment system credentials changed"),
    )
    actions.register_action(
        "wagtail_guestpay.credentials_checked",
        _("Credentials checked"),
        _("Payment system credentials checked"),
    )
    actions.register_action("wagtail_guestpay.gear_settings")(GearSettingsLogFormatter)
    actions.register_action(
        "wagtail_guestpay.access_moved",
        _("Access moved to another account"),
        _("Access moved to another account"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_code_sent",
        _("Claim code sent to the buyer"),
        _("Claim code sent to the buyer"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_locked",
        _("Claim locked after too many wrong codes"),
        _("Claim locked after too many wrong codes"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_refused",
        _("Claim refused: the order may no longer change"),
        _("Claim refused: the order may no longer change"),
    )
    for action, label in STAFF_LOG_ACTIONS:
        actions.register_action(action, label, label)


STAFF_LOG_ACTIONS = [
    ("wagtail_guestpay.access_granted", _("Access granted by staff")),
    ("wagtail_guestpay.access_revoked", _("Access revoked by staff")),
    ("wagtail_guestpay.access_email_resent", _("Access e-mail sent again")),
    ("wagtail_guestpay.payment_checked", _("Payment checked with the payment system")),
    ("wagtail_guestpay.hold_accepted", _("Held payment accepted")),
    ("wagtail_guestpay.hold_refused", _("Held payment refused")),
    ("wagtail_guestpay.attention_resolved", _("Marked as dealt with")),
    ("wagtail_guestpay.event_reviewed", _("Notification reviewed")),
    ("wagtail_guestpay.refund_requested", _("Refund asked of the payment system")),
    ("wagtail_guestpay.refund_answered", _("Refund answered by the payment system")),
    ("wagtail_guestpay.buyer_data_exported", _("Buyer data exported")),
    ("wagtail_guestpay.buyer_data_erased", _("Buyer data erased")),
]

"""Registers the app's admin pieces with Wagtail. Views and viewsets live elsewhere."""

from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin.gear import GearSettingsLogFormatter
from .admin.menu import PaymentsMenu
from .admin.offers import OfferViewSet

register_snippet(OfferViewSet)


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
        "wagtail_guestpay.credentials_changed", _("Credentials changed"),
        _("Payment system credentials changed"),
    )
    actions.register_action(
        "wagtail_guestpay.credentials_checked", _("Credentials checked"),
        _("Payment system credentials checked"),
    )
    actions.register_action("wagtail_guestpay.gear_settings")(GearSettingsLogFormatter)
    actions.register_action(
        "wagtail_guestpay.access_moved", _("Access moved to another account"),
        _("Access moved to another account"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_code_sent", _("Claim code sent to the buyer"),
        _("Claim code sent to the buyer"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_locked", _("Claim locked after too many wrong codes"),
        _("Claim locked after too many wrong codes"),
    )
    actions.register_action(
        "wagtail_guestpay.claim_refused", _("Claim refused: the order may no longer change"),
        _("Claim refused: the order may no longer change"),
    )

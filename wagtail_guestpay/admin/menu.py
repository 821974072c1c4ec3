"""The "Payments" group of the Wagtail admin menu (``guestpay_menu``).

Anything can join it through the ``register_guestpay_menu_item`` hook, the way Wagtail's own
Settings menu works:

- a viewset: set ``menu_hook = GUESTPAY_MENU_HOOK`` on it (as ``OfferViewSet`` does);
- any ``MenuItem``, e.g. a wagtail-modeladmin ``ModelAdmin``'s (give it
  ``add_to_admin_menu = False`` and still ``modeladmin_register`` it for its URLs)::

      @hooks.register("register_guestpay_menu_item")
      def register_transactions_menu_item():
          return TransactionAdmin().get_menu_item(order=300)

Register these in a ``wagtail_hooks`` module: Wagtail builds the menu once per process. Items are
ordered by ``order`` (Offers 100, Payment systems 200). Wagtail hides the group from users who can
see none of its items.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.base import ViewSetGroup

from .provider_accounts import ProviderAccountViewSet

GUESTPAY_MENU_NAME = "guestpay_menu"
GUESTPAY_MENU_HOOK = "register_guestpay_menu_item"


class PaymentsMenu(ViewSetGroup):
    menu_label = _("Payments")
    menu_name = GUESTPAY_MENU_NAME
    menu_icon = "tag"
    menu_order = 300
    submenu_hook = GUESTPAY_MENU_HOOK
    items = (ProviderAccountViewSet("guestpay_payment_systems"),)

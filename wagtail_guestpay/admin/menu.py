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
from wagtail.admin.menu import Menu, SubmenuMenuItem
from wagtail.admin.viewsets.base import ViewSetGroup

from .compat import HAS_SUBMENU_HOOK
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

    if not HAS_SUBMENU_HOOK:

        def get_menu_item(self, order=None):
            """Wagtail < 8.0: what ``submenu_hook`` does there. Each item keeps its own
            ``menu_order`` (Wagtail 7 would number the ``items`` 1, 2... ahead of Offers)."""
            return SubmenuMenuItem(
                label=self.menu_label,
                menu=Menu(
                    register_hook_name=self.submenu_hook,
                    items=[item.get_menu_item() for item in self.registerables],
                ),
                name=self.menu_name,
                icon_name=self.menu_icon,
                order=order if order is not None else self.menu_order,
            )

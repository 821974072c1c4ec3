"""Coupons in the admin (Payments > Coupons): a snippet with its uses.

Editors with the coupon's model permissions create and edit coupons; the edit form ends with the
coupon's latest uses (order, buyer, status, discount), each linking to the order for staff who may
see transactions. The counter of uses is not editable: it follows the orders
(fulfilment/redemptions.py).
"""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList, Panel
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import Coupon, Redemption
from .links import inspect_url
from .menu import GUESTPAY_MENU_HOOK
from .permissions import can_view

USES_SHOWN = 50


def active_label(coupon):
    return gettext("Active") if coupon.is_active else gettext("Off")


class RedemptionsPanel(Panel):
    """The coupon's latest uses (read-only)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_guestpay/admin/coupons/redemptions_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            coupon = self.instance
            rows = []
            if coupon is not None and coupon.pk:
                linked = can_view(self.request.user)
                uses = Redemption.objects.filter(coupon=coupon).select_related("order")
                for use in uses.order_by("-created_at", "-pk")[:USES_SHOWN]:
                    rows.append(
                        {
                            "use": use,
                            "order": use.order,
                            "url": inspect_url("transactions", use.order_id) if linked else "",
                        }
                    )
            context.update({"coupon": coupon, "rows": rows, "shown": USES_SHOWN})
            return context


class CouponViewSet(SnippetViewSet):
    model = Coupon
    icon = "tag"
    menu_label = _("Coupons")
    menu_name = "coupons"
    menu_order = 250
    menu_hook = GUESTPAY_MENU_HOOK  # in the "Payments" menu
    list_filter = ["is_active", "kind"]
    search_fields = ["code"]

    @property
    def list_display(self):
        return [
            "code",
            Column("discount", label=_("Discount"), accessor="discount_display"),
            Column("uses", label=_("Uses"), accessor="uses_display"),
            "valid_until",
            StatusTagColumn(
                "is_active",
                label=_("Active"),
                accessor=active_label,
                primary=lambda coupon: coupon.is_active,
            ),
        ]

    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [
                    FieldPanel("code"),
                    FieldPanel("kind"),
                    FieldPanel("percent_off"),
                    FieldRowPanel([FieldPanel("amount_off"), FieldPanel("currency")]),
                ],
                heading=_("Discount"),
            ),
            MultiFieldPanel(
                [
                    FieldPanel("offers"),
                    FieldRowPanel([FieldPanel("valid_from"), FieldPanel("valid_until")]),
                    FieldPanel("max_redemptions"),
                    FieldPanel("once_per_email"),
                    FieldPanel("is_active"),
                ],
                heading=_("Where and how often"),
            ),
            RedemptionsPanel(heading=_("Uses")),
        ]
    )

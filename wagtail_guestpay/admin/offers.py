from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import Offer
from .menu import GUESTPAY_MENU_HOOK
from .panels import ProductChooserPanel


class OfferViewSet(SnippetViewSet):
    model = Offer
    icon = "tag"
    menu_label = _("Offers")
    menu_order = 100
    menu_hook = GUESTPAY_MENU_HOOK  # in the "Payments" menu
    list_display = ["title", "price_display", "provider_account", "guest_payment", "is_active"]
    list_filter = ["is_active", "guest_payment", "provider_account"]
    search_fields = ["title", "slug"]

    panels = [
        MultiFieldPanel(
            [FieldPanel("title"), FieldPanel("slug"), FieldPanel("description")],
            heading=_("Offer"),
        ),
        FieldRowPanel([FieldPanel("price"), FieldPanel("currency")], heading=_("Price")),
        InlinePanel("products", label=_("Products"), min_num=1,
                    panels=[ProductChooserPanel("page")]),
        MultiFieldPanel(
            [FieldPanel("payment_method"), FieldPanel("provider_account")],
            heading=_("Payment method"),
        ),
        MultiFieldPanel(
            [FieldPanel("guest_payment"), FieldPanel("success_page"), FieldPanel("failure_page")],
            heading=_("Payment system settings"),
        ),
        MultiFieldPanel(
            [FieldPanel("revoke_on_refund"), FieldPanel("is_active")], heading=_("Sales")
        ),
    ]

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ..models import Offer
from .compat import HAS_PK_PATH_CONVERTER
from .gear import GearPanel, GearSettingsView
from .menu import GUESTPAY_MENU_HOOK
from .panels import ProductChooserPanel


class OfferForm(WagtailAdminModelForm):
    """The offer's main form. Its gear settings (payment without login, result pages) are edited in
    the gear dialog, so a payment system that cannot take payments without login is refused here
    while the offer still takes them."""

    def _update_errors(self, errors):
        error_dict = getattr(errors, "error_dict", None)
        if error_dict and "guest_payment" in error_dict and "guest_payment" not in self.fields:
            error_dict.pop("guest_payment")
            error_dict.setdefault("provider_account", []).append(change_account_error())
        super()._update_errors(errors)


def change_account_error():
    return ValidationError(
        gettext(
            "This offer takes payments without login, which this payment system cannot do. "
            "Choose the saved payment system again, switch payment without login off in its payment "
            "settings (the gear button), save, then change the payment system."
        ),
        code="guest_payment_unsupported",
    )


def guest_payment_label(offer):
    if offer.takes_guest_payment:
        return gettext("On")
    if offer.supports_guest_payment:
        return gettext("Off")
    return gettext("Not available")


def on_sale_label(offer):
    return gettext("On sale") if offer.is_active else gettext("Not on sale")


class OfferViewSet(SnippetViewSet):
    model = Offer
    icon = "tag"
    menu_label = _("Offers")
    menu_name = "offers"  # not slugified from the label: the same in every language
    menu_order = 100
    menu_hook = GUESTPAY_MENU_HOOK  # in the "Payments" menu
    list_filter = ["is_active", "guest_payment", "provider_account"]
    search_fields = ["title", "slug"]

    @property
    def list_display(self):
        return [
            "title",
            Column("price", label=_("Price"), accessor="price_display"),
            "provider_account",
            StatusTagColumn(
                "guest_payment",
                label=_("Payment without login"),
                accessor=guest_payment_label,
                primary=lambda offer: offer.takes_guest_payment,
            ),
            StatusTagColumn(
                "is_active",
                label=_("Sales"),
                accessor=on_sale_label,
                primary=lambda offer: offer.is_active,
            ),
        ]

    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [FieldPanel("title"), FieldPanel("slug"), FieldPanel("description")],
                heading=_("Offer"),
            ),
            FieldRowPanel([FieldPanel("price"), FieldPanel("currency")], heading=_("Price")),
            InlinePanel(
                "products", label=_("Products"), min_num=1, panels=[ProductChooserPanel("page")]
            ),
            MultiFieldPanel(
                [FieldPanel("payment_method"), FieldPanel("provider_account"), GearPanel()],
                heading=_("Payment method"),
            ),
            MultiFieldPanel(
                [FieldPanel("revoke_on_refund"), FieldPanel("is_active")], heading=_("Sales")
            ),
        ],
        base_form_class=OfferForm,
    )

    @property
    def gear_view(self):
        return GearSettingsView.as_view(permission_policy=self.permission_policy)

    def get_urlpatterns(self):
        converter = self.pk_path_converter if HAS_PK_PATH_CONVERTER else "int"
        return super().get_urlpatterns() + [
            path(f"gear/<{converter}:pk>/", self.gear_view, name="gear")
        ]

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock


class OfferChooserBlock(SnippetChooserBlock):
    """Chooses an offer; loads all the offers of one StreamField in a single query."""

    def __init__(self, **kwargs):
        super().__init__("wagtail_guestpay.Offer", **kwargs)

    def bulk_to_python(self, values):
        offers = self.model_class.objects.select_related("provider_account").in_bulk(
            [value for value in values if value is not None]
        )
        return [offers.get(value) for value in values]


class PayButtonBlock(blocks.StructBlock):
    """The "pay without login" button: drop it on any page to sell an offer there.

    With guest payment on, the button goes straight to the payment system; otherwise an anonymous
    visitor is asked to log in or register first.
    """

    offer = OfferChooserBlock(label=_("offer"))
    label = blocks.CharBlock(
        label=_("button label"),
        required=False,
        max_length=80,
        help_text=_("Defaults to “Pay <price>”."),
    )
    show_price = blocks.BooleanBlock(label=_("show the price beside the button"), required=False)

    class Meta:
        icon = "pick"
        label = _("Pay button")
        template = "wagtail_guestpay/blocks/pay_button.html"

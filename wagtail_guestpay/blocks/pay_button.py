from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from .button_html import render_pay_button

DEFAULT_TEMPLATE = "wagtail_guestpay/blocks/pay_button.html"


class OfferChooserBlock(SnippetChooserBlock):
    """Chooses an offer; loads all the offers of one StreamField in a single query."""

    def __init__(self, **kwargs):
        super().__init__("wagtail_guestpay.Offer", **kwargs)

    def bulk_to_python(self, values):
        """Two queries whatever the number of blocks: the offers, then their payment systems,
        one instance per system (select_related made one per block, and deferring columns made
        Django build every instance the slow way: measured, most of a 50-block page's cost)."""
        offers = self.model_class.objects.in_bulk([value for value in values if value is not None])
        account_ids = {offer.provider_account_id for offer in offers.values()} - {None}
        if account_ids:
            account_model = self.model_class._meta.get_field("provider_account").related_model
            accounts = account_model.objects.defer(
                # never shown on a page: the (encrypted) credentials and settings
                "secrets_encrypted", "secrets_from_env", "options",
            ).in_bulk(account_ids)
            for offer in offers.values():
                if offer.provider_account_id is not None:
                    offer.provider_account = accounts.get(offer.provider_account_id)
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
        template = DEFAULT_TEMPLATE

    def render(self, value, context=None):
        """With the default template, render the button directly (as fast as a text block: a page
        may hold dozens); a site that sets its own template gets Wagtail's usual rendering."""
        if self.meta.template != DEFAULT_TEMPLATE:
            return super().render(value, context)
        from django.utils.safestring import mark_safe

        request = context.get("request") if context else None
        return mark_safe(render_pay_button(  # noqa: S308 - an escaped template's output
            request, value.get("offer"), value.get("label") or "", value.get("show_price")))

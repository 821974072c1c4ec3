from django.utils.functional import lazy
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.snippets.blocks import SnippetChooserBlock

from ..localization import i18n_enabled, localize_many, remember_translations
from .button_html import render_pay_button
from .rows import by_pk

DEFAULT_TEMPLATE = "wagtail_guestpay/blocks/pay_button.html"
# A payment system's columns never shown on a page: the (encrypted) credentials and settings.
HIDDEN_ACCOUNT_FIELDS = ("secrets_encrypted", "secrets_from_env", "options")
escape_lazy = lazy(escape, str)


class OfferChooserBlock(SnippetChooserBlock):
    """Chooses an offer; loads all the offers of one StreamField in a single query."""

    def __init__(self, **kwargs):
        super().__init__("wagtail_guestpay.Offer", **kwargs)

    def bulk_to_python(self, values):
        """A few queries whatever the number of blocks: the offers, their payment systems (one
        instance per system: select_related made one per block, and deferring columns made
        Django build every instance the slow way; measured, most of a 50-block page's cost),
        and with translations on, the offers' translations. Offers and payment systems come
        from rows.by_pk(): Django's work on each row done once per process."""
        offers = by_pk(self.model_class, values)
        self._attach_accounts(offers.values())
        if i18n_enabled() and offers:
            # The value stays the chosen offer (the editor's choice); the button shows its
            # translation in the visitor's language, looked up here for all the blocks at once.
            chosen = list(offers.values())
            translations = localize_many(chosen, self.model_class.objects.all())
            self._attach_accounts(translations)
            remember_translations(chosen, translations)
        return [offers.get(value) for value in values]

    def _attach_accounts(self, offers):
        field = self.model_class._meta.get_field("provider_account")
        waiting = [
            offer
            for offer in offers
            if offer is not None and offer.provider_account_id and not field.is_cached(offer)
        ]
        if not waiting:
            return
        accounts = by_pk(
            field.related_model,
            [offer.provider_account_id for offer in waiting],
            defer=HIDDEN_ACCOUNT_FIELDS,
        )
        for offer in waiting:  # as select_related() sets it
            field.set_cached_value(offer, accounts.get(offer.provider_account_id))


class PayButtonBlock(blocks.StructBlock):
    """The "pay without login" button: drop it on any page to sell an offer there.

    With guest payment on, the button goes straight to the payment system; otherwise an anonymous
    visitor is asked to log in or register first.
    """

    offer = OfferChooserBlock(label=_("Offer"))
    label = blocks.CharBlock(
        label=_("Button label"),
        required=False,
        max_length=80,
        # Wagtail shows a block's help text as HTML: escaped, "<price>" is shown, not eaten.
        help_text=escape_lazy(_("Defaults to “Pay <price>”.")),
    )
    show_price = blocks.BooleanBlock(label=_("Show the price beside the button"), required=False)

    class Meta:
        icon = "pick"
        label = _("Pay button")
        # The block menu searches labels and descriptions: "pay without login" (the README's
        # and the gear's name for it) finds the block as well as "Pay button" does.
        description = _(
            "Pay without login: a button that takes the visitor straight to the "
            "payment system to buy an offer."
        )
        template = DEFAULT_TEMPLATE

    def render(self, value, context=None):
        """With the default template, render the button directly (as fast as a text block: a page
        may hold dozens); a site that sets its own template gets Wagtail's usual rendering."""
        if self.meta.template != DEFAULT_TEMPLATE:
            return super().render(value, context)
        from django.utils.safestring import mark_safe

        request = context.get("request") if context else None
        return mark_safe(
            render_pay_button(  # noqa: S308 - an escaped template's output
                request, value.get("offer"), value.get("label") or "", value.get("show_price")
            )
        )

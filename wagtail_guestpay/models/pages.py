from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page

from ..blocks import BODY_BLOCKS, RESULT_PAGE_BLOCKS
from ..layout import layout_context
from ..localization import localize


class BodyBlocksMixin:
    def get_context(self, request, *args, **kwargs):
        return {**super().get_context(request, *args, **kwargs), **layout_context()}

    def has_block(self, block_type):
        return any(block.block_type == block_type for block in self.body)

    @property
    def has_merchant_contacts_block(self):
        return self.has_block("merchant_contacts")


class OfferPage(BodyBlocksMixin, Page):
    """Presents one offer: a StreamField body and the Pay button."""

    offer = models.ForeignKey(
        "wagtail_guestpay.Offer",
        verbose_name=_("offer"),
        null=True,
        blank=False,
        on_delete=models.PROTECT,
        related_name="offer_pages",
    )
    body = StreamField(BODY_BLOCKS, blank=True, verbose_name=_("body"))
    button_label = models.CharField(
        _("button label"), max_length=80, blank=True, help_text=_("Defaults to “Pay <price>”.")
    )

    content_panels = Page.content_panels + [
        FieldPanel("offer"),
        FieldPanel("body"),
        FieldPanel("button_label"),
    ]

    template = "wagtail_guestpay/pages/offer_page.html"

    class Meta:
        verbose_name = _("offer page")
        verbose_name_plural = _("offer pages")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        # A page translated by copying still chooses the original offer: show the offer's
        # translation in the visitor's language.
        context["offer"] = localize(self.offer)
        return context


class PaymentResultPage(BodyBlocksMixin, Page):
    """A "mini landing page" shown after a payment: success or failure.

    Offers choose theirs in the gear settings. Opened through an order's secret link it shows that
    order's state (the Order status block, or above the body when the block is absent); opened
    directly it is an ordinary page.
    """

    class Kind(models.TextChoices):
        SUCCESS = "success", _("After a successful payment")
        FAILURE = "failure", _("After a failed payment")

    kind = models.CharField(_("shown"), max_length=8, choices=Kind.choices, default=Kind.SUCCESS)
    body = StreamField(RESULT_PAGE_BLOCKS, blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [FieldPanel("kind"), FieldPanel("body")]

    template = "wagtail_guestpay/pages/payment_result_page.html"

    class Meta:
        verbose_name = _("payment result page")
        verbose_name_plural = _("payment result pages")

    @property
    def has_order_status_block(self):
        return self.has_block("order_status")

    def serve_for_order(self, request, context):
        """Render this page for one order (``context`` comes from the order's return view)."""
        page_context = self.get_context(request)
        page_context.update(context)
        return TemplateResponse(request, self.get_template(request), page_context)

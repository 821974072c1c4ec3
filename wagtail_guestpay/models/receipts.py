"""Receipts: one per paid order, numbered without gaps per site (fulfilment/receipts.py issues
them), and the merchant's legal details they show (a site setting)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

from ..money import format_money
from ..providers.registry import provider_kind_choices
from .related import reverse_one

#: What a receipt keeps of the merchant's legal details on the day it is issued.
MERCHANT_FIELDS = ("legal_name", "address", "tax_id", "footer")


@register_setting(icon="doc-full")
class ReceiptSettings(BaseSiteSetting):
    """The merchant's legal details on receipts, and how receipt numbers read."""

    legal_name = models.CharField(
        _("legal name"),
        max_length=255,
        blank=True,
        help_text=_("The seller as registered. Empty: the merchant name of the merchant contacts."),
    )
    address = models.TextField(
        _("registered address"),
        blank=True,
        help_text=_("Empty: the postal address of the merchant contacts."),
    )
    tax_id = models.CharField(
        _("tax id"), max_length=64, blank=True, help_text=_("e.g. a VAT number: FR12345678901")
    )
    footer = models.TextField(
        _("footer"),
        blank=True,
        help_text=_(
            "Printed at the bottom of every receipt, e.g. 'VAT not applicable, art. 293 B'"
        ),
    )
    number_prefix = models.CharField(
        _("number prefix"),
        max_length=20,
        blank=True,
        help_text=_("Put before every receipt number, e.g. 'R-'."),
    )
    number_with_year = models.BooleanField(
        _("year in the number"),
        default=True,
        help_text=_(
            "Numbers read 2026-000123. The sequence goes on across years: it never restarts."
        ),
    )
    number_digits = models.PositiveSmallIntegerField(
        _("digits"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text=_("The sequence is padded with zeros to this many digits."),
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("legal_name"), FieldPanel("address"), FieldPanel("tax_id")],
            heading=_("Seller"),
        ),
        FieldPanel("footer"),
        MultiFieldPanel(
            [
                FieldPanel("number_prefix"),
                FieldPanel("number_with_year"),
                FieldPanel("number_digits"),
            ],
            heading=_("Receipt numbers"),
            help_text=_("A change applies to receipts issued afterwards; issued ones keep theirs."),
        ),
    ]

    class Meta:
        verbose_name = _("receipts")

    def format_number(self, number, year):
        digits = min(max(self.number_digits or 1, 1), 12)
        sequence = f"{number:0{digits}d}"
        return (
            f"{self.number_prefix}{year}-{sequence}"
            if self.number_with_year
            else (f"{self.number_prefix}{sequence}")
        )


class ReceiptCounter(models.Model):
    """The last receipt number of one series (one per Wagtail site). Incremented in the
    transaction that makes an order paid, under the row's lock: a rolled-back payment gives its
    number back, and two payments never get the same one."""

    series = models.CharField(max_length=64, primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("receipt counter")

    def __str__(self):
        return f"{self.series}: {self.last_number}"


class Receipt(models.Model):
    """The receipt of one paid order. What it says of the sale and of the seller is kept as it
    was when the order was paid; the buyer's e-mail is read from the order, so that a corrected
    (or erased) address is what the receipt shows."""

    wagtail_reference_index_ignore = True

    order = models.OneToOneField(
        "wagtail_guestpay.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="receipt",
    )
    site = models.ForeignKey(
        "wagtailcore.Site",
        verbose_name=_("site"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    series = models.CharField(_("series"), max_length=64, editable=False)
    sequence = models.PositiveBigIntegerField(_("sequence"), editable=False)
    number = models.CharField(_("receipt number"), max_length=64, editable=False)
    issued_at = models.DateTimeField(_("issued"))
    offer_title = models.CharField(_("offer"), max_length=255)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # The payment system's kind ("stripe"...), or "" for an order paid without one (free).
    payment_system = models.CharField(_("payment system"), max_length=32, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    merchant = models.JSONField(_("seller"), default=dict, blank=True)
    # The coupon the order was paid with (issue 11 item 4): its code and what it took off
    # ``amount`` being what was paid. Empty without one.
    coupon_code = models.CharField(_("coupon code"), max_length=64, blank=True)
    discount = models.DecimalField(
        _("discount given"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["series", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "sequence"], name="guestpay_receipt_sequence_once"
            )
        ]

    def __str__(self):
        return self.number

    @property
    def amount_display(self):
        return format_money(self.amount, self.currency)

    @property
    def price_display(self):
        """The offer's price before the coupon (the amount paid without one)."""
        return format_money(self.amount + (self.discount or 0), self.currency)

    @property
    def discount_display(self):
        return format_money(self.discount or 0, self.currency)

    @property
    def payment_system_display(self):
        if not self.payment_system:
            return _("None (free)")
        return dict(provider_kind_choices()).get(self.payment_system, self.payment_system)


def receipt_of(order):
    """The receipt of ``order`` (None before it is paid), read once per order instance: from the
    order's own query when it selected ``receipt`` (the confirmation and the e-mail do)."""
    return reverse_one(order, "receipt", Receipt.objects.all())

"""Coupons (promo codes) and their redemptions.

A :class:`Coupon` lowers an offer's price: a percentage, or a fixed amount in one currency. A
:class:`Redemption` is one order's use of it: *reserved* when the order is created, *confirmed*
when the order is paid, *released* when it fails or expires. The counter ``Coupon.taken`` holds
the reserved and confirmed redemptions and only moves by conditional UPDATEs, so a coupon with
one redemption left is never handed to two buyers at once (the rules are in
:mod:`wagtail_guestpay.fulfilment.redemptions`).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ..money import COMMON_CURRENCIES, format_money, validate_currency
from .related import reverse_one


class CouponKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    FIXED = "fixed", _("Fixed amount off")


class Coupon(models.Model):
    """A promo code buyers type (or find in a link: ``/guestpay/pay/<slug>/?coupon=CODE``)."""

    Kind = CouponKind

    code = models.CharField(
        _("code"),
        max_length=40,
        help_text=_("What buyers type. Letters, digits, - and _; capitals do not matter."),
    )
    kind = models.CharField(
        _("discount"), max_length=8, choices=CouponKind.choices, default=CouponKind.PERCENT
    )
    percent_off = models.DecimalField(
        _("percent off"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(100)],
        help_text=_("For a percentage: 10 means 10 percent off; 100 makes the offer free."),
    )
    amount_off = models.DecimalField(
        _("amount off"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text=_("For a fixed amount: taken off the price of offers sold in its currency."),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        blank=True,
        choices=COMMON_CURRENCIES,
        validators=[validate_currency],
        help_text=_("For a fixed amount: the offers' currency."),
    )
    offers = models.ManyToManyField(
        "wagtail_guestpay.Offer",
        verbose_name=_("offers"),
        blank=True,
        related_name="+",
        help_text=_("The offers it applies to (and their translations); none: every offer."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        _("maximum uses"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Empty: no limit. An order waiting for its payment holds one use."),
    )
    once_per_email = models.BooleanField(
        _("once per e-mail"),
        default=False,
        help_text=_(
            "One use per buyer address, where the address is known before payment (a logged-in "
            "buyer, or an offer sold with registration). Guests paying without login give their "
            "address to the payment system only."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    taken = models.PositiveIntegerField(
        _("uses"), default=0, editable=False, help_text=_("Reserved and confirmed uses.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(Lower("code"), name="guestpay_coupon_code_ci")]

    def __str__(self):
        return self.code

    @property
    def discount_display(self):
        if self.kind == CouponKind.PERCENT and self.percent_off is not None:
            return f"{self.percent_off.normalize():f} %"
        if self.amount_off is not None and self.currency:
            return format_money(self.amount_off, self.currency)
        return "-"

    @property
    def uses_display(self):
        if self.max_redemptions is None:
            return str(self.taken)
        return f"{self.taken} / {self.max_redemptions}"

    def clean(self):
        super().clean()
        self.code = (self.code or "").strip()
        if self.code and not all(ch.isalnum() or ch in "-_" for ch in self.code):
            raise ValidationError({"code": _("Use letters, digits, - and _ only.")})
        if self.code and Coupon.objects.filter(code__iexact=self.code).exclude(pk=self.pk).exists():
            raise ValidationError({"code": _("Another coupon has this code.")})
        if self.kind == CouponKind.PERCENT:
            if self.percent_off is None:
                raise ValidationError({"percent_off": _("Give the percentage.")})
            self.amount_off = None
            self.currency = ""
        else:
            errors = {}
            if self.amount_off is None:
                errors["amount_off"] = _("Give the amount.")
            if not self.currency:
                errors["currency"] = _("Give the currency of the amount.")
            if errors:
                raise ValidationError(errors)
            self.currency = self.currency.upper()
            self.percent_off = None
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": _("The end must come after the start.")})


class RedemptionStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved (waiting for the payment)")
    CONFIRMED = "confirmed", _("Confirmed (paid)")
    RELEASED = "released", _("Released (the payment failed or expired)")


class Redemption(models.Model):
    """One order's use of a coupon; see the module docstring for its life."""

    Status = RedemptionStatus

    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.PROTECT, related_name="redemptions"
    )
    order = models.OneToOneField(
        "wagtail_guestpay.Order",
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="redemption",
    )
    # Set only for coupons used once per e-mail, when the address was known before payment.
    email = models.EmailField(_("buyer e-mail"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RedemptionStatus.choices,
        default=RedemptionStatus.RESERVED,
    )
    full_price = models.DecimalField(_("full price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    over_limit = models.BooleanField(
        _("over the limit"),
        default=False,
        help_text=_(
            "Paid at the discounted price after the coupon ran out (its reservation had been "
            "released): honoured, and shown to staff."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")
        ordering = ["-created_at"]
        constraints = [
            # Once per e-mail, held by the database: two orders of one address cannot both hold
            # a live use (released ones and honoured overshoots do not count).
            models.UniqueConstraint(
                "coupon",
                "email",
                condition=Q(status__in=["reserved", "confirmed"], over_limit=False) & ~Q(email=""),
                name="guestpay_redemption_once_per_email",
            )
        ]
        indexes = [models.Index(fields=["coupon", "created_at"], name="guestpay_redemption_coupon")]

    def __str__(self):
        return f"{self.coupon.code}: {self.order}"


def redemption_of(order):
    """The coupon use of ``order`` (None without one), with its coupon, read once per order
    instance: from the order's own query when it selected ``redemption__coupon`` (the
    confirmation does), else here. Code that changes the use's status keeps this object's."""
    return reverse_one(order, "redemption", Redemption.objects.select_related("coupon"))

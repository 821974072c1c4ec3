from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable, TranslatableMixin

from ..adapter import get_adapter
from ..money import COMMON_CURRENCIES, format_money, validate_currency
from ..products import is_product_page, product_models_label
from .access import AccessGrant


class OfferQuerySet(models.QuerySet):
    def on_sale(self):
        return self.filter(is_active=True)


class Offer(TranslatableMixin, ClusterableModel):
    """What is sold: a price, the products it grants and how it is paid (the "gear" settings).

    Translatable with Wagtail (``WAGTAIL_I18N_ENABLED``): the translations of an offer share
    everything but their words (:attr:`OWN_TEXTS`); saving one translation copies the rest, its
    products included, to the others. The slug is shared too, so one pay link serves every
    language (:func:`wagtail_guestpay.localization.find_offer`).
    """

    #: What each translation has of its own.
    OWN_TEXTS = ("title", "description")

    class PaymentMethod(models.TextChoices):
        PROVIDER = "provider", _("Via payment system")

    title = models.CharField(_("title"), max_length=255)
    slug = models.SlugField(
        _("slug"),
        max_length=100,
        allow_unicode=False,
        help_text=_("Used in the direct payment link: /guestpay/pay/<slug>/"),
    )
    description = models.TextField(
        _("description"), blank=True, help_text=_("Shown to the buyer and sent to the provider.")
    )
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(0)],
        help_text=_(
            "0 makes the offer free: the buyer confirms an e-mail address with a code and gets "
            "it without any payment system."
        ),
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="EUR",
        choices=COMMON_CURRENCIES,
        validators=[validate_currency],
    )
    payment_method = models.CharField(
        _("payment method"),
        max_length=16,
        choices=PaymentMethod.choices,
        default=PaymentMethod.PROVIDER,
    )
    provider_account = models.ForeignKey(
        "wagtail_guestpay.ProviderAccount",
        verbose_name=_("payment system"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
    )
    # The gear settings.
    guest_payment = models.BooleanField(
        _("payment without login"),
        default=False,
        help_text=_(
            "The buyer pays first and gets an account afterwards, for the e-mail the payment "
            "system returns."
        ),
    )
    success_page = models.ForeignKey(
        "wagtail_guestpay.PaymentResultPage",
        verbose_name=_("page after a successful payment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    failure_page = models.ForeignKey(
        "wagtail_guestpay.PaymentResultPage",
        verbose_name=_("page after a failed payment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    coupon_field = models.BooleanField(
        _("coupon code field"),
        default=False,
        help_text=_(
            "The offer page and pay blocks ask for an optional coupon code beside the Pay "
            "button. The direct link takes ?coupon=CODE either way."
        ),
    )
    revoke_on_refund = models.BooleanField(
        _("revoke access on refund"),
        default=True,
        help_text=_("Refunds, reversals and chargebacks remove the access this offer granted."),
    )
    is_active = models.BooleanField(
        _("on sale"), default=True, help_text=_("Offers not on sale take no new payments.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OfferQuerySet.as_manager()

    class Meta(TranslatableMixin.Meta):
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["title"]
        constraints = [
            # One offer per slug and language: the translations of an offer share its slug.
            models.UniqueConstraint(fields=["slug", "locale"], name="guestpay_offer_slug_locale")
        ]

    def __str__(self):
        return self.title

    @classmethod
    def from_db(cls, db, field_names, values):
        """A row read from the database, built by Django's model constructor: ClusterableModel's
        looks up every child relation of the model for each instance, to pick child objects out
        of keyword arguments that a row never has (measured: most of the time a page of 50 pay
        blocks spent loading its offers; bench/results, offer page)."""
        if len(values) != len(cls._meta.concrete_fields):  # deferred fields: Django's way
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        models.Model.__init__(new, *values)
        new._state.adding = False
        new._state.db = db
        return new

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if self.translation_key:
            self.share_with_translations(kwargs.get("update_fields"))

    def share_with_translations(self, fields=None):
        """Copy everything but :attr:`OWN_TEXTS` (the products too, unless only ``fields`` were
        saved) to the other translations."""
        others = Offer.objects.filter(translation_key=self.translation_key).exclude(pk=self.pk)
        if not others.exists():
            return
        skip = {"id", "locale", "translation_key", "created_at", *self.OWN_TEXTS}
        shared = {
            field.attname: getattr(self, field.attname)
            for field in self._meta.concrete_fields
            if field.name not in skip and (fields is None or field.name in fields)
        }
        if shared:
            others.update(**shared)
        if fields is not None:
            return
        pages = set(OfferProduct.objects.filter(offer=self).values_list("page_id", flat=True))
        for other in others.only("pk"):
            OfferProduct.objects.filter(offer=other).exclude(page_id__in=pages).delete()
            have = set(OfferProduct.objects.filter(offer=other).values_list("page_id", flat=True))
            OfferProduct.objects.bulk_create(
                [OfferProduct(offer=other, page_id=page_id) for page_id in pages - have]
            )

    @property
    def price_display(self):
        return format_money(self.price, self.currency)

    @property
    def is_free(self):
        """Price 0: never sent to a payment system (fulfilment/free.py grants it once the buyer
        confirmed an e-mail address)."""
        return self.price is not None and self.price == 0

    @property
    def supports_guest_payment(self):
        """The gear icon: the chosen payment system can take payments without login (a free
        offer needs none: the e-mailed code stands in for it)."""
        if self.is_free:
            return True
        return bool(
            self.payment_method == self.PaymentMethod.PROVIDER
            and self.provider_account_id
            and self.provider_account.supports_guest_payment
        )

    @property
    def takes_guest_payment(self):
        return bool(self.guest_payment and self.supports_guest_payment)

    @property
    def can_take_payment(self):
        """On sale and able to take an order: a payment system for a priced offer, nothing more
        for a free one."""
        if self.is_free:
            return bool(self.is_active)
        return bool(
            self.is_active
            and self.payment_method == self.PaymentMethod.PROVIDER
            and self.provider_account_id
            and self.provider_account.is_active
        )

    def get_products(self):
        return [item.page.specific for item in self.products.select_related("page")]

    def product_pages(self):
        """The offer's products as plain Wagtail pages (one query; what granting needs)."""
        return [item.page for item in self.products.select_related("page")]

    def already_yours_url(self, request):
        """Where the signed-in visitor opens what this offer sells when they already hold all of
        it (shown instead of a Pay button: offer page, pay block, direct link): the product page
        when it sells one, their personal area otherwise; '' when they do not, or nobody is
        signed in. A guest is never asked: one who pays again for what their e-mail's account
        holds is served, and the confirmation pipeline marks that order ``bought_twice``."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return ""
        known = request.__dict__.setdefault("_guestpay_already_yours", {})  # a page of blocks
        if self.pk not in known:
            known[self.pk] = self._open_url(request, user)
        return known[self.pk]

    def _open_url(self, request, user):
        products = self.get_products()
        if not AccessGrant.objects.holds_every(user, products):
            return ""
        if len(products) == 1:
            url = products[0].get_url(request)
            if url:
                return url
        return get_adapter().get_personal_area_url()

    def get_pay_path(self):
        return reverse("wagtail_guestpay:pay", args=[self.slug])

    def get_checkout_path(self):
        return reverse("wagtail_guestpay:checkout", args=[self.slug])

    def clean(self):
        super().clean()
        # A slug names one offer and its translations (one pay link for every language).
        if (
            self.slug
            and Offer.objects.filter(slug=self.slug)
            .exclude(pk=self.pk)
            .exclude(translation_key=self.translation_key)
            .exists()
        ):
            raise ValidationError({"slug": _("Another offer has this slug.")})
        if self.currency:
            self.currency = self.currency.upper()
        if self.guest_payment and not self.supports_guest_payment:
            raise ValidationError(
                {
                    "guest_payment": _(
                        "The chosen payment system cannot take payments without login."
                    )
                }
            )


class OfferProduct(Orderable):
    """A product (a page of a declared product type) that an offer grants access to."""

    offer = ParentalKey(Offer, on_delete=models.CASCADE, related_name="products")
    page = models.ForeignKey(
        "wagtailcore.Page", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta(Orderable.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["offer", "page"], name="guestpay_offer_product_once")
        ]

    def __str__(self):
        return str(self.page)

    def clean(self):
        super().clean()
        if self.page_id and not is_product_page(self.page):
            raise ValidationError(
                {
                    "page": _("Choose a page of a product type: %(types)s.")
                    % {"types": product_models_label()}
                }
            )

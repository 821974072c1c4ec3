import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..conf import guestpay_settings
from ..money import format_money
from .attention import Attention


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class OrderStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("order status", "Sent to the payment system")
    PENDING = "pending", pgettext_lazy("order status", "Being confirmed")
    PAID = "paid", pgettext_lazy("order status", "Paid")
    ON_HOLD = "on_hold", pgettext_lazy("order status", "Held for review")
    FAILED = "failed", pgettext_lazy("order status", "Failed")
    EXPIRED = "expired", pgettext_lazy("order status", "Expired")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")
    REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")


class OrderSource(models.TextChoices):  # settled through a payment system, or free
    PAYMENT = "payment", pgettext_lazy("order source", "Payment")
    FREE = "free", pgettext_lazy("order source", "Free")


class OrderQuerySet(models.QuerySet):
    def needs_attention(self):
        return self.exclude(attention="")

    def by_token(self, token):
        return self.filter(token_hash=hash_token(token or ""))


class Order(models.Model):
    """One buyer's purchase of one offer.

    The buyer's browser finds it only through its secret token (kept hashed); ``email`` is what the
    payment system returned, what the buyer typed, or a placeholder when the provider gave none.
    """

    # A record, not content: Wagtail's usage index would cost queries on every save (its admin
    # registration opts it in).
    wagtail_reference_index_ignore = True

    Status = OrderStatus
    Source = OrderSource

    offer = models.ForeignKey(
        "wagtail_guestpay.Offer",
        verbose_name=_("offer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    site = models.ForeignKey(
        "wagtailcore.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(_("buyer e-mail"), blank=True, db_index=True)
    email_is_placeholder = models.BooleanField(_("placeholder e-mail"), default=False)
    contact = models.ForeignKey(
        "wagtail_guestpay.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guestpay_orders",
    )
    paid_as_user = models.BooleanField(
        _("paid while logged in"),
        default=False,
        help_text=_("The buyer was logged in: access goes to that account whatever the e-mail."),
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    source = models.CharField(
        _("source"), max_length=16, choices=OrderSource.choices, default=OrderSource.PAYMENT
    )
    # What a free order was granted for (a confirmed code...), once: NULL is outside "unique".
    free_key = models.CharField(  # noqa: DJ001
        max_length=100, null=True, blank=True, unique=True, editable=False
    )
    # Indexed with the listing's order (Meta.indexes), not alone.
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    attention = models.CharField(
        _("needs attention"), max_length=32, choices=Attention.choices, blank=True, default=""
    )
    attention_note = models.TextField(_("attention note"), blank=True)
    bought_twice = models.BooleanField(
        _("bought twice"),
        default=False,
        help_text=_(
            "When it was paid, the buyer's account already held every product of the "
            "offer (a guest paying again with the same e-mail)."
        ),
    )
    language = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        permissions = [
            ("view_transactions", _("Can see transactions and contacts")),
            ("fix_orders", _("Can fix orders: e-mail, account, resend, re-check, review")),
            ("manage_access", _("Can grant and revoke access manually")),
            ("refund_orders", _("Can refund orders at the payment system")),
            ("erase_buyer_data", _("Can export and erase a buyer's data")),
        ]
        # The staff listings at scale (docs/deployment.md): the default order (newest first, the
        # id breaking ties), each filter together with that order, the needs-attention set
        # (small: a partial index), and paid orders by payment date (the dashboard panel).
        indexes = [
            models.Index(fields=["created_at", "id"], name="guestpay_order_created"),
            models.Index(fields=["status", "created_at", "id"], name="guestpay_order_status"),
            models.Index(fields=["offer", "created_at", "id"], name="guestpay_order_offer"),
            models.Index(
                fields=["attention", "created_at", "id"],
                condition=~Q(attention=""),
                name="guestpay_order_attention",
            ),
            models.Index(fields=["status", "paid_at", "id"], name="guestpay_order_paid"),
            models.Index(
                fields=["created_at", "id"],
                condition=Q(bought_twice=True),
                name="guestpay_order_bought_twice",
            ),
        ]

    def __str__(self):
        return _("Order %(number)s") % {"number": self.number}

    @property
    def number(self):
        return f"{guestpay_settings.REFERENCE_PREFIX}-{self.pk:06d}" if self.pk else "-"

    @property
    def amount_display(self):
        return format_money(self.amount, self.currency)

    @property
    def is_free(self):
        """Granted without any payment (fulfilment/free.py): nothing to refund."""
        return self.source == OrderSource.FREE

    @property
    def price_label(self):  # what the buyer is shown of the amount
        return _("Free") if self.is_free else self.amount_display

    def new_token(self):
        """Give the order a fresh secret token; returns it (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token

    @property
    def is_settled(self):
        return self.status in (OrderStatus.PAID, OrderStatus.REFUNDED)

    @property
    def is_waiting(self):
        return self.status in (OrderStatus.CREATED, OrderStatus.PENDING, OrderStatus.ON_HOLD)

    @property
    def is_unsuccessful(self):
        return self.status in (OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.CANCELLED)


class PaymentStatus(models.TextChoices):
    CREATED = "created", pgettext_lazy("payment status", "Sent to the payment system")
    PENDING = "pending", pgettext_lazy("payment status", "Being confirmed")
    APPROVED = "approved", pgettext_lazy("payment status", "Approved, to be captured")
    PAID = "paid", pgettext_lazy("payment status", "Paid")
    ON_HOLD = "on_hold", pgettext_lazy("payment status", "Held for review")
    FAILED = "failed", pgettext_lazy("payment status", "Failed")
    EXPIRED = "expired", pgettext_lazy("payment status", "Expired")
    CANCELLED = "cancelled", pgettext_lazy("payment status", "Cancelled")
    REFUNDED = "refunded", pgettext_lazy("payment status", "Refunded")


class Payment(models.Model):
    """One attempt at the payment system for an order (a "transaction").

    Created when the buyer is sent to the provider; processed when the provider confirms.
    """

    Status = PaymentStatus

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="payments"
    )
    account = models.ForeignKey(
        "wagtail_guestpay.ProviderAccount",
        verbose_name=_("payment system"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    provider_reference = models.CharField(
        _("provider reference"), max_length=255, blank=True, db_index=True
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PaymentStatus.choices,
        default=PaymentStatus.CREATED,
        db_index=True,
    )
    payer_email = models.EmailField(_("e-mail from the payment system"), blank=True)
    payer_name = models.CharField(_("payer name"), max_length=255, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    provider_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Status checks of an unconfirmed payment, with back-off.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    check_count = models.PositiveIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # When the buyer's browser came back to the order page: such payments are checked first.
    returned_at = models.DateTimeField(null=True, blank=True)
    # When the payment system's hosted page stops working (as the provider said), and the page
    # itself, so that the same browser clicking Pay again is sent back to it.
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    checkout_url = models.URLField(max_length=2048, blank=True, editable=False)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="guestpay_payment_provider_reference_once",
            )
        ]
        indexes = [
            # An order's payments, newest first (the listing's latest payment), and the orders
            # paid through one payment system (the listing's filter).
            models.Index(fields=["order", "created_at", "id"], name="guestpay_payment_order"),
            models.Index(fields=["account", "order"], name="guestpay_payment_account_order"),
            # Open payments by age (the dashboard panel's "waiting for confirmation").
            models.Index(fields=["status", "created_at", "id"], name="guestpay_payment_status"),
            # Staff search for a whole e-mail address.
            models.Index(fields=["payer_email"], name="guestpay_payment_payer_email"),
        ]

    def __str__(self):
        return self.reference

    @property
    def amount_display(self):
        return format_money(self.amount, self.currency)

    @property
    def is_open(self):
        """Still waiting for the provider's final word."""
        return self.status in (PaymentStatus.CREATED, PaymentStatus.PENDING, PaymentStatus.APPROVED)


class ProviderReference(models.Model):
    """An id the provider uses for a payment (session, intent, charge, capture, order...), so
    that an event carrying only one of them still finds its payment."""

    account = models.ForeignKey(
        "wagtail_guestpay.ProviderAccount", on_delete=models.CASCADE, related_name="+"
    )
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="references")
    value = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("provider reference")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "value"], name="guestpay_provider_reference_once"
            )
        ]
        # Staff search for a reference, whatever the payment system.
        indexes = [models.Index(fields=["value"], name="guestpay_provider_reference")]

    def __str__(self):
        return self.value


class PaymentEvent(models.Model):
    """Everything a provider said about payments, stored raw before anything else happens.

    Notifications are unique per (provider account, provider event id): a redelivery is a no-op.
    Notifications whose signature did not verify are kept too (``signature_valid`` False, no event
    id) and never change anything.
    """

    # A record, not content: Wagtail's usage index would cost queries on every save (its admin
    # registration opts it in).
    wagtail_reference_index_ignore = True

    class Source(models.TextChoices):
        NOTIFICATION = "notification", _("Notification")
        STATUS_CHECK = "status_check", _("Status check")
        RETURN = "return", _("Buyer's return")
        FOLLOW_UP = "follow_up", _("Follow-up call")
        REFUND = "refund", _("Refund by staff")

    class Outcome(models.TextChoices):
        WAITING = "", _("Waiting to be processed")
        APPLIED = "applied", _("Applied")
        NO_CHANGE = "no_change", _("No change")
        UNKNOWN_PAYMENT = "unknown_payment", _("Unknown payment")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed to process")

    account = models.ForeignKey(
        "wagtail_guestpay.ProviderAccount", on_delete=models.PROTECT, related_name="events"
    )
    # NULL, not "": events without an id stay outside the unique constraint below.
    provider_event_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(max_length=16, choices=Source.choices)
    signature_valid = models.BooleanField(default=True)
    event_type = models.CharField(max_length=100, blank=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    data = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    # Rejected notifications keep only the first bytes of ``body``; these describe the whole.
    body_size = models.PositiveIntegerField(default=0)
    body_sha256 = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When ``body`` and ``headers`` were replaced (the retention period passed, or the buyer's
    # data was erased): ``body_size`` and ``body_sha256`` still describe what was received.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider_event_id"],
                condition=Q(provider_event_id__isnull=False),
                name="guestpay_event_once_per_account",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(processed_at__isnull=True, signature_valid=True),
                name="guestpay_event_unprocessed",
            ),
            # The dashboard panel's "Notifications to review" (the outcomes it lists).
            models.Index(
                fields=["received_at", "id"],
                condition=Q(outcome__in=["unknown_payment", "failed"]),
                name="guestpay_event_to_review",
            ),
            # The maintenance task's retention sweep: the raw bodies not purged yet, oldest first.
            models.Index(
                fields=["received_at"],
                condition=Q(purged_at__isnull=True),
                name="guestpay_event_to_purge",
            ),
        ]

    def __str__(self):
        return f"{self.event_type or self.source} {self.provider_event_id or ''}".strip()

"""Refunds staff asked a payment system for (the "Refund" fix of an order)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..money import format_money


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("refund status", "Being sent")
    UNKNOWN = "unknown", pgettext_lazy("refund status", "No answer: send again")
    PENDING = "pending", pgettext_lazy("refund status", "Accepted, to be completed")
    DONE = "done", pgettext_lazy("refund status", "Refunded")
    FAILED = "failed", pgettext_lazy("refund status", "Refused")


# The refunds that hold (or may hold) money: the amount they ask for is not refundable again.
HOLDING = (RefundStatus.REQUESTED, RefundStatus.UNKNOWN, RefundStatus.PENDING, RefundStatus.DONE)


class RefundQuerySet(models.QuerySet):
    def holding(self):
        return self.filter(status__in=HOLDING)

    def total(self):
        return self.aggregate(total=Sum("amount"))["total"] or Decimal(0)


class Refund(models.Model):
    """One refund request of a paid payment. ``form_key`` (the staff form's one-time token) is
    unique: the same form sent twice makes one request; ``idempotency_key`` is what the payment
    system gets as its idempotency key, the same on every try of this request."""

    wagtail_reference_index_ignore = True

    Status = RefundStatus

    order = models.ForeignKey(
        "wagtail_guestpay.Order",
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="refunds",
    )
    payment = models.ForeignKey(
        "wagtail_guestpay.Payment",
        verbose_name=_("payment"),
        on_delete=models.CASCADE,
        related_name="refunds",
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    form_key = models.CharField(max_length=64, unique=True, editable=False)
    provider_refund_id = models.CharField(
        _("refund id at the payment system"), max_length=255, blank=True
    )
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RefundQuerySet.as_manager()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.payment_id}: {self.amount_display}"

    @property
    def amount_display(self):
        return format_money(self.amount, self.currency)

    @property
    def idempotency_key(self):
        return f"guestpay-refund-{self.form_key}"

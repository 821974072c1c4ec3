"""The test provider's own records: what a real provider keeps on its side."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TestCharge(models.Model):
    __test__ = False  # not a pytest test class

    class Status(models.TextChoices):
        CREATED = "created", pgettext_lazy("test charge status", "Awaiting the buyer")
        PENDING = "pending", pgettext_lazy("test charge status", "Pending (bank confirms later)")
        PAID = "paid", pgettext_lazy("test charge status", "Paid")
        DECLINED = "declined", pgettext_lazy("test charge status", "Declined")
        CANCELLED = "cancelled", pgettext_lazy("test charge status", "Cancelled by the buyer")
        REFUNDED = "refunded", pgettext_lazy("test charge status", "Refunded")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        "wagtail_guestpay.ProviderAccount", on_delete=models.CASCADE, related_name="+"
    )
    reference = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    email = models.EmailField(blank=True)
    payer_name = models.CharField(max_length=255, blank=True)
    return_url = models.URLField(max_length=2000)
    cancel_url = models.URLField(max_length=2000)
    notify_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("test charge")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.reference} ({self.status})"


class TestDelivery(models.Model):
    """A notification the test provider sends, retried with back-off until answered 2xx."""

    __test__ = False  # not a pytest test class

    charge = models.ForeignKey(TestCharge, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.event_id} ({self.attempts} attempts)"

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ClaimKind(models.TextChoices):
    CLAIM = "claim", _("Address given for an order without one")
    CORRECTION = "correction", _("Mistyped address corrected")


class EmailClaimQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=EmailClaim.Status.PENDING, expires_at__gt=timezone.now())


class EmailClaim(models.Model):
    """A buyer's request, from the success page, to send an order's access to another address,
    proven by a one-time code e-mailed to that address.

    Only a salted HMAC of the code is stored. An order has at most one pending claim (asking for a
    new code replaces it) and at most one used claim: a buyer changes an order's address once.
    """

    Kind = ClaimKind

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the code")
        USED = "used", _("Confirmed")
        REPLACED = "replaced", _("Replaced by a newer code")
        LOCKED = "locked", _("Too many wrong codes")
        CANCELLED = "cancelled", _("No longer allowed")

    order = models.ForeignKey(
        "wagtail_guestpay.Order",
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="email_claims",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ClaimKind.choices)
    email = models.EmailField(_("new e-mail"))
    salt = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("codes typed"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    objects = EmailClaimQuerySet.as_manager()

    class Meta:
        verbose_name = _("e-mail claim")
        verbose_name_plural = _("e-mail claims")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="pending"),
                name="guestpay_claim_one_pending_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="used"),
                name="guestpay_claim_used_once_per_order",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.email}"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

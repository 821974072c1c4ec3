import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .orders import hash_token


class AccessGrantQuerySet(models.QuerySet):
    def holds_every(self, user, products):
        """True if ``user`` holds an active grant to each page of ``products`` (and there is one
        at least): an offer of only these is already theirs."""
        ids = {product.pk for product in products}
        if not ids or user is None or not user.is_authenticated or not user.is_active:
            return False
        held = self.active().filter(user=user, product_id__in=ids)
        return set(held.values_list("product_id", flat=True)) == ids

    def active(self):
        return self.filter(revoked_at__isnull=True)


class AccessGrant(models.Model):
    """A user's access to a product (a page), from an order or from staff.

    An order grants each of its offer's products exactly once (unique constraint); a revoked grant
    stays as history.
    """

    class Source(models.TextChoices):
        ORDER = "order", pgettext_lazy("access source", "Order")
        STAFF = "staff", pgettext_lazy("access source", "Staff")
        API = "api", pgettext_lazy("access source", "Host site")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="guestpay_grants",
    )
    product = models.ForeignKey(
        "wagtailcore.Page", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey(
        "wagtail_guestpay.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grants",
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)

    objects = AccessGrantQuerySet.as_manager()

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "product"],
                condition=Q(order__isnull=False, revoked_at__isnull=True),
                name="guestpay_grant_once_per_order_product",
            ),
            models.UniqueConstraint(
                fields=["user", "product"],
                condition=Q(order__isnull=True, revoked_at__isnull=True),
                name="guestpay_manual_grant_once_per_user_product",
            ),
        ]
        indexes = [models.Index(fields=["user", "product"], name="guestpay_grant_user_product")]

    def __str__(self):
        return f"{self.user} → {self.product}"

    @property
    def is_active(self):
        return self.revoked_at is None


class GuestAccount(models.Model):
    """Marks a user account that a payment created. Only such an account, never used yet, may be
    opened through an access link: a payment never logs anyone into an existing account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guestpay_account"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # Set when an e-mail correction deactivated this never-used account (someone else's typo):
    # the address is free again, and its next payment or registration takes the account back.
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("account created by a payment")
        verbose_name_plural = _("accounts created by a payment")

    def __str__(self):
        return f"GuestAccount(user={self.user_id})"

    @property
    def is_unused(self):
        user = self.user
        return (
            self.activated_at is None and user.last_login is None and not user.has_usable_password()
        )


class AccessLinkQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class AccessLink(models.Model):
    """A single-use, expiring link that lets the owner of a new account set its password."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="guestpay_access_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("access link")
        verbose_name_plural = _("access links")

    def __str__(self):  # never the token: only its hash is stored anyway
        return f"AccessLink(user={self.user_id}, expires={self.expires_at})"

    @classmethod
    def issue(cls, user, max_age):
        """Create a link for ``user``; returns ``(link, token)``. Only the hash is stored."""
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            user=user, token_hash=hash_token(token), expires_at=timezone.now() + max_age
        )
        return link, token

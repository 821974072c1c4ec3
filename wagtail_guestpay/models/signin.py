from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignInCodeQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=SignInCode.Status.PENDING, expires_at__gt=timezone.now())


class SignInCode(models.Model):
    """A one-time code (and the one-click link that carries the same sign-in) e-mailed to an
    account's address: to sign in without a password, or to confirm a new address.

    Only a salted HMAC of the code and a hash of the link's token are stored. An account has at
    most one pending code per purpose (asking again replaces it); using the code or the link uses
    both.
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("Sign-in")
        EMAIL_CHANGE = "email_change", _("New e-mail address")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the code")
        USED = "used", _("Used")
        REPLACED = "replaced", _("Replaced by a newer code")
        LOCKED = "locked", _("Too many wrong codes")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="guestpay_signin_codes",
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    # The address the code was sent to: the account's own (sign-in) or the new one (change).
    email = models.EmailField(_("e-mail"))
    salt = models.CharField(max_length=32, editable=False)
    code_hash = models.CharField(max_length=64, editable=False)
    link_hash = models.CharField(max_length=64, unique=True, editable=False)
    next_url = models.CharField(max_length=2000, blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("codes typed"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    objects = SignInCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose"],
                condition=Q(status="pending"),
                name="guestpay_signin_one_pending_per_purpose",
            )
        ]

    def __str__(self):
        return f"{self.get_purpose_display()}: {self.email}"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

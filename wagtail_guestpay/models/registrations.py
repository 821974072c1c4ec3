from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingRegistration(models.Model):
    """An anonymous buyer's registration for an offer without guest payment, waiting for the code
    e-mailed to the address.

    Nothing is created from it until the code is typed back in the browser session that started
    it (the session holds a random token, the row its SHA-256). A free offer with guest payment
    uses the same row (``purpose`` FREE, no password) for "confirm your address, then get it". The password is kept only as
    ``make_password`` made it, and blanked once the registration is over. An address that already
    has an account gets no code (``code_hash`` stays empty): its owner is told to log in.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the code")
        USED = "used", _("Account created")
        REPLACED = "replaced", _("Replaced by a newer registration")
        LOCKED = "locked", _("Too many wrong codes")
        CANCELLED = "cancelled", _("The address has an account")

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Registration before payment")
        FREE = "free", _("Free offer without login")

    purpose = models.CharField(
        _("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.REGISTER
    )
    offer = models.ForeignKey(
        "wagtail_guestpay.Offer",
        verbose_name=_("offer"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    site = models.ForeignKey(
        "wagtailcore.Site", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(_("e-mail"))
    password = models.CharField(max_length=128, blank=True, editable=False)
    registration_data = models.JSONField(_("registration fields"), default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    session_hash = models.CharField(max_length=64, unique=True, editable=False)
    salt = models.CharField(max_length=32, blank=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    codes_requested = models.PositiveSmallIntegerField(default=1)
    codes_sent = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(_("codes typed"), default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    used_at = models.DateTimeField(_("account created"), null=True, blank=True)

    class Meta:
        verbose_name = _("pending registration")
        verbose_name_plural = _("pending registrations")
        ordering = ["-created_at"]

    def __str__(self):
        return self.email

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING and not self.is_expired

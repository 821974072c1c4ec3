from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Contact(models.Model):
    """The CRM row of a buyer, one per (normalized) e-mail address."""

    # A record, not content: Wagtail's usage index would cost queries on every save (its admin
    # registration opts it in).
    wagtail_reference_index_ignore = True

    class Source(models.TextChoices):
        GUEST_PAYMENT = "guest_payment", _("Payment without login")
        REGISTRATION = "registration", _("Registration before payment")
        LOGGED_IN = "logged_in", _("Payment while logged in")
        STAFF = "staff", _("Added by staff")
        CLAIM = "claim", _("Claimed by the buyer")
        FREE_OFFER = "free_offer", _("Free offer")

    email = models.EmailField(_("e-mail"), unique=True)
    is_placeholder = models.BooleanField(_("placeholder e-mail"), default=False, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guestpay_contacts",
    )
    name = models.CharField(pgettext_lazy("of a person", "name"), max_length=255, blank=True)
    registration_data = models.JSONField(_("registration fields"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the buyer's data was erased (wagtail_guestpay.privacy.erasure): the row stays for
    # the bookkeeping of its orders, with an address that is no one's.
    erased_at = models.DateTimeField(_("data erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-created_at"]
        # The Contacts listing's default order (newest first, the id breaking ties).
        indexes = [models.Index(fields=["created_at", "id"], name="guestpay_contact_created")]

    def __str__(self):
        return self.email

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundEmail(models.Model):
    """An e-mail to send, recorded in the same transaction as what caused it.

    ``dedupe_key`` makes "one access e-mail per order" a database fact; the message is rendered and
    sent after commit by a task, and retried with back-off when the e-mail backend fails.
    """

    kind = models.CharField(_("kind"), max_length=64)
    to_email = models.EmailField(_("to"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.ForeignKey(
        "wagtail_guestpay.Order",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
    )
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} → {self.to_email}"

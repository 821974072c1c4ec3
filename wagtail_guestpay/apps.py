from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WagtailGuestPayConfig(AppConfig):
    name = "wagtail_guestpay"
    label = "wagtail_guestpay"
    verbose_name = _("Guest payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .tasks import ensure_schedule

        post_migrate.connect(_ensure_schedule, sender=self, dispatch_uid="guestpay_schedule")
        self._ensure_schedule = ensure_schedule


def _ensure_schedule(sender, using="default", **kwargs):
    from django.db import connections

    if "django_q_schedule" not in connections[using].introspection.table_names():
        return
    sender._ensure_schedule()

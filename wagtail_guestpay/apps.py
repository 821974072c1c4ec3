from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class WagtailGuestPayConfig(AppConfig):
    name = "wagtail_guestpay"
    label = "wagtail_guestpay"
    verbose_name = _("Guest payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from wagtail.models import Locale

        from . import checks  # noqa: F401  (registers the system checks)
        from .localization import forget_locale_ids
        from .tasks import ensure_schedule

        post_migrate.connect(_ensure_schedule, sender=self, dispatch_uid="guestpay_schedule")
        # The Locale ids remembered per process (localization.py): a Locale saved or deleted,
        # or a language setting changed, is seen at once.
        for signal in (post_save, post_delete):
            signal.connect(forget_locale_ids, sender=Locale, dispatch_uid="guestpay_locale_ids")
        setting_changed.connect(forget_locale_ids, dispatch_uid="guestpay_locale_ids")
        self._ensure_schedule = ensure_schedule


def _ensure_schedule(sender, using="default", **kwargs):
    from django.db import connections

    if "django_q_schedule" not in connections[using].introspection.table_names():
        return
    sender._ensure_schedule()

# acmepay/apps.py
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from wagtail_guestpay.providers.registry import register_provider


class AcmePayConfig(AppConfig):
    name = "tests.acmepay"
    label = "acmepay"
    verbose_name = _("AcmePay payments")

    def ready(self):
        # By dotted path: the class is imported when an account of this kind is first used.
        register_provider("acmepay", f"{self.name}.provider.AcmePayProvider", _("AcmePay"))

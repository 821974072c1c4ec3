from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TestProviderConfig(AppConfig):
    name = "wagtail_guestpay.testprovider"
    label = "wagtail_guestpay_testprovider"
    verbose_name = _("Test payment provider")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ..providers.registry import register_provider
        from ..signals import buyer_data_erased
        from .erasure import erase_test_charges

        buyer_data_erased.connect(erase_test_charges, dispatch_uid="guestpay_testprovider_erase")

        register_provider(
            "test",
            "wagtail_guestpay.testprovider.provider.TestProvider",
            _("Test provider (offline)"),
        )

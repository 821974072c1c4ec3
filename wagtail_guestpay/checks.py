"""System checks: anything missing or insecure in a site's configuration.

Errors (E) stop ``manage.py check --deploy`` and the server; warnings (W) are shown.
"""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.urls import NoReverseMatch, reverse

from .conf import guestpay_settings
from .providers.exceptions import VerificationUnavailable
from .providers.paypal.webhooks import builds_sdk_example_chain


@register()
def check_configuration(app_configs=None, **kwargs):
    messages = []
    for label in ("wagtail.contrib.settings", "wagtail.snippets", "django_q"):
        if not apps.is_installed(label):
            messages.append(Error(
                f"wagtail_guestpay needs {label!r} in INSTALLED_APPS.",
                id="wagtail_guestpay.E001",
            ))
    messages += _check_products()
    messages += _check_keys()
    messages += _check_urls()
    messages += _check_paypal_roots()
    if not guestpay_settings.BASE_URL and not getattr(settings, "WAGTAILADMIN_BASE_URL", ""):
        messages.append(Warning(
            "Neither WAGTAIL_GUESTPAY_BASE_URL nor WAGTAILADMIN_BASE_URL is set: links in e-mails "
            "and provider callbacks will use the Wagtail Site's hostname.",
            hint="Set WAGTAIL_GUESTPAY_BASE_URL = 'https://www.example.com'.",
            id="wagtail_guestpay.W003",
        ))
    base = guestpay_settings.BASE_URL
    if base and not settings.DEBUG and not base.startswith("https://"):
        messages.append(Error(
            "WAGTAIL_GUESTPAY_BASE_URL must use https:// outside DEBUG: payment callbacks and "
            "access links must not travel in clear text.",
            id="wagtail_guestpay.E004",
        ))
    if apps.is_installed("wagtail_guestpay.testprovider") and not settings.DEBUG:
        messages.append(Warning(
            "The test payment provider is installed outside DEBUG: anyone could pay with it for "
            "free if an offer uses it.",
            hint="Remove 'wagtail_guestpay.testprovider' from INSTALLED_APPS in production.",
            id="wagtail_guestpay.W005",
        ))
    if not getattr(settings, "LOGIN_URL", None):
        messages.append(Warning("LOGIN_URL is not set.", id="wagtail_guestpay.W006"))
    return messages


def _check_products():
    labels = guestpay_settings.PRODUCT_MODELS
    if not labels:
        return [Warning(
            "WAGTAIL_GUESTPAY_PRODUCT_MODELS is empty: offers cannot grant access to anything.",
            hint="List the page models buyers get access to, e.g. ['courses.CoursePage'].",
            id="wagtail_guestpay.W001",
        )]
    messages = []
    from wagtail.models import Page

    for label in labels:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            messages.append(Error(
                f"WAGTAIL_GUESTPAY_PRODUCT_MODELS names {label!r}, which is not a model.",
                id="wagtail_guestpay.E002",
            ))
            continue
        if not issubclass(model, Page):
            messages.append(Error(
                f"{label} in WAGTAIL_GUESTPAY_PRODUCT_MODELS is not a Wagtail page model.",
                id="wagtail_guestpay.E002",
            ))
    return messages


def _check_keys():
    keys = guestpay_settings.ENCRYPTION_KEYS
    if keys:
        from cryptography.fernet import Fernet

        try:
            [Fernet(key) for key in keys]
        except (ValueError, TypeError):
            return [Error(
                "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS holds a value that is not a Fernet key.",
                hint="Generate one with cryptography.fernet.Fernet.generate_key().",
                id="wagtail_guestpay.E003",
            )]
        return []
    if settings.DEBUG:
        return [Warning(
            "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS is empty: provider credentials are encrypted with a "
            "key derived from SECRET_KEY, which is accepted only under DEBUG.",
            id="wagtail_guestpay.W002",
        )]
    return [Error(
        "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS is empty: provider credentials cannot be stored.",
        hint="Set it to a list holding cryptography.fernet.Fernet.generate_key() output, kept "
        "out of the code (e.g. an environment variable).",
        id="wagtail_guestpay.E003",
    )]


def _check_urls():
    try:
        reverse("wagtail_guestpay:pay", args=["x"])
    except NoReverseMatch:
        return [Error(
            "wagtail_guestpay's URLs are not included.",
            hint="Add path('guestpay/', include('wagtail_guestpay.urls')) to your URLconf, "
            "before Wagtail's catch-all.",
            id="wagtail_guestpay.E005",
        )]
    return []



def _check_paypal_roots():
    """A trust file of one's own must still let PayPal's certificate chain be built."""
    path = guestpay_settings.PAYPAL_CERT_TRUST_ROOTS
    if not path:
        return []
    try:
        builds = builds_sdk_example_chain()
    except VerificationUnavailable:
        builds = False
    if builds:
        return []
    return [Error(
        f"WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS ({path}) cannot be read or cannot build the "
        "chain of PayPal's webhook certificate: PayPal notifications verified offline would all "
        "be refused.",
        hint="Include the 'DigiCert High Assurance EV Root CA' and 'DigiCert SHA2 Extended "
        "Validation Server CA' certificates (wagtail_guestpay/providers/paypal/trust_roots.pem), "
        "or leave the setting empty.",
        id="wagtail_guestpay.E012",
    )]

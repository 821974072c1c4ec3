"""System checks: anything missing or insecure in a site's configuration.

Errors (E) stop ``manage.py check --deploy`` and the server; warnings (W) are shown.
"""

from datetime import timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DEFAULT_DB_ALIAS
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse
from wagtail.models import Page

from .adapter import get_adapter
from .conf import guestpay_settings
from .providers.exceptions import VerificationUnavailable
from .providers.paypal.webhooks import builds_sdk_example_chain

# What each required app carries; without it the admin answers 500 or nothing runs.
REQUIRED_APPS = {
    "wagtail.contrib.settings": "merchant contacts and registration fields",
    "wagtail.snippets": "offers",
    "wagtail_modeladmin": "Transactions, Contacts and Payment notifications in the admin",
    "django_q": "the background tasks that confirm payments and send e-mail",
}
# Django's default sender: mail from it is often refused or lands in spam.
DJANGO_DEFAULT_FROM_EMAIL = "webmaster@localhost"


@register()
def check_configuration(app_configs=None, **kwargs):
    messages = []
    for label, purpose in REQUIRED_APPS.items():
        if not apps.is_installed(label):
            messages.append(
                Error(
                    f"wagtail_guestpay needs {label!r} in INSTALLED_APPS ({purpose}).",
                    id="wagtail_guestpay.E001",
                )
            )
    messages += _check_products()
    messages += _check_keys()
    messages += _check_urls()
    messages += _check_paypal_roots()
    messages += _check_buyer_urls()
    messages += _check_sqlite()
    messages += _check_from_email()
    messages += _check_retention()
    if not guestpay_settings.BASE_URL and not getattr(settings, "WAGTAILADMIN_BASE_URL", ""):
        messages.append(
            Warning(
                "Neither WAGTAIL_GUESTPAY_BASE_URL nor WAGTAILADMIN_BASE_URL is set: links in e-mails "
                "and provider callbacks will use the Wagtail Site's hostname.",
                hint="Set WAGTAIL_GUESTPAY_BASE_URL = 'https://www.example.com'.",
                id="wagtail_guestpay.W003",
            )
        )
    base = guestpay_settings.BASE_URL
    if base and not settings.DEBUG and not base.startswith("https://"):
        messages.append(
            Error(
                "WAGTAIL_GUESTPAY_BASE_URL must use https:// outside DEBUG: payment callbacks and "
                "access links must not travel in clear text.",
                id="wagtail_guestpay.E004",
            )
        )
    if apps.is_installed("wagtail_guestpay.testprovider") and not settings.DEBUG:
        messages.append(
            Warning(
                "The test payment provider is installed outside DEBUG: anyone could pay with it for "
                "free if an offer uses it.",
                hint="Remove 'wagtail_guestpay.testprovider' from INSTALLED_APPS in production.",
                id="wagtail_guestpay.W005",
            )
        )
    return messages


def _check_products():
    labels = guestpay_settings.PRODUCT_MODELS
    if not labels:
        return [
            Warning(
                "WAGTAIL_GUESTPAY_PRODUCT_MODELS is empty: offers cannot grant access to anything.",
                hint="List the page models buyers get access to, e.g. ['courses.CoursePage'].",
                id="wagtail_guestpay.W001",
            )
        ]
    messages = []
    for label in labels:
        app_label = str(label).partition(".")[0]
        if "." in str(label) and app_label not in apps.app_configs:
            messages.append(
                Error(
                    f"WAGTAIL_GUESTPAY_PRODUCT_MODELS names {label!r}, but no installed app has the "
                    f"label {app_label!r}.",
                    hint=f"Add the app that defines {label} to INSTALLED_APPS, or correct the label "
                    "('app_label.ModelName').",
                    id="wagtail_guestpay.E002",
                )
            )
            continue
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            messages.append(
                Error(
                    f"WAGTAIL_GUESTPAY_PRODUCT_MODELS names {label!r}, which is not a model.",
                    id="wagtail_guestpay.E002",
                )
            )
            continue
        if not issubclass(model, Page):
            messages.append(
                Error(
                    f"{label} in WAGTAIL_GUESTPAY_PRODUCT_MODELS is not a Wagtail page model.",
                    id="wagtail_guestpay.E002",
                )
            )
    return messages


def _check_keys():
    keys = guestpay_settings.ENCRYPTION_KEYS
    if keys:
        from cryptography.fernet import Fernet

        try:
            [Fernet(key) for key in keys]
        except (ValueError, TypeError):
            return [
                Error(
                    "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS holds a value that is not a Fernet key.",
                    hint="Generate one with cryptography.fernet.Fernet.generate_key().",
                    id="wagtail_guestpay.E003",
                )
            ]
        return []
    if settings.DEBUG:
        return [
            Warning(
                "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS is empty: provider credentials are encrypted with a "
                "key derived from SECRET_KEY, which is accepted only under DEBUG.",
                id="wagtail_guestpay.W002",
            )
        ]
    return [
        Error(
            "WAGTAIL_GUESTPAY_ENCRYPTION_KEYS is empty: provider credentials cannot be stored.",
            hint="Set it to a list holding cryptography.fernet.Fernet.generate_key() output, kept "
            "out of the code (e.g. an environment variable).",
            id="wagtail_guestpay.E003",
        )
    ]


def _check_urls():
    try:
        reverse("wagtail_guestpay:pay", args=["x"])
    except NoReverseMatch:
        return [
            Error(
                "wagtail_guestpay's URLs are not included.",
                hint="Add path('guestpay/', include('wagtail_guestpay.urls')) to your URLconf, "
                "before Wagtail's catch-all.",
                id="wagtail_guestpay.E005",
            )
        ]
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
    return [
        Error(
            f"WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS ({path}) cannot be read or cannot build the "
            "chain of PayPal's webhook certificate: PayPal notifications verified offline would all "
            "be refused.",
            hint="Include the 'DigiCert High Assurance EV Root CA' and 'DigiCert SHA2 Extended "
            "Validation Server CA' certificates (wagtail_guestpay/providers/paypal/trust_roots.pem), "
            "or leave the setting empty.",
            id="wagtail_guestpay.E012",
        )
    ]


def _check_buyer_urls():
    """The sign-in and password-reset URLs the package puts in pages and e-mails must lead to a
    view. Wagtail's catch-all "resolves" any path to its page server, which answers 404 for a
    page that does not exist: that counts as not resolving."""
    adapter = get_adapter()
    messages = []
    for name, method in (
        ("sign-in", "get_login_url"),
        ("password reset", "get_password_reset_url"),
    ):
        try:
            url = getattr(adapter, method)()
        except NoReverseMatch as exc:
            url, problem = "", str(exc)
        else:
            problem = _unresolved(url)
        if problem:
            messages.append(
                Error(
                    f"The {name} URL wagtail_guestpay sends buyers to ({url or 'none'}) does not lead "
                    f"to a view: {problem}",
                    hint=f"Include the package's URLs (path('guestpay/', include("
                    f"'wagtail_guestpay.urls'))), or point the adapter's {method}() at the site's own "
                    "page (docs/reference/api.md).",
                    id="wagtail_guestpay.E006",
                )
            )
    return messages


def _unresolved(url):
    """Why ``url`` leads to no view of this site; '' when it does. Another site's URL (a host's
    external sign-in) is taken as it is."""
    if not url:
        return "there is none."
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return ""
    path = parts.path
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    try:
        match = resolve(path)
    except Resolver404:
        return "no URL pattern matches it."
    if match.url_name == "wagtail_serve":
        return "only Wagtail's page catch-all matches it (a 404 unless a page lives there)."
    return ""


SQLITE_ENGINES = ("django.db.backends.sqlite3", "wagtail_guestpay.sqlite")


def _check_sqlite():
    """A web process and a worker write at once: SQLite without WAL, IMMEDIATE transactions and a
    busy timeout answers "database is locked" (the first notification's task fails)."""
    database = settings.DATABASES.get(DEFAULT_DB_ALIAS, {})
    if database.get("ENGINE") not in SQLITE_ENGINES:
        return []
    name = str(database.get("NAME", ""))
    if name == ":memory:" or "mode=memory" in name:
        return []  # one process only (tests)
    options = database.get("OPTIONS", {})
    missing = []
    if "journal_mode=wal" not in options.get("init_command", "").lower().replace(" ", ""):
        missing.append("WAL (init_command 'PRAGMA journal_mode=WAL;')")
    if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
        missing.append("transaction_mode 'IMMEDIATE'")
    if not options.get("timeout"):
        missing.append("a busy timeout ('timeout': 20)")
    if not missing:
        return []
    return [
        Warning(
            "The default database is SQLite without "
            + ", ".join(missing)
            + ": the web process and "
            "the worker write at once, and a notification's task fails with 'database is locked'.",
            hint="Set DATABASES['default']['OPTIONS'] = {'init_command': 'PRAGMA journal_mode=WAL; "
            "PRAGMA synchronous=NORMAL;', 'transaction_mode': 'IMMEDIATE', 'timeout': 20} "
            "(README.md, 'Install into an existing Wagtail site').",
            id="wagtail_guestpay.W007",
        )
    ]


def _check_from_email():
    sender = get_adapter().get_from_email()
    if parseaddr(sender)[1].lower() != DJANGO_DEFAULT_FROM_EMAIL:
        return []
    return [
        Warning(
            f"Buyer e-mails would be sent from Django's default {DJANGO_DEFAULT_FROM_EMAIL!r}: "
            "many mail servers refuse or bury them, and buyers cannot answer.",
            hint="Set DEFAULT_FROM_EMAIL (or WAGTAIL_GUESTPAY_FROM_EMAIL) to the shop's address, "
            "e.g. 'Shop <shop@example.com>'.",
            id="wagtail_guestpay.W008",
        )
    ]


def _check_retention():
    """The raw-body retention is read by the maintenance task every minute: a value it cannot
    use would stop the purge (and end the task's run) each time."""
    value = guestpay_settings.NOTIFICATION_BODY_RETENTION
    if value is None:
        return []
    try:
        valid = not isinstance(value, bool) and guestpay_settings.as_timedelta(
            "NOTIFICATION_BODY_RETENTION"
        ) > timedelta(0)
    except (TypeError, ValueError, OverflowError):
        valid = False
    if valid:
        return []
    return [
        Error(
            "WAGTAIL_GUESTPAY_NOTIFICATION_BODY_RETENTION must be a positive timedelta (or a "
            "number of seconds), or None to keep raw notifications for ever.",
            hint="For instance timedelta(days=90), the default.",
            id="wagtail_guestpay.E020",
        )
    ]

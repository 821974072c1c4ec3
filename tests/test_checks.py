"""System checks name anything missing or insecure."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.core import checks
from django.urls import include, path
from wagtail import urls as wagtail_urls

from wagtail_guestpay.checks import check_configuration


def ids():
    return {message.id for message in check_configuration()}


def test_the_sandbox_configuration_is_clean(settings):
    settings.DEBUG = True  # as the sandbox runs; pytest-django turns DEBUG off
    assert {m.id for m in check_configuration() if m.level >= checks.WARNING} == set()


def test_missing_and_wrong_product_models(settings):
    settings.WAGTAIL_GUESTPAY_PRODUCT_MODELS = []
    assert "wagtail_guestpay.W001" in ids()
    settings.WAGTAIL_GUESTPAY_PRODUCT_MODELS = ["home.NoSuchPage"]
    assert "wagtail_guestpay.E002" in ids()
    settings.WAGTAIL_GUESTPAY_PRODUCT_MODELS = ["auth.User"]
    assert "wagtail_guestpay.E002" in ids()


def test_encryption_keys(settings):
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    assert "wagtail_guestpay.E003" in ids()
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = []
    settings.DEBUG = True
    assert "wagtail_guestpay.W002" in ids()
    settings.DEBUG = False
    assert "wagtail_guestpay.E003" in ids()


def test_insecure_base_url_and_test_provider_in_production(settings):
    settings.DEBUG = False
    settings.WAGTAIL_GUESTPAY_BASE_URL = "http://shop.example"
    found = ids()
    assert "wagtail_guestpay.E004" in found
    assert "wagtail_guestpay.W005" in found  # the sandbox installs the test provider
    settings.WAGTAIL_GUESTPAY_BASE_URL = "https://shop.example"
    assert "wagtail_guestpay.E004" not in ids()


def test_missing_base_url(settings):
    settings.WAGTAIL_GUESTPAY_BASE_URL = ""
    settings.WAGTAILADMIN_BASE_URL = ""
    assert "wagtail_guestpay.W003" in ids()


def test_a_required_app_missing_from_installed_apps(monkeypatch):
    assert "wagtail_guestpay.E001" not in ids()
    is_installed = apps.is_installed
    for label in ("wagtail_modeladmin", "wagtail.contrib.settings", "django_q"):
        # What the check asks the registry, not the registry itself: changing INSTALLED_APPS
        # would reload every app (and Wagtail's API routers refuse to mount twice).
        monkeypatch.setattr(
            apps,
            "is_installed",
            lambda name, left_out=label: name != left_out and is_installed(name),
        )
        messages = [m for m in check_configuration() if m.id == "wagtail_guestpay.E001"]
        assert [label in m.msg for m in messages] == [True], label


def test_a_product_model_whose_app_is_not_installed_is_named_not_a_traceback(settings):
    settings.WAGTAIL_GUESTPAY_PRODUCT_MODELS = ["courses.CoursePage"]  # the docs' example
    messages = [m for m in check_configuration() if m.id == "wagtail_guestpay.E002"]
    assert len(messages) == 1 and "'courses'" in messages[0].msg
    # Wagtail's own checks build the offer form's product chooser: no LookupError there either.
    assert "wagtail_guestpay.E002" in {m.id for m in checks.run_checks()}
    settings.WAGTAIL_GUESTPAY_PRODUCT_MODELS = ["home.CoursePage"]
    assert "wagtail_guestpay.E002" not in ids()


# A URLconf as a fresh `wagtail start` site has it: the package's URLs and Wagtail's catch-all,
# no login page. ``ROOT_URLCONF = __name__`` in the tests below.
urlpatterns = [path("guestpay/", include("wagtail_guestpay.urls")), path("", include(wagtail_urls))]


def test_a_login_url_that_only_wagtails_catch_all_matches(settings):
    assert "wagtail_guestpay.E006" not in ids()  # the package's own pages by default
    settings.ROOT_URLCONF = __name__
    # Django's default login path and reset path: 404 pages on such a site.
    settings.WAGTAIL_GUESTPAY_LOGIN_URL = "/accounts/login/"
    settings.WAGTAIL_GUESTPAY_PASSWORD_RESET_URL = "/accounts/password_reset/"
    messages = [m for m in check_configuration() if m.id == "wagtail_guestpay.E006"]
    assert {m.msg.split(" URL ")[0] for m in messages} == {"The sign-in", "The password reset"}
    assert "catch-all" in messages[0].msg


def test_a_login_url_name_that_does_not_exist(settings):
    settings.WAGTAIL_GUESTPAY_LOGIN_URL = "no-such-login"
    assert "wagtail_guestpay.E006" in ids()
    settings.WAGTAIL_GUESTPAY_LOGIN_URL = (
        "https://sso.example.com/login/"  # another site's sign-in is taken as is
    )
    assert [m.msg for m in check_configuration() if m.id == "wagtail_guestpay.E006"] == []


# The check reads the setting only; no connection is opened with it.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_wal_immediate_transactions_and_busy_timeout(settings):
    assert "wagtail_guestpay.W007" not in ids()  # in-memory (tests): one process only
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/site/db.sqlite3"}
    settings.DATABASES = {**settings.DATABASES, "default": sqlite}
    messages = [m for m in check_configuration() if m.id == "wagtail_guestpay.W007"]
    assert len(messages) == 1
    assert all(word in messages[0].msg for word in ("WAL", "IMMEDIATE", "timeout"))
    sqlite["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    assert "wagtail_guestpay.W007" not in ids()
    sqlite["OPTIONS"] = {**sqlite["OPTIONS"], "timeout": 0}
    assert "wagtail_guestpay.W007" in ids()


def test_djangos_default_sender(settings):
    assert "wagtail_guestpay.W008" not in ids()
    settings.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    assert "wagtail_guestpay.W008" in ids()
    settings.WAGTAIL_GUESTPAY_FROM_EMAIL = "Shop <shop@example.com>"
    assert "wagtail_guestpay.W008" not in ids()
    settings.WAGTAIL_GUESTPAY_FROM_EMAIL = "Webmaster <WEBMASTER@localhost>"
    assert "wagtail_guestpay.W008" in ids()


@pytest.mark.parametrize("value", ["90 days", timedelta(0), -5, True, [1]])
def test_a_raw_body_retention_the_maintenance_task_cannot_use(settings, value):
    settings.WAGTAIL_GUESTPAY_NOTIFICATION_BODY_RETENTION = value
    assert "wagtail_guestpay.E020" in ids()


@pytest.mark.parametrize("value", [None, timedelta(days=90), 3600])
def test_usable_raw_body_retentions(settings, value):
    settings.WAGTAIL_GUESTPAY_NOTIFICATION_BODY_RETENTION = value
    assert "wagtail_guestpay.E020" not in ids()

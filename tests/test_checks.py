"""System checks name anything missing or insecure."""

from django.core import checks

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

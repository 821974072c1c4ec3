"""Fixtures of the admin tests: staff users with chosen permissions, and a second provider kind
with every sort of credential (non-secret, choices, required and optional secrets) that cannot
take payments without login. Import the fixtures you use into the test module."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from tests.factories import UserFactory
from wagtail_guestpay.providers.base import Credential, CredentialCheck, Provider
from wagtail_guestpay.providers.registry import register_provider, unregister_provider

SECRET = "sk_live_do-not-show-9f2c41"


class ConfigurableProvider(Provider):
    """A provider of the tests: registered as "configurable" by the fixture below."""

    kind = "configurable"
    verbose_name = "Configurable"
    supports_guest_payment = False
    can_check_credentials = False
    credentials = (
        Credential("merchant_id", _("Merchant ID")),
        Credential("region", _("Region"), choices=(("eu", "Europe"), ("us", "USA")), default="eu"),
        Credential("api_key", _("API key"), secret=True),
        Credential("webhook_secret", _("Webhook secret"), secret=True, required=False),
    )

    def check_credentials(self):  # pragma: no cover - can_check_credentials is False
        return CredentialCheck(False, "")


@pytest.fixture
def configurable_kind():
    register_provider("configurable", "tests.admin_fixtures.ConfigurableProvider", "Configurable")
    yield "configurable"
    unregister_provider("configurable")


def staff_user(*permissions):
    """A user who can open the Wagtail admin, with the given "app_label.codename" permissions."""
    group = Group.objects.create(name=f"group-{Group.objects.count()}")
    codes = ["wagtailadmin.access_admin", *permissions]
    for code in codes:
        app_label, codename = code.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user = UserFactory()
    user.groups.add(group)
    return user


class RemoteCheckProvider(Provider):
    """A provider of the tests whose credential check calls an HTTP API (a pytest-httpserver on
    loopback, through ``WAGTAIL_GUESTPAY_PROVIDER_URLS``), the way real providers do."""

    kind = "remote"
    verbose_name = "Remote"
    supports_guest_payment = True
    can_check_credentials = True
    credentials = (Credential("api_key", _("API key"), secret=True),)

    def check_credentials(self):
        import httpx

        from wagtail_guestpay.providers.exceptions import ProviderError

        try:
            with self.http_client() as client:
                response = client.get(
                    self.endpoint("api", "https://api.invalid") + "/v1/me",
                    headers={"Authorization": f"Bearer {self.secret('api_key')}"},
                )
        except httpx.HTTPError as exc:
            raise ProviderError(f"connection failed ({type(exc).__name__})") from exc
        if response.status_code == 401:
            return CredentialCheck(False, "The API key was refused.")
        if response.status_code != 200:
            raise ProviderError(f"HTTP {response.status_code}")
        return CredentialCheck(True, f"Connected as {response.json()['account']}.")


@pytest.fixture
def remote_kind():
    register_provider("remote", "tests.admin_fixtures.RemoteCheckProvider", "Remote")
    yield "remote"
    unregister_provider("remote")

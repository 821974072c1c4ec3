"""Payment systems in the Wagtail admin: add, edit, disable, write-only credentials, environment
variables, the webhook URL, "Check credentials", permissions and the audit log."""

import json
import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.models import ModelLogEntry

from tests.admin_fixtures import SECRET, configurable_kind, remote_kind, staff_user  # noqa: F401
from tests.factories import OfferFactory, TestProviderAccountFactory
from wagtail_guestpay.admin.menu import GUESTPAY_MENU_HOOK, PaymentsMenu
from wagtail_guestpay.models import ProviderAccount

pytestmark = pytest.mark.django_db

INDEX = "guestpay_payment_systems:index"


def add_url(kind):
    return reverse("guestpay_payment_systems:add_kind", args=[kind])


def edit_url(account):
    return reverse("guestpay_payment_systems:edit", args=[account.pk])


def check_url(account):
    return reverse("guestpay_payment_systems:check", args=[account.pk])


def account_data(**overrides):
    data = {"name": "Shop Stripe", "mode": "test", "is_active": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def configurable_data(**overrides):
    data = account_data(
        option__merchant_id="M-1001",
        option__region="us",
        secret__api_key=SECRET,
        secret__api_key__env="",
        secret__webhook_secret="",
        secret__webhook_secret__env="",
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def messages_of(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


def followed_text(response):
    return response.content.decode()


# Menu and listing ---------------------------------------------------------------------------
def payments_menu(response):
    """The items of the "Payments" submenu, from Wagtail's sidebar props: [(name, url)]."""
    props = re.search(
        r'<script id="wagtail-sidebar-props" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )

    def find(node):
        if isinstance(node, dict):
            args = node.get("_args")
            if (
                node.get("_type") == "wagtail.sidebar.SubMenuItem"
                and args[0]["name"] == "guestpay_menu"
            ):
                return [(item["_args"][0]["name"], item["_args"][0]["url"]) for item in args[1]]
            nodes = node.values()
        elif isinstance(node, list):
            nodes = node
        else:
            return None
        for child in nodes:
            found = find(child)
            if found is not None:
                return found
        return None

    return find(json.loads(props.group(1))) if props else None


def test_payments_menu_holds_payment_systems_and_offers(admin_client):
    items = payments_menu(admin_client.get(reverse("wagtailadmin_home")))
    assert ("payment-systems", reverse(INDEX)) in items
    assert ("offers", reverse("wagtailsnippets_wagtail_guestpay_offer:list")) in items
    # In their menu_order (Offers 100, Payment systems 200, Coupons 250, the modeladmin pages
    # 300-500), on Wagtail 7.0 too, where the Payments menu builds its submenu itself
    # (admin/compat.py).
    assert [name for name, url in items][:3] == ["offers", "payment-systems", "coupons"]


def test_other_admin_pages_join_the_payments_menu_through_its_hook(rf, admin_user):
    """How Transactions and Contacts (or a host site's pages) join the menu. (Wagtail builds the
    menu once per process, after every wagtail_hooks module is loaded; hence a fresh one here.)"""

    def menu_item():
        return MenuItem(
            "Transactions", "/admin/guestpay-transactions/", name="transactions", order=300
        )

    request = rf.get("/admin/")
    request.user = admin_user
    with hooks.register_temporarily(GUESTPAY_MENU_HOOK, menu_item):
        submenu = PaymentsMenu().get_menu_item()
        assert submenu.name == "guestpay_menu"
        items = [(item.name, item.url) for item in submenu.menu.menu_items_for_request(request)]
    assert ("payment-systems", reverse(INDEX)) in items
    assert items[-1] == ("transactions", "/admin/guestpay-transactions/")


def test_listing_shows_kind_mode_status_and_guest_support(admin_client, configurable_kind):
    TestProviderAccountFactory(name="Offline shop")
    ProviderAccount.objects.create(name="Old gateway", kind="configurable", is_active=False)
    html = admin_client.get(reverse(INDEX)).content.decode()
    assert "Offline shop" in html and "Old gateway" in html
    assert "Test provider (offline)" in html and "Configurable" in html
    assert "Disabled" in html and "Active" in html
    assert "Supported" in html and "Not supported" in html


# Adding -------------------------------------------------------------------------------------
def test_adding_starts_with_choosing_the_kind(admin_client, configurable_kind):
    response = admin_client.get(reverse("guestpay_payment_systems:add"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{add_url("test")}"' in html
    assert f'href="{add_url("configurable")}"' in html


def test_unknown_kind_is_404(admin_client):
    assert admin_client.get(add_url("bitcoin-atm")).status_code == 404
    assert admin_client.post(add_url("bitcoin-atm"), account_data()).status_code == 404
    assert not ProviderAccount.objects.exists()


def test_form_fields_come_from_the_providers_credentials(admin_client, configurable_kind):
    html = admin_client.get(add_url("configurable")).content.decode()
    for name in (
        "option__merchant_id",
        "option__region",
        "secret__api_key",
        "secret__api_key__env",
        "secret__webhook_secret",
    ):
        assert f'name="{name}"' in html
    assert 'type="password"' in html
    assert '<option value="us">USA</option>' in html


def test_add_stores_options_and_encrypted_secrets(admin_client, configurable_kind):
    token = re.search(
        r'name="public_id_token" value="([^"]+)"',
        admin_client.get(add_url("configurable")).content.decode(),
    ).group(1)
    response = admin_client.post(add_url("configurable"), configurable_data(public_id_token=token))
    account = ProviderAccount.objects.get()
    assert response.status_code == 302 and response.url == edit_url(account)
    assert account.kind == "configurable"
    assert account.options == {"merchant_id": "M-1001", "region": "us"}
    assert account.get_secret("api_key") == SECRET
    assert SECRET not in account.secrets_encrypted  # encrypted at rest
    assert account.get_secret("webhook_secret") == ""
    entry = ModelLogEntry.objects.get(action="wagtail.create")
    assert entry.object_id == str(account.pk)


def shown_webhook_url(response):
    return re.search(
        r'id="guestpay-webhook-url" readonly value="([^"]+)"', response.content.decode()
    ).group(1)


def test_the_webhook_url_is_shown_before_the_account_exists(admin_client, configurable_kind):
    """Some providers (Stripe) give their webhook secret only once the URL is registered."""
    page = admin_client.get(add_url("configurable"))
    url = shown_webhook_url(page)
    assert re.fullmatch(r"http://testserver/guestpay/notify/[0-9a-f-]{36}/", url)
    token = re.search(r'name="public_id_token" value="([^"]+)"', page.content.decode()).group(1)
    admin_client.post(add_url("configurable"), configurable_data(public_id_token=token))
    account = ProviderAccount.objects.get()
    assert f"http://testserver{account.notification_path()}" == url


def test_a_tampered_webhook_token_is_refused_and_replaced(admin_client, configurable_kind):
    import uuid

    from django.core import signing

    chosen = uuid.uuid4()
    response = admin_client.post(
        add_url("configurable"), configurable_data(public_id_token=str(chosen))
    )
    assert response.status_code == 200
    assert "webhook URL expired and was replaced" in response.content.decode()
    assert not ProviderAccount.objects.exists()
    fresh = shown_webhook_url(response)
    assert str(chosen) not in fresh
    # An id already taken (a replayed form) is replaced too, never a 500.
    TestProviderAccountFactory(public_id=chosen)
    token = signing.dumps(str(chosen), salt="wagtail_guestpay.admin.provideraccount.public_id")
    response = admin_client.post(add_url("configurable"), configurable_data(public_id_token=token))
    assert response.status_code == 200
    assert "webhook URL expired and was replaced" in response.content.decode()
    assert ProviderAccount.objects.count() == 1


def test_a_required_secret_is_required(admin_client, configurable_kind):
    response = admin_client.post(add_url("configurable"), configurable_data(secret__api_key=""))
    assert response.status_code == 200
    assert "API key is required" in response.content.decode()
    assert not ProviderAccount.objects.exists()


def test_a_typed_secret_is_not_echoed_when_the_form_has_errors(admin_client, configurable_kind):
    response = admin_client.post(add_url("configurable"), configurable_data(name=""))
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert SECRET not in response.content.decode()
    assert not ProviderAccount.objects.exists()


# Editing: write-only secrets ----------------------------------------------------------------
@pytest.fixture
def configured(configurable_kind):
    account = ProviderAccount(
        name="Gateway", kind="configurable", options={"merchant_id": "M-1", "region": "eu"}
    )
    account.set_secrets({"api_key": SECRET, "webhook_secret": "whsec_also-hidden"})
    account.save()
    return account


def test_edit_form_says_set_or_not_set_and_never_shows_a_secret(admin_client, configured):
    configured.set_secrets({"webhook_secret": ""})
    configured.save()
    html = admin_client.get(edit_url(configured)).content.decode()
    assert SECRET not in html
    assert re.search(r"Stored value:\s*<strong>Set</strong>", html)
    assert re.search(r"Stored value:\s*<strong>Not set</strong>", html)
    assert 'value="M-1"' in html  # non-secret settings are shown


def test_empty_secret_keeps_the_stored_value(admin_client, configured):
    response = admin_client.post(
        edit_url(configured), configurable_data(name="Gateway renamed", secret__api_key="")
    )
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.name == "Gateway renamed"
    assert configured.get_secret("api_key") == SECRET
    assert configured.get_secret("webhook_secret") == "whsec_also-hidden"


def test_a_new_secret_replaces_and_clear_removes(admin_client, configured):
    response = admin_client.post(
        edit_url(configured),
        configurable_data(
            option__merchant_id="M-1",
            option__region="eu",
            secret__api_key="sk_new_value",
            secret__webhook_secret__clear="on",
        ),
    )
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.get_secret("api_key") == "sk_new_value"
    assert configured.get_secret("webhook_secret") == ""
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.credentials_changed")
    assert sorted(entry.data["credentials"]) == ["api_key", "webhook_secret"]
    assert "sk_new_value" not in str(entry.data) and SECRET not in str(entry.data)


def test_clearing_a_required_secret_is_refused(admin_client, configured):
    response = admin_client.post(
        edit_url(configured), configurable_data(secret__api_key="", secret__api_key__clear="on")
    )
    assert response.status_code == 200
    assert "API key is required" in response.content.decode()
    configured.refresh_from_db()
    assert configured.get_secret("api_key") == SECRET


def test_typing_and_clearing_at_once_is_refused(admin_client, configured):
    response = admin_client.post(
        edit_url(configured),
        configurable_data(secret__webhook_secret="whsec_new", secret__webhook_secret__clear="on"),
    )
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert "whsec_new" not in response.content.decode()


def test_no_response_of_the_screens_contains_a_secret(admin_client, configured):
    TestProviderAccountFactory(secret="testpay-secret-xyz")
    responses = [
        admin_client.get(reverse(INDEX)),
        admin_client.get(edit_url(configured)),
        admin_client.get(reverse("guestpay_payment_systems:history", args=[configured.pk])),
        admin_client.post(check_url(configured), follow=True),
        admin_client.post(edit_url(configured), configurable_data(name=""), follow=True),
    ]
    for response in responses:
        html = response.content.decode()
        for secret in (SECRET, "whsec_also-hidden", "testpay-secret-xyz"):
            assert secret not in html, response.request["PATH_INFO"]


def test_options_are_saved(admin_client, configured):
    admin_client.post(
        edit_url(configured), configurable_data(option__merchant_id="M-2002", option__region="eu")
    )
    configured.refresh_from_db()
    assert configured.options == {"merchant_id": "M-2002", "region": "eu"}


def test_the_kind_of_a_saved_account_cannot_change(admin_client, configured):
    response = admin_client.post(edit_url(configured), configurable_data(kind="test"))
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.kind == "configurable"
    assert configured.get_secret("api_key") == SECRET


# Environment variables ----------------------------------------------------------------------
def test_a_secret_can_be_read_from_an_environment_variable(admin_client, configured, monkeypatch):
    monkeypatch.setenv("GUESTPAY_GATEWAY_KEY", "sk_from_env")
    response = admin_client.post(
        edit_url(configured),
        configurable_data(secret__api_key="", secret__api_key__env="GUESTPAY_GATEWAY_KEY"),
    )
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.secrets_from_env == {"api_key": "GUESTPAY_GATEWAY_KEY"}
    assert configured.get_secret("api_key") == "sk_from_env"
    # One source of truth: the stored value is gone.
    configured.secrets_from_env = {}
    assert configured.get_secret("api_key") == ""

    configured.refresh_from_db()
    html = admin_client.get(edit_url(configured)).content.decode()
    assert "Read from the environment variable GUESTPAY_GATEWAY_KEY (set)." in html
    assert "sk_from_env" not in html
    assert 'value="GUESTPAY_GATEWAY_KEY"' in html


def test_an_unset_environment_variable_is_reported(admin_client, configured, monkeypatch):
    monkeypatch.delenv("GUESTPAY_GATEWAY_MISSING", raising=False)
    admin_client.post(
        edit_url(configured),
        configurable_data(secret__api_key="", secret__api_key__env="GUESTPAY_GATEWAY_MISSING"),
    )
    html = admin_client.get(edit_url(configured)).content.decode()
    assert "GUESTPAY_GATEWAY_MISSING, which is not set on this server" in html


def test_environment_variable_names_are_validated(admin_client, configured):
    response = admin_client.post(
        edit_url(configured),
        configurable_data(secret__api_key="", secret__api_key__env="NOT A NAME; rm -rf"),
    )
    assert response.status_code == 200
    assert "letters, digits and underscores" in response.content.decode()
    configured.refresh_from_db()
    assert configured.secrets_from_env == {}


def test_a_secret_pasted_into_the_environment_variable_box_is_not_shown_back(
    admin_client, configured
):
    pasted = "sk_live_pasted-in-the-wrong-box-77"
    response = admin_client.post(
        edit_url(configured), configurable_data(secret__api_key="", secret__api_key__env=pasted)
    )
    assert response.status_code == 200
    assert "letters, digits and underscores" in response.content.decode()
    assert pasted not in response.content.decode()
    configured.refresh_from_db()
    assert configured.secrets_from_env == {} and configured.get_secret("api_key") == SECRET


@pytest.mark.parametrize("name", ["DATABASE_URL", "PATH", "XGUESTPAY_KEY"])
def test_only_variables_with_the_credential_prefix_can_be_named(
    admin_client, configured, monkeypatch, name
):
    """An editor cannot point a credential at the server's other variables."""
    monkeypatch.setenv(name, "postgres://user:db-password@db/site")
    response = admin_client.post(
        edit_url(configured), configurable_data(secret__api_key="", secret__api_key__env=name)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Name a variable starting with GUESTPAY_" in html
    assert "db-password" not in html
    configured.refresh_from_db()
    assert configured.secrets_from_env == {} and configured.get_secret("api_key") == SECRET


def test_a_disallowed_variable_named_outside_the_form_is_not_read(
    admin_client, configured, monkeypatch, settings
):
    monkeypatch.setenv("DATABASE_URL", "postgres://user:db-password@db/site")
    configured.secrets_from_env = {"api_key": "DATABASE_URL"}  # e.g. set from a shell
    configured.save()
    assert configured.get_secret("api_key") == ""
    html = admin_client.get(edit_url(configured)).content.decode()
    assert "which this site does not let payment systems read" in html
    assert "(set)" not in html and "not set on this server" not in html  # says nothing of it
    settings.WAGTAIL_GUESTPAY_CREDENTIAL_ENV_PREFIX = ""  # the operator allows any name
    assert configured.get_secret("api_key") == "postgres://user:db-password@db/site"


def test_a_variable_holding_a_site_key_is_refused_and_never_read(
    admin_client, configured, monkeypatch, settings
):
    monkeypatch.setenv("GUESTPAY_DJANGO_KEY", settings.SECRET_KEY)
    monkeypatch.setenv("GUESTPAY_FERNET", settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS[0])
    for name in ("GUESTPAY_DJANGO_KEY", "GUESTPAY_FERNET"):
        response = admin_client.post(
            edit_url(configured), configurable_data(secret__api_key="", secret__api_key__env=name)
        )
        assert response.status_code == 200
        assert "holds one of the site&#x27;s own keys" in response.content.decode()
        configured.refresh_from_db()
        assert configured.secrets_from_env == {}
        configured.secrets_from_env = {"api_key": name}
        assert configured.get_secret("api_key") == ""


def test_value_and_environment_variable_together_are_refused(admin_client, configured):
    response = admin_client.post(
        edit_url(configured),
        configurable_data(secret__api_key="sk_typed", secret__api_key__env="GUESTPAY_SHOP_KEY"),
    )
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    configured.refresh_from_db()
    assert configured.get_secret("api_key") == SECRET


# Disabling and deleting ---------------------------------------------------------------------
def test_disabling_stops_new_payments(admin_client, account):
    offer = OfferFactory(provider_account=account)
    assert offer.can_take_payment
    response = admin_client.post(
        edit_url(account),
        {
            "name": account.name,
            "mode": "test",
            "secret__signing_secret": "",
            "secret__signing_secret__env": "",
        },
    )  # "active" unticked
    assert response.status_code == 302
    account.refresh_from_db()
    assert not account.is_active
    offer.refresh_from_db()
    assert not offer.can_take_payment
    assert ModelLogEntry.objects.filter(action="wagtail.edit", object_id=str(account.pk)).exists()


def test_an_account_in_use_cannot_be_deleted(admin_client, account):
    OfferFactory(provider_account=account)
    url = reverse("guestpay_payment_systems:delete", args=[account.pk])
    response = admin_client.post(url, follow=True)
    assert ProviderAccount.objects.filter(pk=account.pk).exists()
    assert any("cannot be deleted" in m for m in messages_of(response))


def test_an_unused_account_can_be_deleted(admin_client, account):
    url = reverse("guestpay_payment_systems:delete", args=[account.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url)
    assert not ProviderAccount.objects.filter(pk=account.pk).exists()


# Webhook URL --------------------------------------------------------------------------------
def test_edit_page_shows_the_absolute_webhook_url_with_a_copy_button(admin_client, account):
    html = admin_client.get(edit_url(account)).content.decode()
    url = f"http://testserver/guestpay/notify/{account.public_id}/"
    assert f'value="{url}"' in html
    assert re.search(r'<button type="button"[^>]*data-action="w-clipboard#copy"', html)
    assert 'role="status" aria-live="polite"' in html


@override_settings(WAGTAIL_GUESTPAY_BASE_URL="https://shop.example.com/")
def test_webhook_url_uses_the_configured_base_url(admin_client, account):
    html = admin_client.get(edit_url(account)).content.decode()
    assert f'value="https://shop.example.com/guestpay/notify/{account.public_id}/"' in html


# Check credentials --------------------------------------------------------------------------
def test_check_credentials_ok(admin_client, account, admin_user):
    response = admin_client.post(check_url(account), follow=True)
    assert "Credentials work: The signing secret is set." in messages_of(response)
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.credentials_checked")
    assert entry.user == admin_user and entry.data == {"ok": True}


def test_check_credentials_failing(admin_client, account, monkeypatch):
    monkeypatch.delenv("GUESTPAY_UNSET_SECRET", raising=False)
    account.secrets_from_env = {"signing_secret": "GUESTPAY_UNSET_SECRET"}
    account.save()
    response = admin_client.post(check_url(account), follow=True)
    assert "Credentials do not work: Set a signing secret." in messages_of(response)
    assert ModelLogEntry.objects.get(action="wagtail_guestpay.credentials_checked").data == {
        "ok": False
    }


def test_check_credentials_is_post_only_and_csrf_protected(account, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(check_url(account)).status_code == 405
    assert client.post(check_url(account)).status_code == 403
    assert not ModelLogEntry.objects.filter(action="wagtail_guestpay.credentials_checked").exists()
    html = client.get(edit_url(account)).content.decode()
    form = re.search(rf'<form action="{check_url(account)}" method="post">(.*?)</form>', html, re.S)
    assert form and 'name="csrfmiddlewaretoken"' in form.group(1)


def test_no_check_button_when_the_provider_cannot_check(admin_client, configured):
    html = admin_client.get(edit_url(configured)).content.decode()
    assert check_url(configured) not in html
    response = admin_client.post(check_url(configured), follow=True)
    assert "Configurable offers no way to check credentials." in messages_of(response)


# Permissions --------------------------------------------------------------------------------
def assert_denied(response):
    """Wagtail answers a refused admin view with a redirect to the dashboard (or a 403)."""
    assert response.status_code in (302, 403), response.status_code
    if response.status_code == 302:
        assert response.url == reverse("wagtailadmin_home")


def test_an_editor_without_permissions_sees_and_does_nothing(client, account):
    editor = staff_user()
    client.force_login(editor)
    home = client.get(reverse("wagtailadmin_home"))
    assert home.status_code == 200
    assert payments_menu(home) is None and reverse(INDEX) not in home.content.decode()
    assert_denied(client.get(reverse(INDEX)))
    assert_denied(client.get(reverse("guestpay_payment_systems:add")))
    assert_denied(client.get(add_url("test")))
    assert_denied(client.post(add_url("test"), account_data(secret__signing_secret="s")))
    assert_denied(client.get(edit_url(account)))
    assert_denied(client.post(edit_url(account), account_data(name="Hijacked")))
    assert_denied(client.post(check_url(account)))
    assert ProviderAccount.objects.count() == 1
    account.refresh_from_db()
    assert account.name == "TestPay"
    assert not ModelLogEntry.objects.exists()


def test_change_permission_allows_editing_but_not_adding(client, account):
    editor = staff_user("wagtail_guestpay.change_provideraccount")
    client.force_login(editor)
    assert payments_menu(client.get(reverse("wagtailadmin_home"))) == [
        ("payment-systems", reverse(INDEX))
    ]
    assert client.get(edit_url(account)).status_code == 200
    assert_denied(client.get(reverse("guestpay_payment_systems:add")))
    assert_denied(client.get(add_url("test")))
    response = client.post(check_url(account), follow=True)
    assert "Credentials work: The signing secret is set." in messages_of(response)


# Check credentials against a provider API (fake, on loopback) -------------------------------
@pytest.fixture
def remote_account(remote_kind, httpserver, settings):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"remote": {"api": httpserver.url_for("")[:-1]}}
    settings.WAGTAIL_GUESTPAY_PROVIDER_TIMEOUT = (1, 2)
    account = ProviderAccount(name="Remote shop", kind="remote")
    account.set_secrets({"api_key": SECRET})
    account.save()
    return account


def test_check_credentials_calls_the_provider_api(admin_client, remote_account, httpserver):
    httpserver.expect_request(
        "/v1/me", headers={"Authorization": f"Bearer {SECRET}"}
    ).respond_with_json({"account": "acct_42"})
    response = admin_client.post(check_url(remote_account), follow=True)
    assert "Credentials work: Connected as acct_42." in messages_of(response)
    assert SECRET not in response.content.decode()


def test_check_credentials_refused_by_the_provider(admin_client, remote_account, httpserver):
    httpserver.expect_request("/v1/me").respond_with_json({"error": "bad key"}, status=401)
    response = admin_client.post(check_url(remote_account), follow=True)
    assert "Credentials do not work: The API key was refused." in messages_of(response)
    assert ModelLogEntry.objects.get(action="wagtail_guestpay.credentials_checked").data == {
        "ok": False
    }


def test_check_credentials_when_the_provider_cannot_be_reached(
    admin_client, remote_account, httpserver, settings
):
    httpserver.expect_request("/v1/me").respond_with_data("oops", status=502)
    response = admin_client.post(check_url(remote_account), follow=True)
    assert (
        "Credentials do not work: the payment system could not be reached (HTTP 502)."
        in messages_of(response)
    )
    httpserver.stop()  # nothing listens any more
    response = admin_client.post(check_url(remote_account), follow=True)
    assert any("could not be reached (connection failed" in m for m in messages_of(response))
    assert SECRET not in response.content.decode()
    httpserver.start()


def test_an_unexpected_failure_of_the_check_says_little_and_logs_no_secret(
    admin_client, remote_account, httpserver
):
    import logging

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("wagtail_guestpay.admin.provider_accounts")
    logger.addHandler(handler)
    try:
        # A body the provider module does not expect makes it raise (KeyError).
        httpserver.expect_request("/v1/me").respond_with_json({SECRET: "echoed"})
        response = admin_client.post(check_url(remote_account), follow=True)
    finally:
        logger.removeHandler(handler)
    assert (
        "Credentials do not work: the check failed unexpectedly; see the server log."
        in messages_of(response)
    )
    assert records and all(SECRET not in handler.format(r) for r in records)
    assert all(r.exc_info is None for r in records)


@pytest.mark.parametrize("kind", ["test", "stripe", "paypal", "fondy", "wayforpay"])
def test_every_registered_provider_gets_its_form(admin_client, kind):
    from wagtail_guestpay.providers.registry import get_provider_class, registered_kinds

    assert kind in registered_kinds()
    provider = get_provider_class(kind)
    html = admin_client.get(add_url(kind)).content.decode()
    assert provider.credentials
    for credential in provider.credentials:
        prefix = "secret__" if credential.secret else "option__"
        assert f'name="{prefix}{credential.name}"' in html
    assert 'id="guestpay-webhook-url"' in html

"""The offer's gear in the Wagtail admin: the button in "Payment method", the dialog's view (GET and
POST in Wagtail's modal-workflow JSON), the rule "payment without login only where supported",
the listing column, permissions and the audit log."""

import html as html_lib
import json
import re

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry, Site

from tests.admin_fixtures import configurable_kind, staff_user  # noqa: F401
from tests.factories import OfferFactory, course_page
from wagtail_guestpay.admin.links import new_result_page_url
from wagtail_guestpay.models import Offer, PaymentResultPage, ProviderAccount

pytestmark = pytest.mark.django_db


def gear_url(offer):
    return reverse("wagtailsnippets_wagtail_guestpay_offer:gear", args=[offer.pk])


def edit_url(offer):
    return reverse("wagtailsnippets_wagtail_guestpay_offer:edit", args=[offer.pk])


def result_page(title, kind):
    root = Site.objects.get(is_default_site=True).root_page
    slug = re.sub(r"\W+", "-", title.lower())
    return root.add_child(instance=PaymentResultPage(title=title, slug=slug, kind=kind))


@pytest.fixture
def members(account):
    return OfferFactory(provider_account=account, slug="members", guest_payment=False)


@pytest.fixture
def unsupported_account(configurable_kind):
    return ProviderAccount.objects.create(name="Register first", kind="configurable")


def modal(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


# The panel ----------------------------------------------------------------------------------
def test_edit_form_has_the_gear_button_and_its_dialog(admin_client, members, unsupported_account):
    html = admin_client.get(edit_url(members)).content.decode()
    assert re.search(
        r'<button type="button"[^>]*data-a11y-dialog-show="guestpay-gear-dialog"', html
    )
    assert "Payment settings" in html
    assert f'data-url="{gear_url(members)}"' in html  # the Wagtail dialog loads the view
    assert "wagtail_guestpay/admin/gear.js" in html
    support = json.loads(
        html_lib.unescape(re.search(r'data-guestpay-gear-support-value="([^"]*)"', html).group(1))
    )
    assert support == {str(members.provider_account_id): True, str(unsupported_account.pk): False}
    assert 'data-guestpay-gear-account-field-value="id_provider_account"' in html
    # The gear settings are edited in the dialog only, not in the main form.
    assert 'name="guest_payment"' not in html


def test_gear_is_hidden_for_an_offer_whose_provider_cannot(admin_client, unsupported_account):
    offer = OfferFactory(provider_account=unsupported_account, guest_payment=False)
    html = admin_client.get(edit_url(offer)).content.decode()
    assert re.search(r'data-guestpay-gear-target="available"\s+hidden', html)
    assert re.search(r'data-guestpay-gear-target="unavailable"\s*>', html)


def test_a_new_offer_is_told_to_save_first(admin_client, account):
    html = admin_client.get(reverse("wagtailsnippets_wagtail_guestpay_offer:add")).content.decode()
    assert "Save the offer first" in html
    assert "data-a11y-dialog-show" not in html.split("Save the offer first")[0][-2000:]
    assert "guestpay-gear-url-value" not in html


# The dialog: GET ----------------------------------------------------------------------------
def test_dialog_shows_switch_page_choosers_direct_link_and_widget(admin_client, members):
    data = modal(admin_client.get(gear_url(members)))
    assert data["step"] == "gear_settings"
    html = data["html"]
    assert 'name="guest_payment"' in html
    assert 'id="id_success_page-chooser"' in html and 'id="id_failure_page-chooser"' in html
    assert "new wagtail.widgets.PageChooser" in html or "PageChooser(" in html
    assert new_result_page_url() in html
    link = "http://testserver/guestpay/pay/members/"
    assert f'value="{link}"' in html
    # The widget snippet is escaped inside its textarea and copies as real HTML.
    assert f"&lt;a href=&quot;{link}&quot;" in html
    assert html.count('data-action="w-clipboard#copy"') == 2
    assert "answers “not found” (404)" in html  # guest payment is off


def test_create_a_new_result_page_leads_to_its_editor(admin_client):
    """The dialog's link (Wagtail's choose_parent, or the same view of our own before 7.4)."""
    response = admin_client.get(new_result_page_url(), follow=True)
    assert response.status_code == 200
    add_prefix = reverse(
        "wagtailadmin_pages:add", args=["wagtail_guestpay", "paymentresultpage", 1]
    )[: -len("1/")]
    if response.redirect_chain:  # a single possible parent: straight to the editor
        assert response.redirect_chain[-1][0].startswith(add_prefix)
    else:
        assert 'name="parent_page"' in response.content.decode()


def test_dialog_asks_to_save_first_when_the_form_chose_another_account(admin_client, members):
    other = ProviderAccount.objects.create(name="Another", kind="test")
    data = modal(admin_client.get(gear_url(members), {"provider_account": other.pk}))
    assert "Save the offer first" in data["html"]
    assert "<form" not in data["html"]
    same = modal(
        admin_client.get(gear_url(members), {"provider_account": members.provider_account_id})
    )
    assert "<form" in same["html"]


# The dialog: POST ---------------------------------------------------------------------------
def test_saving_switches_guest_payment_on_with_pages_and_logs_it(admin_client, members, admin_user):
    success = result_page("Welcome buyer", "success")
    failure = result_page("Try again", "failure")
    data = modal(
        admin_client.post(
            gear_url(members),
            {"guest_payment": "on", "success_page": success.pk, "failure_page": failure.pk},
        )
    )
    assert data["step"] == "gear_settings_done"
    assert "Payment without login:" in data["summary_html"] and "On" in data["summary_html"]
    assert "Welcome buyer" in data["summary_html"]
    members.refresh_from_db()
    assert members.guest_payment and members.takes_guest_payment
    assert members.success_page_id == success.pk and members.failure_page_id == failure.pk

    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.gear_settings")
    assert entry.user == admin_user and entry.object_id == str(members.pk)
    assert entry.data["changed"] == ["guest_payment", "success_page", "failure_page"]
    assert entry.data["success_page"] == {"id": success.pk, "title": "Welcome buyer"}

    history = admin_client.get(
        reverse("wagtailsnippets_wagtail_guestpay_offer:history", args=[members.pk])
    ).content.decode()
    assert "Payment without login: on" in history
    assert "page after a successful payment: Welcome buyer" in history


def test_direct_link_follows_the_switch(admin_client, members, client):
    from django.test import Client

    anonymous = Client()
    assert anonymous.get(members.get_pay_path()).status_code == 404
    modal(admin_client.post(gear_url(members), {"guest_payment": "on"}))
    assert anonymous.get(members.get_pay_path()).status_code == 303


def test_saving_unchanged_settings_logs_nothing(admin_client, members):
    data = modal(admin_client.post(gear_url(members), {"guest_payment": ""}))
    assert data["step"] == "gear_settings_done"  # saved, not refused
    members.refresh_from_db()
    assert not members.guest_payment
    assert not ModelLogEntry.objects.filter(action="wagtail_guestpay.gear_settings").exists()


def test_a_failure_page_cannot_be_the_success_page(admin_client, members):
    failure = result_page("Payment failed", "failure")
    data = modal(
        admin_client.post(gear_url(members), {"guest_payment": "on", "success_page": failure.pk})
    )
    assert data["step"] == "gear_settings"
    assert "choose a page made for this case" in data["html"]
    members.refresh_from_db()
    assert not members.guest_payment and members.success_page_id is None


def test_only_payment_result_pages_can_be_chosen(admin_client, members):
    course = course_page("Not a result page")
    data = modal(admin_client.post(gear_url(members), {"success_page": course.pk}))
    assert data["step"] == "gear_settings"
    members.refresh_from_db()
    assert members.success_page_id is None


@pytest.mark.parametrize("value", ["abc", "1.5", "\x00", "-1", "99999999999999999999999"])
def test_a_forged_page_id_is_a_form_error(admin_client, members, value):
    data = modal(
        admin_client.post(gear_url(members), {"guest_payment": "on", "success_page": value})
    )
    assert data["step"] == "gear_settings"
    assert "Select a valid choice" in data["html"]
    members.refresh_from_db()
    assert not members.guest_payment and members.success_page_id is None


def test_guest_payment_is_refused_where_the_provider_cannot(admin_client, unsupported_account):
    offer = OfferFactory(provider_account=unsupported_account, guest_payment=False)
    data = modal(admin_client.post(gear_url(offer), {"guest_payment": "on"}))
    assert data["step"] == "gear_settings"
    assert "cannot take payments without login" in data["html"]
    offer.refresh_from_db()
    assert not offer.guest_payment


def test_switching_guest_payment_off(admin_client, offer):
    assert offer.takes_guest_payment
    modal(admin_client.post(gear_url(offer), {"guest_payment": ""}))
    offer.refresh_from_db()
    assert not offer.guest_payment
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.gear_settings")
    assert entry.data["guest_payment"] is False and entry.data["changed"] == ["guest_payment"]


# The main form keeps the rule and the gear settings -----------------------------------------
def offer_form_data(offer, **overrides):
    products = list(offer.products.all())
    data = {
        "title": offer.title,
        "slug": offer.slug,
        "description": offer.description,
        "price": str(offer.price),
        "currency": offer.currency,
        "payment_method": offer.payment_method,
        "provider_account": offer.provider_account_id or "",
        "revoke_on_refund": "on",
        "is_active": "on",
        "products-TOTAL_FORMS": str(len(products)),
        "products-INITIAL_FORMS": str(len(products)),
        "products-MIN_NUM_FORMS": "1",
        "products-MAX_NUM_FORMS": "1000",
    }
    for index, item in enumerate(products):
        data.update(
            {
                f"products-{index}-id": item.pk,
                f"products-{index}-page": item.page_id,
                f"products-{index}-ORDER": index + 1,
                f"products-{index}-DELETE": "",
            }
        )
    data.update(overrides)
    return data


def test_saving_the_offer_form_keeps_the_gear_settings(admin_client, offer):
    success = result_page("Kept page", "success")
    Offer.objects.filter(pk=offer.pk).update(success_page=success)
    response = admin_client.post(edit_url(offer), offer_form_data(offer, title="Renamed"))
    assert response.status_code == 302, response.content.decode()[:2000]
    offer.refresh_from_db()
    assert offer.title == "Renamed"
    assert offer.guest_payment and offer.success_page_id == success.pk


def test_changing_to_a_provider_that_cannot_is_refused_while_guest_payment_is_on(
    admin_client, offer, unsupported_account
):
    response = admin_client.post(
        edit_url(offer), offer_form_data(offer, provider_account=unsupported_account.pk)
    )
    assert response.status_code == 200
    assert "switch payment without login off" in response.content.decode()
    offer.refresh_from_db()
    assert offer.provider_account_id != unsupported_account.pk and offer.guest_payment


def test_changing_to_a_provider_that_cannot_is_allowed_with_guest_payment_off(
    admin_client, members, unsupported_account
):
    response = admin_client.post(
        edit_url(members), offer_form_data(members, provider_account=unsupported_account.pk)
    )
    assert response.status_code == 302
    members.refresh_from_db()
    assert members.provider_account_id == unsupported_account.pk


# The listing --------------------------------------------------------------------------------
def test_listing_shows_which_offers_take_guest_payment(
    admin_client, offer, members, unsupported_account
):
    OfferFactory(
        title="Register-only offer", provider_account=unsupported_account, guest_payment=False
    )
    html = admin_client.get(reverse("wagtailsnippets_wagtail_guestpay_offer:list")).content
    html = html.decode()
    assert "Payment without login" in html

    def status_of(title):
        [row] = [
            chunk
            for chunk in html.split("</tr>")
            if f">{title}<" in chunk or f"{title}\n" in chunk or f" {title} " in chunk
        ]
        return re.search(r'class="w-status[^"]*">\s*([^<]+?)\s*<', row).group(1)

    assert status_of(offer.title) == "On"
    assert status_of(members.title) == "Off"
    assert status_of("Register-only offer") == "Not available"


# Permissions --------------------------------------------------------------------------------
def test_an_editor_who_cannot_change_offers_cannot_use_the_gear(client, members):
    client.force_login(staff_user("wagtail_guestpay.view_offer"))
    assert client.get(gear_url(members)).status_code in (302, 403)
    response = client.post(gear_url(members), {"guest_payment": "on"})
    assert response.status_code in (302, 403)
    members.refresh_from_db()
    assert not members.guest_payment
    assert not ModelLogEntry.objects.filter(action="wagtail_guestpay.gear_settings").exists()


def test_an_editor_who_can_change_offers_can_use_the_gear(client, members):
    client.force_login(staff_user("wagtail_guestpay.change_offer"))
    data = modal(client.post(gear_url(members), {"guest_payment": "on"}))
    assert data["step"] == "gear_settings_done"
    members.refresh_from_db()
    assert members.guest_payment


def test_anonymous_visitors_are_sent_to_the_login(client, members):
    response = client.get(gear_url(members))
    assert response.status_code == 302 and "/admin/login/" in response.url


# Free offers (price 0) ----------------------------------------------------------------------
def test_a_free_offer_needs_no_payment_system_and_takes_the_gear(admin_client, offer):
    """Price 0 and no payment system: the main form saves, the gear shows (its widget says
    "Get it free"), payment without login can be switched on, and the checks stay quiet."""
    from django.core import checks

    before = {message.id for message in checks.run_checks()}
    response = admin_client.post(
        edit_url(offer), offer_form_data(offer, price="0", provider_account="")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    offer.refresh_from_db()
    assert offer.is_free and offer.provider_account_id is None and offer.takes_guest_payment
    page = admin_client.get(edit_url(offer)).content.decode()
    assert 'data-guestpay-gear-price-field-value="id_price"' in page
    data = modal(admin_client.get(gear_url(offer)))
    assert "Get it free" in html_lib.unescape(data["html"])
    modal(admin_client.post(gear_url(offer), {"guest_payment": ""}))
    modal(admin_client.post(gear_url(offer), {"guest_payment": "on"}))
    offer.refresh_from_db()
    assert offer.guest_payment
    assert {message.id for message in checks.run_checks()} == before
    negative = admin_client.post(edit_url(offer), offer_form_data(offer, price="-1"))
    assert negative.status_code == 200 and Offer.objects.get(pk=offer.pk).price == 0

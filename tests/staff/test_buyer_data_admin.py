"""A contact's data in the admin: exported as a JSON download and erased after a confirmation
page, both only with the ``erase_buyer_data`` permission (docs/how-to/buyer-data.md)."""

import json

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.database_search import tables_holding
from tests.staff.conftest import confirm, form_token, messages_of, staff_user
from tests.staff.test_permissions import denied
from wagtail_guestpay.models import Contact, Order
from wagtail_guestpay.privacy.erasure import address_hash

pytestmark = pytest.mark.django_db
BUYER = "buyer@example.com"


@pytest.fixture
def privacy_officer(db):
    return staff_user("privacy", "view_transactions", "erase_buyer_data")


@pytest.fixture
def contact(pay):
    return pay(BUYER).contact


def urls(contact):
    return (
        reverse("guestpay_contacts_modeladmin_inspect", args=[contact.pk]),
        reverse("wagtail_guestpay_staff:export_buyer_data", args=[contact.pk]),
        reverse("wagtail_guestpay_staff:erase_buyer_data", args=[contact.pk]),
    )


def test_without_the_permission_there_is_no_export_and_no_erasure(contact, granter, login):
    client = login(granter)  # may fix and grant, not handle buyer data
    inspect, export, erase = urls(contact)
    page = client.get(inspect).content.decode()
    assert export not in page and erase not in page
    assert denied(client.post(export))
    assert denied(client.get(erase))
    response = client.post(erase, {"reason": "trying", "confirm": "on", "form_token": "x"})
    assert denied(response)
    assert Contact.objects.get(pk=contact.pk).email == BUYER
    assert not ModelLogEntry.objects.filter(action__startswith="wagtail_guestpay.buyer_data")


def test_export_downloads_the_json_and_is_logged(contact, privacy_officer, login):
    client = login(privacy_officer)
    inspect, export, _erase = urls(contact)
    assert export in client.get(inspect).content.decode()
    assert client.get(export).status_code == 405  # a button (POST), not a link
    response = client.post(export)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        f'attachment; filename="buyer-data-{contact.pk}.json"'
    )
    document = json.loads(response.content)
    assert document["email"] == BUYER and len(document["orders"]) == 1
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.buyer_data_exported")
    assert entry.user == privacy_officer and entry.data["address_hash"] == address_hash(BUYER)
    assert BUYER not in json.dumps(entry.data)


def test_erase_needs_a_reason_and_the_confirmation(contact, privacy_officer, login):
    client = login(privacy_officer)
    _inspect, _export, erase = urls(contact)
    page = client.get(erase)
    assert "cannot be undone" in page.content.decode()
    assert BUYER in page.content.decode()  # which contact: its summary
    token = form_token(page)
    for data in ({"reason": "asked", "confirm": ""}, {"reason": " ", "confirm": "on"}):
        response = client.post(erase, {"form_token": token, **data})
        assert response.status_code == 200  # the form again, with its error
    assert Contact.objects.get(pk=contact.pk).email == BUYER


def test_erase_from_the_admin_leaves_the_address_nowhere(contact, privacy_officer, login):
    client = login(privacy_officer)
    _inspect, _export, erase = urls(contact)
    order = Order.objects.get(contact=contact)
    assert "wagtail_guestpay_contact" in tables_holding(BUYER)

    response, token = confirm(client, erase, reason=f"GDPR request from {BUYER}", confirm="on")
    assert response.status_code == 302 and response.url == urls(contact)[0]
    assert "data was erased." in " ".join(messages_of(response))
    assert tables_holding(BUYER) == set()
    contact.refresh_from_db()
    assert contact.erased_at and contact.email.endswith("@erased.invalid")
    order.refresh_from_db()
    assert order.email == contact.email and order.status == "paid"
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.buyer_data_erased")
    assert entry.user == privacy_officer and entry.data["via"] == "admin"
    assert entry.data["reason"] == "GDPR request from [erased]"

    # The same form again, or the page again: nothing more happens.
    again = client.post(erase, {"form_token": token, "reason": "again", "confirm": "on"})
    assert "data was erased already." in " ".join(messages_of(again))
    assert ModelLogEntry.objects.filter(action="wagtail_guestpay.buyer_data_erased").count() == 1
    page = client.get(urls(contact)[0]).content.decode()
    assert "data was erased on" in page and erase not in page
    assert f"?contact={contact.pk}" not in page  # no granting to an address that is no one's
    assert "Buyer data erased" in page and "staff, in the admin" in page  # the history


def test_forged_and_oversized_submissions_change_nothing(contact, privacy_officer, login):
    client = login(privacy_officer)
    _inspect, _export, erase = urls(contact)
    token = form_token(client.get(erase))
    other = reverse("wagtail_guestpay_staff:erase_buyer_data", args=[contact.pk + 1000])
    for url, data in (
        (erase, {"form_token": "forged", "reason": "x", "confirm": "on"}),
        (erase, {"form_token": token, "reason": "x" * 5000, "confirm": "on"}),
    ):
        response = client.post(url, data)
        assert response.status_code == 200 and Contact.objects.get(pk=contact.pk).email == BUYER
    assert client.post(other, {"form_token": token}).status_code == 404
    missing = reverse("wagtail_guestpay_staff:export_buyer_data", args=[10**12])
    assert client.post(missing).status_code == 404
    # A token of another contact's form is refused.
    second = Contact.objects.create(email="second@example.com", source="staff")
    second_erase = reverse("wagtail_guestpay_staff:erase_buyer_data", args=[second.pk])
    response = client.post(second_erase, {"form_token": token, "reason": "x", "confirm": "on"})
    assert response.status_code == 200 and not Contact.objects.get(pk=second.pk).erased_at
    # An address slipped into the form changes nothing: the contact's own address is erased.
    data = {"form_token": token, "reason": "x", "confirm": "on", "email": "second@example.com"}
    assert client.post(erase, data).status_code == 302
    assert Contact.objects.get(pk=contact.pk).erased_at
    assert Contact.objects.get(pk=second.pk).email == "second@example.com"

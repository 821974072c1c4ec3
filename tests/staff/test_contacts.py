"""Contacts: the CRM listing, its search and filters, the inspect view and the edit of a
contact's name and note."""

import re

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.factories import UserFactory
from wagtail_guestpay.models import Contact, RegistrationField, RegistrationSettings

pytestmark = pytest.mark.django_db

INDEX = "/admin/guestpay/contacts/"


def listed(client, query=""):
    response = client.get(INDEX + query)
    assert response.status_code == 200, query
    return set(re.findall(r"[\w.+-]+@[\w.-]+\.(?:com|invalid)", response.content.decode()))


def test_listing_search_and_filters(pay, viewer, login):
    paid = pay("alice@example.com")
    wallet = pay("")
    Contact.objects.filter(pk=paid.contact_id).update(
        name="Alice Martin", registration_data={"phone": "+33 6 12 34 56 78"}
    )
    client = login(viewer)
    assert {"alice@example.com", wallet.email} <= listed(client)
    assert listed(client, "?q=martin") == {"alice@example.com"}
    assert listed(client, "?q=12 34") == {"alice@example.com"}
    assert listed(client, "?is_placeholder__exact=1") == {wallet.email}
    assert listed(client, "?account=no") == {wallet.email}
    assert listed(client, "?access=yes") == {"alice@example.com"}
    assert client.get(INDEX + "?user__password__contains=a").status_code == 400


def test_inspect_shows_registration_fields_orders_grants_and_other_accounts(
    pay, viewer, login, offer
):
    order = pay("alice@example.com")
    UserFactory(username="alice-old", email="alice@example.com")
    settings_row = RegistrationSettings.objects.first() or RegistrationSettings.objects.create(
        site_id=order.site_id or 1
    )
    RegistrationField.objects.create(settings=settings_row, label="Phone number", name="phone")
    Contact.objects.filter(pk=order.contact_id).update(registration_data={"phone": "+33 1"})
    url = reverse("guestpay_contacts_modeladmin_inspect", args=[order.contact_id])
    page = login(viewer).get(url).content.decode()
    assert "Phone number" in page and "+33 1" in page
    assert order.number in page and offer.get_products()[0].title in page
    assert "alice-old" in page
    assert "Grant access" not in page and "Edit name and note" not in page


def test_fixers_edit_name_and_note_and_it_is_logged(pay, fixer, login):
    order = pay("alice@example.com")
    client = login(fixer)
    url = f"/admin/guestpay/contacts/edit/{order.contact_id}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"name": "Alice M.", "note": "Prefers phone calls", "email": "evil@example.com"}
    )
    assert response.status_code == 302
    contact = Contact.objects.get(pk=order.contact_id)
    assert (contact.name, contact.note, contact.email) == (
        "Alice M.",
        "Prefers phone calls",
        "alice@example.com",
    )
    entry = ModelLogEntry.objects.get(action="wagtail.edit", object_id=str(contact.pk))
    assert entry.user == fixer


def test_grant_access_is_offered_to_access_managers(pay, granter, login):
    order = pay("alice@example.com")
    url = reverse("guestpay_contacts_modeladmin_inspect", args=[order.contact_id])
    page = login(granter).get(url).content.decode()
    grant = reverse("wagtail_guestpay_staff:grant_access")
    assert f"{grant}?contact={order.contact_id}" in page
    form = login(granter).get(grant, {"contact": order.contact_id}).content.decode()
    assert f'value="{order.user.username}"' in form


def test_contacts_and_notifications_listings_do_not_grow_in_queries(pay, viewer, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(viewer)
    pay("first@example.com")
    counts = {}
    for size in ("few", "many"):
        if size == "many":
            for index in range(5):
                pay(f"buyer{index}@example.com")
            pay("")
        for url in (INDEX, "/admin/guestpay/events/"):
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[size, url] = len(queries)
    for url in (INDEX, "/admin/guestpay/events/"):
        assert counts["many", url] == counts["few", url], url


def _row_of(client, email):
    """The listing's table row of ``email``, as text."""
    html = client.get(INDEX).content.decode()
    row = next(row for row in re.findall(r"<tr.*?</tr>", html, re.S) if email in row)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row))


def test_name_column_is_the_name_given_to_the_payment_system(pay, viewer, login):
    pay("named@example.com", payer_name="  Ada   Lovelace ")
    wallet = pay("", payer_name="Grace Hopper")
    assert Contact.objects.get(email="named@example.com").name == "Ada Lovelace"
    assert Contact.objects.get(email=wallet.email).name == "Grace Hopper"
    assert "Ada Lovelace" in _row_of(login(viewer), "named@example.com")
    # A later payment with another card name does not rename the contact.
    pay("named@example.com", payer_name="A. L.")
    assert Contact.objects.get(email="named@example.com").name == "Ada Lovelace"


def test_the_name_typed_on_the_set_password_page_names_the_contact(
    offer, testpay, client, outbox, run_on_commit
):
    """The buyer's own name (the registration field ``full_name``) replaces the card's."""
    from wagtail.models import Site

    from tests.conftest import to

    settings_row = RegistrationSettings.for_site(Site.objects.get(is_default_site=True))
    settings_row.save()
    RegistrationField.objects.create(settings=settings_row, label="Full name", required=True)
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="setup@example.com", payer_name="CARD HOLDER")
    assert Contact.objects.get(email="setup@example.com").name == "CARD HOLDER"
    [message] = to(outbox, "setup@example.com")
    link = re.search(r"http://testserver(/guestpay/access/\S+)", message.body).group(1)
    assert client.post(link)["Location"] == "/guestpay/account/setup/"
    response = client.post(
        "/guestpay/account/setup/",
        {
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "reg_full_name": " Ada  Lovelace ",
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get(email="setup@example.com").name == "Ada Lovelace"


def test_products_with_access_counts_products_not_grants(pay, offer, viewer, login):
    from wagtail_guestpay.models import AccessGrant

    first = pay("twice@example.com")
    pay("twice@example.com")
    assert AccessGrant.objects.filter(user=first.user, revoked_at__isnull=True).count() == 2
    client = login(viewer)
    row = _row_of(client, "twice@example.com")
    # E-mail, name (none), account, 2 orders, 1 product with access.
    assert re.search(r"twice@example\.com .*? 2 1 ", row), row

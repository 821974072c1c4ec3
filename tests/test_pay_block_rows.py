"""A page's pay blocks load their offers and payment systems with blocks/rows.by_pk(): Django's
work on each row done once per process, remembered under the row exactly as the database
returned it. What a page shows must follow every change at once, made by any process, with or
without signals or a new updated_at; and each load hands out instances of its own."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models.signals import post_init
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.models import Site

from tests.factories import OfferFactory
from wagtail_guestpay.blocks import PayButtonBlock, rows
from wagtail_guestpay.blocks.pay_button import HIDDEN_ACCOUNT_FIELDS
from wagtail_guestpay.models import Offer, OfferPage, ProviderAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def offers(account):
    return [
        OfferFactory(provider_account=account, slug=f"rows-{index}", guest_payment=True)
        for index in range(5)
    ]


def fields_of(obj):
    return {
        field.attname: getattr(obj, field.attname)
        for field in obj._meta.concrete_fields
        if field.attname not in obj.get_deferred_fields()
    }


def test_offers_and_payment_systems_load_as_django_loads_them(offers, account):
    ids = [offer.pk for offer in offers]
    for _ in range(2):  # the second time from memory
        loaded = rows.by_pk(Offer, ids)
        expected = Offer.objects.in_bulk(ids)
        assert sorted(loaded) == sorted(ids)
        assert [fields_of(loaded[pk]) for pk in ids] == [fields_of(expected[pk]) for pk in ids]
        assert all(not obj._state.adding and obj._state.db == "default" for obj in loaded.values())

        [system] = rows.by_pk(ProviderAccount, [account.pk], HIDDEN_ACCOUNT_FIELDS).values()
        django_s = ProviderAccount.objects.defer(*HIDDEN_ACCOUNT_FIELDS).get(pk=account.pk)
        assert system.get_deferred_fields() == django_s.get_deferred_fields() != set()
        assert fields_of(system) == fields_of(django_s)
        assert system.options == account.options  # a deferred field loads as usual
    # other keys, as many: the same SQL with other parameters
    again = rows.by_pk(Offer, [ids[4], ids[0], 10**9, None, ids[0]])
    assert sorted(again) == sorted([ids[4], ids[0]])
    assert again[ids[4]].slug == offers[4].slug


def test_each_load_hands_out_its_own_instances(offers, account):
    first = rows.by_pk(Offer, [offers[0].pk])[offers[0].pk]
    first.price = 1234
    first.title = "Changed in a preview"
    again = rows.by_pk(Offer, [offers[0].pk])[offers[0].pk]
    assert again is not first
    assert (again.price, again.title) == (offers[0].price, offers[0].title)

    # A JSON value could be changed in place: such rows are not shared.
    [system] = rows.by_pk(ProviderAccount, [account.pk]).values()
    system.options["changed"] = True
    [other] = rows.by_pk(ProviderAccount, [account.pk]).values()
    assert "changed" not in other.options


def test_a_row_is_converted_once_and_again_when_it_changes(offers, monkeypatch):
    ids = [offer.pk for offer in offers]
    rows.by_pk(Offer, ids)
    built = []
    real = Offer.from_db.__func__
    monkeypatch.setattr(
        Offer, "from_db", classmethod(lambda cls, *args: built.append(1) or real(cls, *args))
    )
    with CaptureQueriesContext(connection) as queries:
        rows.by_pk(Offer, ids)
    assert len(queries) == 1 and built == []

    Offer.objects.filter(pk=ids[2]).update(price=77)  # no signal, the same updated_at
    with CaptureQueriesContext(connection) as queries:
        loaded = rows.by_pk(Offer, ids)
    assert len(queries) == 1 and len(built) == 1
    assert loaded[ids[2]].price == 77


def test_init_signals_are_sent_where_something_listens(offers):
    ids = [offer.pk for offer in offers]
    rows.by_pk(Offer, ids)
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.pk)

    post_init.connect(listener, sender=Offer)
    try:
        rows.by_pk(Offer, ids)
    finally:
        post_init.disconnect(listener, sender=Offer)
    assert sorted(seen) == sorted(ids)


def test_keys_come_in_batches_the_database_allows(offers, monkeypatch):
    ids = [offer.pk for offer in offers]
    monkeypatch.setattr(connection.features, "max_query_params", 2)
    with CaptureQueriesContext(connection) as queries:
        assert sorted(rows.by_pk(Offer, ids)) == sorted(ids)
    assert len(queries) == 3


def test_a_page_of_pay_blocks_follows_every_change_at_once(client, offers, account):
    """Changes made without signals (another process, a queryset update): a new price, an
    offer taken off sale, a payment system switched off, and back."""
    root = Site.objects.get(is_default_site=True).root_page
    root.add_child(
        instance=OfferPage(
            title="Many offers",
            slug="many-offers",
            offer=offers[0],
            body=[
                ("pay_button", {"offer": offer, "label": "", "show_price": True})
                for offer in offers
            ],
        )
    )

    def buttons():
        html = client.get("/many-offers/").content.decode()
        return html.count('class="guestpay-button"'), html.count("guestpay-pay--closed"), html

    assert buttons()[:2] == (6, 0)  # five blocks and the page's own button
    assert buttons()[:2] == (6, 0)  # from memory

    Offer.objects.filter(pk=offers[3].pk).update(price=987)
    assert "987" in buttons()[2]

    Offer.objects.filter(pk=offers[1].pk).update(is_active=False)
    assert buttons()[:2] == (5, 1)

    ProviderAccount.objects.filter(pk=account.pk).update(is_active=False)
    assert buttons()[:2] == (0, 6)

    ProviderAccount.objects.filter(pk=account.pk).update(is_active=True)
    Offer.objects.filter(pk=offers[1].pk).update(is_active=True)
    assert buttons()[:2] == (6, 0)


def test_the_block_renders_the_offer_as_loaded_for_this_request(offers):
    """The value's offer is this request's instance: a preview's unsaved change is shown."""
    block = PayButtonBlock()
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    [value] = block.bulk_to_python([{"offer": offers[0].pk, "label": "", "show_price": False}])
    value["offer"].is_active = False
    assert "guestpay-pay--closed" in block.render(value, {"request": request})
    [value] = block.bulk_to_python([{"offer": offers[0].pk, "label": "", "show_price": False}])
    assert "guestpay-pay--closed" not in block.render(value, {"request": request})

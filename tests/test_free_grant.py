"""grant_free_order (fulfilment/free.py): the one path by which a free order is granted, for
free offers and for orders a coupon brought to 0."""

from decimal import Decimal

import pytest
from django.db import connection

from tests.conftest import run_pending_on_commit, to
from tests.factories import OfferFactory, UserFactory
from wagtail_guestpay.fulfilment.checkout import create_order
from wagtail_guestpay.fulfilment.free import grant_free_order
from wagtail_guestpay.models import AccessGrant, Order, OrderSource, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def free_offer():
    return OfferFactory(slug="free-guide", price=Decimal("0"), provider_account=None)


def test_a_new_address_gets_an_account_the_products_and_the_set_up_link(free_offer, outbox):
    grant = grant_free_order(free_offer, "New@Example.com", key="test:1")
    run_pending_on_commit()
    order = Order.objects.get()
    assert grant.created and grant.token and grant.order == order
    assert (order.status, order.source, order.amount) == (OrderStatus.PAID, "free", Decimal("0"))
    assert order.email == "new@example.com" and order.paid_at is not None
    assert not order.payments.exists()
    product = free_offer.get_products()[0]
    assert AccessGrant.objects.filter(user=order.user, product=product, revoked_at=None).exists()
    [message] = to(outbox, "new@example.com")
    assert "/guestpay/access/" in message.body  # the set-up link


def test_an_existing_account_gets_it_and_nothing_is_flagged(free_offer, outbox):
    user = UserFactory(email="known@example.com")
    grant_free_order(free_offer, "known@example.com", key="test:2")
    grant_free_order(
        OfferFactory(price=0, provider_account=None, products=free_offer.get_products()),
        "known@example.com",
        key="test:3",
    )
    run_pending_on_commit()
    orders = Order.objects.order_by("pk")
    assert [order.user_id for order in orders] == [user.pk, user.pk]
    assert not any(order.attention or order.bought_twice for order in orders)
    assert len(to(outbox, "known@example.com")) == 2


def test_the_same_key_grants_once(free_offer, outbox):
    first = grant_free_order(free_offer, "a@example.com", key="registration:7")
    again = grant_free_order(free_offer, "a@example.com", key="registration:7")
    run_pending_on_commit()
    assert again.order == first.order and not again.created and again.token == ""
    assert Order.objects.count() == 1 and len(outbox) == 1


def test_a_signed_in_account_gets_it_whatever_the_address(free_offer, outbox):
    user = UserFactory(email="member@example.com")
    grant_free_order(free_offer, key="user:1", user=user)
    run_pending_on_commit()
    order = Order.objects.get()
    assert order.user == user and order.paid_as_user and order.email == "member@example.com"


def test_refuses_priced_offers_and_missing_addresses(free_offer, offer):
    with pytest.raises(ValueError):
        grant_free_order(offer, "a@example.com", key="x")
    with pytest.raises(ValueError):
        grant_free_order(free_offer, "not an address", key="y")
    with pytest.raises(ValueError):
        grant_free_order(free_offer, "a@example.com", key="")
    assert not Order.objects.exists()


def test_settles_the_caller_s_order_of_zero(offer, rf, outbox):
    """A 100 % coupon: the caller's order of amount 0, without a payment, is settled as free."""
    request = rf.get("/")
    order = Order(offer=offer, amount=Decimal("0"), currency="EUR")
    order.new_token()
    order.save()
    grant = grant_free_order(offer, "c@example.com", key=f"coupon:{order.pk}", order=order)
    run_pending_on_commit()
    order.refresh_from_db()
    assert grant.created and order.source == OrderSource.FREE and order.status == "paid"
    assert len(to(outbox, "c@example.com")) == 1
    _paid, _payment, _token = create_order(request, offer)
    with pytest.raises(ValueError):  # an order with a payment is not the caller's to settle
        grant_free_order(offer, "c@example.com", key="coupon:other", order=_paid)
    assert connection.in_atomic_block

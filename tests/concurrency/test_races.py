"""Races on PostgreSQL: the same notification delivered 50 times at once for many orders, the
buyer's return page polling at the same time, several orders of one new buyer paid at once, and
events arriving out of order. Every request runs in its own thread with its own connection and
commits for real; tasks run inline after each commit (django-q2 sync mode), so task bodies race
exactly as several workers would.
"""

import random
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from tests.conftest import TestPay
from tests.factories import OfferFactory
from wagtail_guestpay.emails import ACCESS
from wagtail_guestpay.models import (
    AccessGrant,
    Contact,
    Order,
    OrderStatus,
    OutboundEmail,
    Payment,
    PaymentEvent,
)
from wagtail_guestpay.testprovider.models import TestCharge

from .helpers import Poller, needs_postgres, storm

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()

DELIVERIES = 50
ORDERS = 8


@pytest.fixture
def fast_return_checks(settings):
    """Every poll of the return page may trigger a status check (no 10 s spacing)."""
    settings.WAGTAIL_GUESTPAY_RETURN_PAGE_CHECK_INTERVAL = 0


def start_orders(offer, count):
    """``count`` buyers click Pay; returns [(payment, charge, return page path)]."""
    started = []
    for _ in range(count):
        _order, payment, charge = TestPay(Client()).start(offer)
        payment.refresh_from_db()
        started.append((payment, charge, urlsplit(charge.return_url).path))
    return started


def provider_says(charge, status, email):
    """What the provider's own records say (read by the status checks the polling triggers)."""
    TestCharge.objects.filter(pk=charge.pk).update(status=status, email=email)


def deliver(payment, body, headers_from):
    """A job posting one signed delivery with a fresh client."""

    def job():
        return TestPay(Client()).post(payment, body, **headers_from).status_code

    return job


def access_emails(order):
    return OutboundEmail.objects.filter(order=order, kind=ACCESS)


def test_same_notification_50_times_for_many_orders_with_polling_grants_and_mails_once(
    fast_return_checks,
):
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, ORDERS)
    jobs = []
    for index, (payment, charge, _path) in enumerate(started):
        email = f"storm{index}@example.com"
        provider_says(charge, "paid", email)
        body = TestPay(None).body(payment, "paid", email=email)
        jobs += [deliver(payment, body, {}) for _ in range(DELIVERIES)]
    random.Random(5).shuffle(jobs)
    polled = [path for *_rest, path in started] + [path + "status/" for *_r, path in started]

    with Poller(polled, threads=3) as poller:
        codes = storm(jobs, threads=24)

    assert codes == [200] * len(jobs)
    assert set(poller.codes) <= {200}, poller.codes
    assert sum(poller.codes.values()) >= len(polled)  # the pages were polled meanwhile
    products = offer.get_products()
    for index, (payment, _charge, _path) in enumerate(started):
        order = Order.objects.get(pk=payment.order_id)
        email = f"storm{index}@example.com"
        assert order.status == OrderStatus.PAID
        assert User.objects.filter(email__iexact=email).count() == 1
        assert Contact.objects.filter(email=email).count() == 1
        assert AccessGrant.objects.filter(order=order).count() == len(products)
        assert access_emails(order).count() == 1
        assert [m.to for m in mail.outbox].count([email]) == 1
        events = PaymentEvent.objects.filter(payment=payment, signature_valid=True)
        # one stored notification; at most one stored status answer ("paid"), whatever won
        assert events.filter(source="notification").count() == 1
        assert events.filter(source="status_check").count() <= 1
        assert events.filter(outcome="applied").count() == 1


def test_one_new_buyer_paying_several_orders_at_once_gets_one_account(fast_return_checks):
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, 6)
    jobs = []
    for payment, charge, _path in started:
        provider_says(charge, "paid", "Same.Buyer@Example.com")
        body = TestPay(None).body(payment, "paid", email="Same.Buyer@Example.com")
        jobs += [deliver(payment, body, {}) for _ in range(10)]
    random.Random(7).shuffle(jobs)

    with Poller([path + "status/" for *_r, path in started], threads=2):
        assert set(storm(jobs, threads=24)) == {200}

    assert User.objects.filter(email__iexact="same.buyer@example.com").count() == 1
    assert Contact.objects.filter(email="same.buyer@example.com").count() == 1
    user = User.objects.get(email__iexact="same.buyer@example.com")
    for payment, _charge, _path in started:
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID and order.user_id == user.pk
        assert AccessGrant.objects.filter(order=order).count() == 1
        assert access_emails(order).count() == 1
    # One access e-mail per order to the buyer; every order after the first sold what the account
    # already held: flagged "bought twice", and staff are told once per such order.
    to_buyer = [m for m in mail.outbox if [a.lower() for a in m.to] == ["same.buyer@example.com"]]
    assert len(to_buyer) == len(started)
    flagged = Order.objects.filter(pk__in=[p.order_id for p, *_r in started], bought_twice=True)
    assert flagged.count() == len(started) - 1
    assert len(mail.outbox) == len(started) + flagged.count()


def test_paid_and_pending_delivered_together_end_paid_once():
    """ "pending after paid": whatever order they are applied in, the payment ends paid, and
    access and the e-mail happen once."""
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, 4)
    jobs = []
    pay = TestPay(None)
    for index, (payment, _charge, _path) in enumerate(started):
        email = f"late-pending{index}@example.com"
        paid = pay.body(payment, "paid", email=email)
        pending = pay.body(payment, "pending", email=email)
        jobs += [deliver(payment, paid, {}) for _ in range(15)]
        jobs += [deliver(payment, pending, {}) for _ in range(15)]
    random.Random(11).shuffle(jobs)
    assert set(storm(jobs, threads=24)) == {200}

    for payment, _charge, _path in started:
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID
        assert Payment.objects.get(pk=payment.pk).status == "paid"
        assert AccessGrant.objects.filter(order=order, revoked_at__isnull=True).count() == 1
        assert access_emails(order).count() == 1


def test_refund_racing_the_capture_ends_refunded_without_access():
    """ "refund before capture": delivered together, in any order, the order ends refunded and
    holds no active access; at most one access e-mail (if the capture happened to be applied
    first)."""
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, 4)
    jobs = []
    pay = TestPay(None)
    for index, (payment, _charge, _path) in enumerate(started):
        email = f"refund-race{index}@example.com"
        jobs += [deliver(payment, pay.body(payment, "paid", email=email), {}) for _ in range(10)]
        jobs += [
            deliver(payment, pay.body(payment, "refunded", email=email), {}) for _ in range(10)
        ]
    random.Random(13).shuffle(jobs)
    assert set(storm(jobs, threads=24)) == {200}

    for payment, _charge, _path in started:
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.REFUNDED
        assert not AccessGrant.objects.filter(order=order, revoked_at__isnull=True).exists()
        assert access_emails(order).count() <= 1


def test_an_access_link_posted_20_times_at_once_is_consumed_once(settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (100, 600)
    offer = OfferFactory(guest_payment=True)
    [(payment, _charge, _path)] = start_orders(offer, 1)
    assert TestPay(Client()).notify(payment, "paid", email="once@example.com").status_code == 200
    line = next(line for line in mail.outbox[-1].body.splitlines() if "/guestpay/access/" in line)
    path = line.strip().removeprefix("http://testserver")

    def consume():
        return Client().post(path).status_code

    codes = storm([consume] * 20, threads=20)
    assert sorted(codes) == [302] + [410] * 19

"""Receipt numbers on PostgreSQL under real concurrency: payments confirmed at the same instant,
each in its own thread, connection and transaction, never share a number and leave no gap, even
when some of them fail or roll back meanwhile; each site counts on its own."""

import random
from unittest import mock

import pytest
from wagtail.models import Page, Site

from tests.conftest import TestPay
from tests.factories import OfferFactory
from wagtail_guestpay.fulfilment import confirmation
from wagtail_guestpay.models import Order, OrderStatus, PaymentEvent, Receipt, ReceiptCounter

from .helpers import needs_postgres, storm
from .test_races import deliver, start_orders

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAYMENTS = 20


@pytest.fixture(autouse=True)
def _pay_budget(settings):
    """Every buyer here clicks Pay from the same client: lift the pay-link budget."""
    settings.WAGTAIL_GUESTPAY_PAY_RATE_LIMITS = {"client_offer": (100, 600)}


def sequences(orders):
    return sorted(Receipt.objects.filter(order__in=orders).values_list("sequence", flat=True))


def test_20_payments_confirmed_at_once_get_numbers_1_to_20():
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, PAYMENTS)
    pay = TestPay(None)
    jobs = []
    for index, (payment, _charge, _path) in enumerate(started):
        body = pay.body(payment, "paid", email=f"receipt{index}@example.com")
        jobs += [deliver(payment, body, {}) for _ in range(3)]  # redeliveries too
    random.Random(3).shuffle(jobs)

    assert set(storm(jobs, threads=PAYMENTS)) == {200}

    orders = Order.objects.filter(pk__in=[payment.order_id for payment, *_r in started])
    assert set(orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert sequences(orders) == list(range(1, PAYMENTS + 1))
    assert Receipt.objects.count() == PAYMENTS
    [counter] = ReceiptCounter.objects.all()
    assert counter.last_number == PAYMENTS
    numbers = set(Receipt.objects.values_list("number", flat=True))
    assert len(numbers) == PAYMENTS


def test_declined_and_rolled_back_payments_among_them_leave_no_gap():
    """20 payments paid, 6 declined and 4 whose processing fails after the order became paid
    (the transaction rolls back, number included), all at the same instant: the 20 paid ones
    hold 1..20; the failed ones, processed again later, continue at 21."""
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, PAYMENTS + 10)
    paid, declined, failing = started[:PAYMENTS], started[PAYMENTS:26], started[26:]
    pay = TestPay(None)
    jobs = []
    for index, (payment, _charge, _path) in enumerate(paid):
        jobs.append(deliver(payment, pay.body(payment, "paid", email=f"ok{index}@example.com"), {}))
    for payment, _charge, _path in declined:
        jobs.append(deliver(payment, pay.body(payment, "declined"), {}))
    for index, (payment, _charge, _path) in enumerate(failing):
        body = pay.body(payment, "paid", email=f"boom{index}@example.com")
        jobs.append(deliver(payment, body, {}))
    random.Random(9).shuffle(jobs)
    real_fulfil = confirmation.fulfil_order

    def fulfil_or_fail(order, payment, event):
        if (event.email or "").startswith("boom"):
            raise RuntimeError("the mail server is down")  # after the number was taken
        return real_fulfil(order, payment, event)

    with mock.patch.object(confirmation, "fulfil_order", side_effect=fulfil_or_fail):
        assert set(storm(jobs, threads=PAYMENTS)) == {200}

    paid_orders = Order.objects.filter(pk__in=[payment.order_id for payment, *_r in paid])
    assert sequences(paid_orders) == list(range(1, PAYMENTS + 1))
    others = [payment.order_id for payment, *_r in declined + failing]
    assert not Receipt.objects.filter(order_id__in=others).exists()
    assert ReceiptCounter.objects.get().last_number == PAYMENTS

    # The failed ones are processed again (the sweeper's retry): numbers 21-24.
    waiting = PaymentEvent.objects.filter(processed_at__isnull=True, signature_valid=True)
    assert waiting.count() == len(failing)
    for event_id in waiting.order_by("pk").values_list("pk", flat=True):
        assert confirmation.process_event(event_id) == PaymentEvent.Outcome.APPLIED
    failing_orders = Order.objects.filter(pk__in=[payment.order_id for payment, *_r in failing])
    assert sequences(failing_orders) == list(range(PAYMENTS + 1, PAYMENTS + 5))


def test_two_sites_paid_at_once_each_count_from_1():
    other = Site.objects.create(
        hostname="other.example.com", root_page=Page.objects.get(depth=1), site_name="Other"
    )
    offer = OfferFactory(guest_payment=True)
    started = start_orders(offer, PAYMENTS)
    there = [payment.order_id for payment, *_r in started[::2]]
    Order.objects.filter(pk__in=there).update(site=other)
    pay = TestPay(None)
    jobs = [
        deliver(payment, pay.body(payment, "paid", email=f"site{index}@example.com"), {})
        for index, (payment, _charge, _path) in enumerate(started)
    ]
    random.Random(4).shuffle(jobs)

    assert set(storm(jobs, threads=PAYMENTS)) == {200}

    here = [payment.order_id for payment, *_r in started[1::2]]
    assert sequences(here) == list(range(1, PAYMENTS // 2 + 1))
    assert sequences(there) == list(range(1, PAYMENTS // 2 + 1))
    assert set(Receipt.objects.filter(order_id__in=there).values_list("site", flat=True)) == {
        other.pk
    }

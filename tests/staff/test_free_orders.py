"""Free orders (issue 11 item 3) for staff: in Transactions like the others (amount 0, "Free",
the source filter and export column), never offered Refund, and the dashboard's lists still
work with them among paid ones."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.conftest import run_pending_on_commit
from tests.factories import OfferFactory
from wagtail_guestpay.fulfilment.free import grant_free_order

pytestmark = pytest.mark.django_db
INDEX = "/admin/guestpay/transactions/"


@pytest.fixture
def free_order():
    offer = OfferFactory(title="Free guide", price=Decimal("0"), provider_account=None)
    grant = grant_free_order(offer, "reader@example.com", key="test:staff")
    run_pending_on_commit()
    return grant.order


def export(client, **query):
    response = client.get(INDEX, {"export": "csv", **query})
    assert response.status_code == 200
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}


def test_free_orders_are_listed_filtered_and_exported(pay, free_order, viewer, login):
    paid = pay("buyer@example.com")
    client = login(viewer)
    page = client.get(INDEX)
    assert page.status_code == 200
    text = page.content.decode()
    assert free_order.number in text and paid.number in text
    assert "Free guide, 0.00" in text and "Free" in text
    only_free = client.get(INDEX, {"source__exact": "free"}).content.decode()
    assert free_order.number in only_free and paid.number not in only_free
    only_paid = client.get(INDEX, {"source__exact": "payment"}).content.decode()
    assert paid.number in only_paid and free_order.number not in only_paid
    rows = export(client)
    free_row, paid_row = rows[free_order.number], rows[paid.number]
    assert (free_row["Amount"], free_row["Source"], free_row["Payment System"]) == (
        "0.00",
        "Free",
        "",
    )
    assert (
        free_row["Status"] == "Paid"
        and free_row["Processed"]
        and free_row["Payment Attempts"] == "0"
    )
    assert paid_row["Source"] == "Payment" and paid_row["Payment System"] == "TestPay"
    assert set(export(client, source__exact="free")) == {free_order.number}


def test_a_free_order_is_never_offered_refund(pay, free_order, refunder, login):
    client = login(refunder)
    paid = pay("buyer@example.com")
    refund_url = reverse("wagtail_guestpay_staff:refund_order", args=[free_order.pk])
    free_page = client.get(
        reverse("guestpay_transactions_modeladmin_inspect", args=[free_order.pk])
    ).content.decode()
    assert refund_url not in free_page and "free: no payment system" in free_page
    assert "Payment attempts" not in free_page
    paid_page = client.get(
        reverse("guestpay_transactions_modeladmin_inspect", args=[paid.pk])
    ).content.decode()
    assert reverse("wagtail_guestpay_staff:refund_order", args=[paid.pk]) in paid_page
    # Its refund screen, opened by hand, says there is nothing to refund.
    screen = client.get(refund_url)
    assert screen.status_code == 200 and "no paid payment left to refund" in screen.content.decode()

"""Transactions: the staff's list of orders and payments, its filters, search, CSV export and the
inspect view with the raw notifications."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import OfferFactory
from wagtail_guestpay.models import Contact, Order, Payment, ProviderReference

pytestmark = pytest.mark.django_db

INDEX = "/admin/guestpay/transactions/"


def inspect(order):
    return reverse("guestpay_transactions_modeladmin_inspect", args=[order.pk])


def rows(response):
    """The order numbers listed on an index page."""
    import re

    return re.findall(r">\s*(GP-\d{6})\s*<", response.content.decode())


def test_listing_shows_each_order_with_its_payment_and_state(pay, viewer, login):
    paid = pay("buyer@example.com")
    wallet = pay("")
    response = login(viewer).get(INDEX)
    assert response.status_code == 200
    page = response.content.decode()
    assert set(rows(response)) == {paid.number, wallet.number}
    payment = paid.payments.get()
    assert payment.provider_reference and payment.provider_reference in page
    assert "buyer@example.com" in page
    assert wallet.email in page and "placeholder" in page
    assert "No e-mail from the payment system" in page  # the wallet order needs action
    assert "Granted" in page and "TestPay" in page


def test_filters_by_status_needs_action_provider_offer_access_and_date(
    pay, viewer, login, testpay, offer
):
    paid = pay("buyer@example.com")
    wallet = pay("")
    _order, pending, _charge = testpay.start(offer)
    testpay.notify(pending, "pending", email="later@example.com")
    pending_order = Order.objects.get(pk=pending.order_id)
    other_offer = OfferFactory(title="Other offer")
    _o, other_payment, _c = testpay.start(other_offer)
    other = Order.objects.get(pk=other_payment.order_id)
    Order.objects.filter(pk=other.pk).update(created_at=timezone.now() - timedelta(days=40))
    client = login(viewer)

    def listed(query):
        response = client.get(INDEX + query)
        assert response.status_code == 200, query
        return set(rows(response))

    assert listed("?status__exact=paid") == {paid.number, wallet.number}
    assert listed("?status__exact=pending") == {pending_order.number}
    assert listed("?attention=any") == {wallet.number}
    assert listed("?attention=placeholder_email") == {wallet.number}
    assert listed(f"?offer__id__exact={other_offer.pk}") == {other.number}
    assert listed(f"?provider={other_offer.provider_account_id}") == {other.number}
    assert listed("?access=granted") == {paid.number}
    assert listed("?access=none") == {wallet.number, pending_order.number, other.number}
    today = timezone.now().date().isoformat()
    assert listed(f"?date_from={today}") == {paid.number, wallet.number, pending_order.number}
    old = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert listed(f"?date_to={old}") == {other.number}


@pytest.mark.parametrize(
    "query",
    [
        "?user__password__startswith=md5",  # no probing of fields through the query string
        "?email__icontains=x",
        "?attention=nonsense",
        "?provider=abc",
        "?date_from=yesterday",
        "?offer__id__exact=abc",
    ],
)
def test_unknown_or_malformed_parameters_are_a_400(pay, viewer, login, query):
    pay("buyer@example.com")
    OfferFactory()  # with one offer only, the offer filter is not shown nor applied
    assert login(viewer).get(INDEX + query).status_code == 400


@pytest.mark.parametrize("listing", ["transactions", "contacts", "events"])
@pytest.mark.parametrize(
    "query", ["?q=%00", "?q=a%00b", "?status__exact=%00", "?source__exact=%00", "?q=ok&p=%00"]
)
def test_a_nul_character_in_any_parameter_is_a_400(pay, viewer, login, listing, query):
    """PostgreSQL refuses NUL in text: it must not reach a query (a 500 there)."""
    pay("buyer@example.com")
    assert login(viewer).get(f"/admin/guestpay/{listing}/{query}").status_code == 400


@pytest.mark.parametrize("listing", ["transactions", "contacts", "events"])
@pytest.mark.parametrize("action", ["inspect", "edit", "delete"])
@pytest.mark.parametrize("pk", ["abc", "1x", "_", "-1"])
def test_object_urls_with_a_malformed_id_are_404(viewer, login, listing, action, pk):
    assert login(viewer).get(f"/admin/guestpay/{listing}/{action}/{pk}/").status_code == 404


def test_search_by_email_name_order_number_and_provider_references(pay, viewer, login):
    first = pay("alice@example.com")
    second = pay("bob@example.com")
    Contact.objects.filter(pk=second.contact_id).update(name="Robert Dupont")
    payment = second.payments.get()
    ProviderReference.objects.create(account=payment.account, payment=payment, value="pi_ABC123")
    client = login(viewer)

    def found(term):
        return set(rows(client.get(INDEX, {"q": term})))

    assert found("alice@") == {first.number}
    assert found("dupont") == {second.number}
    assert found(first.payments.get().provider_reference) == {first.number}
    assert found("pi_abc123") == {second.number}
    assert found(second.number) == {second.number}
    assert found(second.number.replace("-0000", "")) == {second.number}


def test_csv_export_is_the_filtered_list(pay, viewer, login):
    paid = pay("=1+2@example.com")  # a valid address that a spreadsheet would run
    wallet = pay("")
    response = login(viewer).get(
        INDEX, {"export": "csv", "status__exact": "paid", "attention": "any"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode()
    table = list(csv.reader(io.StringIO(content)))
    header, lines = table[0], table[1:]
    assert len(lines) == 1  # only the order that needs action
    row = dict(zip(header, lines[0], strict=True))
    assert row["Number"] == wallet.number
    assert row["Placeholder E-Mail"] == "yes"
    assert row["Status"] == "Paid"
    assert row["Access"] == "None"
    assert row["Needs Action"] == "No e-mail from the payment system"
    assert row["Payment System"] == "TestPay"
    assert row["Provider Reference"] == wallet.payments.get().provider_reference
    assert row["Amount"] == "49.00" and row["Currency"] == "EUR"

    everything = login(viewer).get(INDEX, {"export": "csv"})
    table = list(csv.reader(io.StringIO(b"".join(everything.streaming_content).decode())))
    by_number = {line[0]: dict(zip(table[0], line, strict=True)) for line in table[1:]}
    assert set(by_number) == {paid.number, wallet.number}
    assert by_number[paid.number]["Buyer E-Mail"] == "'=1+2@example.com"
    assert by_number[paid.number]["Processed"].startswith(str(timezone.now().year))


def test_inspect_shows_payments_raw_events_grants_emails_and_history(
    offer, testpay, run_on_commit, viewer, login
):
    _order, payment, _charge = testpay.start(offer)
    body = json.loads(
        testpay.body(
            payment, "paid", email="ann@example.com", payer_name="<script>alert(1)</script>"
        )
    )
    body["data"]["return_url"] = "http://testserver/guestpay/order/SECRETtoken123/"
    testpay.post(
        payment,
        json.dumps(body).encode(),
        headers={"HTTP_X_API_KEY": "do-not-show-me", "HTTP_X_TRACE": "trace-42"},
    )
    order = Order.objects.get(pk=payment.order_id)

    response = login(viewer).get(inspect(order))
    assert response.status_code == 200
    page = response.content.decode()
    assert payment.reference in page and payment.provider_reference in page
    assert "charge.paid" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "trace-42" in page
    assert "do-not-show-me" not in page
    assert "SECRETtoken123" not in page and "/guestpay/order/•••" in page
    assert "ann@example.com" in page
    assert "Demo course" in page or order.offer.title in page
    assert "Access to the purchase" in page  # the access e-mail row, by its kind
    assert "Payment status changed" in page  # the audit history
    # A viewer sees no fixes.
    assert "/admin/guestpay/orders/" not in page


def test_listing_queries_do_not_grow_with_the_number_of_orders(pay, viewer, login):
    client = login(viewer)
    pay("one@example.com")
    with CaptureQueriesContext(connection) as few:
        assert client.get(INDEX).status_code == 200
    for index in range(6):
        pay(f"buyer{index}@example.com")
    pay("")
    with CaptureQueriesContext(connection) as many:
        assert client.get(INDEX).status_code == 200
    assert len(many) == len(few)


def test_payment_attempts_are_listed_in_the_inspect_view(pay, viewer, login):
    order = pay("", status="declined")
    Payment.objects.create(
        order=order,
        account=order.payments.get().account,
        reference="GPSECONDATTEMPT",
        amount=order.amount,
        currency=order.currency,
    )
    page = login(viewer).get(inspect(order)).content.decode()
    assert "GPSECONDATTEMPT" in page and order.payments.order_by("pk").first().reference in page


def test_history_labels_do_not_depend_on_an_earlier_log_call(pay, viewer, login, monkeypatch):
    """A fresh web process has not loaded the log actions yet (the worker wrote the entries)."""
    from wagtail.log_actions import registry

    order = pay("buyer@example.com")
    monkeypatch.setattr(registry, "has_scanned_for_actions", False)
    monkeypatch.setattr(registry, "formatters", {})
    monkeypatch.setattr(registry, "choices", [])
    page = login(viewer).get(inspect(order)).content.decode()
    assert "Payment status changed" in page

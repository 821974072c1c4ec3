"""Fondy: signatures (checked against Fondy's own published examples), the hosted checkout, JSON
and form callbacks, the order_status mapping, status polling, the credentials check, the shared
provider contract and the whole flow, against a fake Fondy API on loopback (pytest-httpserver), so
the real HTTP client code runs.

Published examples:
- docs.fondy.io/reference/authentication: the ``checkout/url`` request of order ``TestOrder2``
  for the public test merchant 1396424 (payment key ``test``) is signed
  ``91ea7da493a8367410fe3d7f877fb5e0ed666490``.
- cloudipsp/php-sdk-v2 ``examples/resultTest.php``: a signed "approved" callback (signature
  ``7725ca95944de78550c3ca132c1e6602707afa90``), kept verbatim in
  ``tests/fixtures/fondy/sdk_result_example.json``. Its ``reversal_amount`` and
  ``settlement_amount`` are ``"0"``: they are part of the signed string.
The callback fixture (``tests/fixtures/fondy/callback.json``) has the fields of that example plus
``additional_info``, which protocol 1.0.1 adds (docs.fondy.eu/docs/page/3: "If 1.0.1 passed,
additional_info parameter will be returned in the callback"); the status answer
(``status_response.json``) is the same order object in Fondy's ``{"response": ...}`` envelope.
"""

import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from werkzeug import Response

from tests.factories import OfferFactory
from tests.providers.contract import ProviderContract, snapshot
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.fulfilment.follow_up import check_payment
from wagtail_guestpay.models import (
    AccessGrant,
    Attention,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    ProviderAccount,
)
from wagtail_guestpay.money import to_minor_units
from wagtail_guestpay.providers import fondy
from wagtail_guestpay.providers.base import EventStatus, Notification
from wagtail_guestpay.providers.exceptions import InvalidSignature, ProviderError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fondy"
# Fondy's public test merchant (docs.fondy.io: "merchantId: 1396424, secretKey: 'test'").
MERCHANT_ID = "1396424"
PAYMENT_KEY = "test"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def fondy_account(merchant_id=MERCHANT_ID, key=PAYMENT_KEY):
    account = ProviderAccount(name="Fondy", kind="fondy", options={"merchant_id": merchant_id})
    account.set_secrets({"payment_key": key})
    account.save()
    return account


class FakeFondy:
    """Fondy's API and hosted page, as the merchant's server and the buyer's browser see them."""

    def __init__(self, httpserver, settings, key=PAYMENT_KEY):
        settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"fondy": {"api": httpserver.url_for("/api")}}
        self.server = httpserver
        self.key = key
        self.orders = {}  # order_id -> {"request", "payment_id", "status", "email"}
        self.requests = []
        self.refuse_with = None  # (code, message) to fail the next checkout requests
        httpserver.expect_request("/api/checkout/url/", method="POST").respond_with_handler(
            self._checkout_url
        )
        httpserver.expect_request("/api/status/order_id/", method="POST").respond_with_handler(
            self._status
        )
        httpserver.expect_request(
            re.compile(r"^/merchants/\d+/$"), method="GET"
        ).respond_with_handler(self._page)

    # The API ------------------------------------------------------------------------------
    def _answer(self, response):
        return Response(json.dumps({"response": response}), content_type="application/json")

    def _failure(self, code, message):
        return self._answer(
            {
                "response_status": "failure",
                "error_code": code,
                "error_message": message,
                "request_id": "fake",
            }
        )

    def _checkout_url(self, request):
        params = request.get_json()["request"]
        self.requests.append(params)
        if str(params.get("merchant_id")) != MERCHANT_ID:
            return self._failure(1016, f"Merchant {params.get('merchant_id')} not found")
        if not fondy.is_signed(self.key, params):
            return self._failure(1014, "Invalid signature")
        if self.refuse_with:
            return self._failure(*self.refuse_with)
        if params["order_id"] in self.orders:
            return self._failure(1013, "Duplicate order_id for merchant")
        payment_id = 81000000 + len(self.orders) + 1
        self.orders[params["order_id"]] = {
            "request": params,
            "payment_id": payment_id,
            "status": "created",
            "email": "",
        }
        return self._answer(
            {
                "response_status": "success",
                "payment_id": payment_id,
                "checkout_url": self.server.url_for(f"/merchants/{payment_id}/"),
            }
        )

    def _status(self, request):
        params = request.get_json()["request"]
        if str(params.get("merchant_id")) != MERCHANT_ID:
            return self._failure(1016, "Merchant not found")
        if not fondy.is_signed(self.key, params):
            return self._failure(1014, "Invalid signature")
        order = self.orders.get(params["order_id"])
        if order is None:
            return self._failure(1018, "Order not found")
        answer = self.order_object(
            params["order_id"],
            order["status"],
            email=order["email"],
            template=fixture("status_response.json")["response"],
        )
        return Response(json.dumps({"response": answer}), content_type="application/json")

    def _page(self, request):
        return Response(
            "<html><title>Fondy checkout</title><h1>Pay</h1></html>", content_type="text/html"
        )

    # What Fondy sends ----------------------------------------------------------------------
    def order_object(
        self,
        order_id,
        status,
        *,
        email="",
        amount=None,
        currency=None,
        key=None,
        template=None,
        **fields,
    ):
        """The signed order object of callbacks (and, from ``template``, status answers)."""
        order = self.orders.get(order_id)
        request = order["request"] if order else {}
        data = dict(template or fixture("callback.json"))
        amount = str(request.get("amount", 4900) if amount is None else amount)
        currency = currency or request.get("currency", "EUR")
        data.update(
            order_id=order_id,
            merchant_id=int(MERCHANT_ID),
            order_status=status,
            amount=amount,
            actual_amount=amount,
            currency=currency,
            actual_currency=currency,
            payment_id=order["payment_id"] if order else 99999999,
            sender_email=email,
        )
        data.update(fields)
        data.pop("signature")
        values = [
            str(data[k])
            for k in sorted(data)
            if k != "response_signature_string" and data[k] not in ("", None)
        ]
        data["response_signature_string"] = "|".join(["**********", *values])  # test mode
        data["signature"] = fondy.signature(key or self.key, data)
        return data

    def callback(self, order_id, status, *, form=False, **kwargs):
        """``(body, headers)`` of a callback to ``server_callback_url``."""
        data = self.order_object(order_id, status, **kwargs)
        if form:
            return (
                urlencode({k: "" if v is None else str(v) for k, v in data.items()}).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
        return json.dumps(data).encode(), {"Content-Type": "application/json; charset=UTF-8"}

    def deliver(self, client, order_id, status, **kwargs):
        """POST a callback to the server_callback_url the merchant gave for ``order_id``."""
        body, headers = self.callback(order_id, status, **kwargs)
        url = self.orders[order_id]["request"]["server_callback_url"]
        return client.post(urlsplit(url).path, data=body, content_type=headers["Content-Type"])

    def set_state(self, order_id, status, email=""):
        self.orders[order_id].update(status=status, email=email)


@pytest.fixture
def fake(httpserver, settings):
    return FakeFondy(httpserver, settings)


@pytest.fixture
def fondy_offer(db):
    return OfferFactory(provider_account=fondy_account(), guest_payment=True)


def pay(client, offer):
    response = client.get(offer.get_pay_path())
    assert response.status_code == 303, response
    return response, Payment.objects.order_by("-pk").first()


# Signatures: Fondy's published examples -------------------------------------------------------
def test_request_signature_matches_the_example_in_fondys_docs():
    params = {
        "server_callback_url": "http://myshop/callback/",
        "order_id": "TestOrder2",
        "currency": "USD",
        "merchant_id": 1396424,
        "order_desc": "Test payment",
        "amount": 1000,
    }
    assert fondy.signature("test", params) == "91ea7da493a8367410fe3d7f877fb5e0ed666490"


def test_the_sdk_example_callback_verifies_and_parses(db):
    body = (FIXTURES / "sdk_result_example.json").read_bytes()
    provider = fondy_account().get_provider()
    [event] = provider.parse_notification(Notification(body=body, headers={}))
    assert event.status == EventStatus.PAID
    assert event.reference == "1396424_1da4a65b81fdaf934c535e352a776744"
    assert (event.amount, event.currency) == (Decimal("1.11"), "USD")
    assert event.provider_reference == "93088761"
    assert event.email == ""
    assert event.event_id == "fondy:1396424_1da4a65b81fdaf934c535e352a776744:approved:93088761"
    # One changed character anywhere in the signed values breaks it.
    for old, new in (
        (b'"reversal_amount": "0"', b'"reversal_amount": "1"'),
        (b'"amount": "111"', b'"amount": "112"'),
        (b'"order_status": "approved"', b'"order_status": "Approved"'),
    ):
        with pytest.raises(InvalidSignature):
            provider.parse_notification(Notification(body=body.replace(old, new, 1), headers={}))
    # response_signature_string (test mode only) is not signed.
    unsigned = body.replace(b'"**********|', b'"', 1)
    assert provider.parse_notification(Notification(body=unsigned, headers={}))


def test_zero_values_are_signed_and_empty_ones_are_not():
    base = {"order_id": "A1", "amount": 100}
    assert fondy.signature("k", {**base, "fee": ""}) == fondy.signature("k", base)
    assert fondy.signature("k", {**base, "fee": None}) == fondy.signature("k", base)
    for zero in ("0", 0):
        assert fondy.signature("k", {**base, "fee": zero}) != fondy.signature("k", base)
    assert fondy.signature("k", {**base, "fee": 0}) == fondy.signature("k", {**base, "fee": "0"})
    # signature and response_signature_string are never part of the string
    signed = {**base, "signature": "x", "response_signature_string": "y"}
    assert fondy.signature("k", signed) == fondy.signature("k", base)


# Starting a payment ---------------------------------------------------------------------------
def test_pay_creates_a_signed_checkout_and_redirects_to_it(client, fake, fondy_offer):
    response, payment = pay(client, fondy_offer)
    [sent] = fake.requests
    assert fondy.is_signed(PAYMENT_KEY, sent)
    assert sent["order_id"] == payment.reference
    assert sent["merchant_id"] == 1396424
    assert (sent["amount"], sent["currency"]) == (4900, "EUR")
    assert sent["version"] == "1.0.1"
    assert 3600 <= sent["lifetime"] <= 5 * 24 * 3600
    assert fondy_offer.title in sent["order_desc"]
    assert "sender_email" not in sent
    token_path = urlsplit(sent["response_url"]).path
    assert token_path.startswith("/guestpay/order/")
    assert sent["server_callback_url"] == (
        "http://testserver" + payment.account.notification_path()
    )
    order = fake.orders[payment.reference]
    assert response["Location"] == fake.server.url_for(f"/merchants/{order['payment_id']}/")
    assert payment.provider_reference == str(order["payment_id"])


@pytest.mark.parametrize(
    "price, currency, minor",
    [
        (Decimal("100"), "UAH", 10000),
        (Decimal("1547.36"), "UAH", 154736),
        (Decimal("500"), "JPY", 500),
    ],
)
def test_amounts_are_sent_in_minor_units_and_confirmed_back(
    client, fake, run_on_commit, price, currency, minor
):
    offer = OfferFactory(provider_account=fondy_account(), price=price, currency=currency)
    _response, payment = pay(client, offer)
    assert fake.requests[-1]["amount"] == minor == to_minor_units(price, currency)
    assert (
        fake.deliver(client, payment.reference, "approved", email="m@example.com").status_code
        == 200
    )
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


def test_a_refused_checkout_fails_the_payment_with_fondys_message(client, fake, fondy_offer):
    fake.refuse_with = (1012, "Currency EUR is not available for this merchant 1396424")
    response = client.get(fondy_offer.get_pay_path())
    assert response.status_code == 503
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert PAYMENT_KEY not in response.content.decode()
    provider = fondy_offer.provider_account.get_provider()
    payment = Payment.objects.get()
    with pytest.raises(ProviderError) as caught:
        provider.start_payment(payment, _urls())
    assert "Currency EUR is not available" in str(caught.value)
    assert "1012" in str(caught.value)


def test_an_unreachable_fondy_is_a_retryable_provider_error(db, settings, fondy_offer, client):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"fondy": {"api": _closed_url()}}
    assert client.get(fondy_offer.get_pay_path()).status_code == 503
    with pytest.raises(ProviderError) as caught:
        fondy_offer.provider_account.get_provider().start_payment(Payment.objects.get(), _urls())
    assert caught.value.retryable


# Callbacks ------------------------------------------------------------------------------------
def test_form_encoded_callbacks_are_verified_and_applied(
    client, fake, fondy_offer, run_on_commit, outbox
):
    _response, payment = pay(client, fondy_offer)
    response = fake.deliver(
        client, payment.reference, "approved", form=True, email="form@example.com"
    )
    assert response.status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["form@example.com"]]
    body, headers = fake.callback(payment.reference, "approved", form=True, key="wrong")
    assert (
        client.post(
            payment.account.notification_path(), data=body, content_type=headers["Content-Type"]
        ).status_code
        == 400
    )


def test_delayed_processing_with_a_response_code_is_not_a_decline(
    client, fake, fondy_offer, run_on_commit, outbox
):
    _response, payment = pay(client, fondy_offer)
    response = fake.deliver(
        client,
        payment.reference,
        "processing",
        response_code="1004",
        response_description="Do not honor",
        email="late@example.com",
    )
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert "1004" in payment.detail and "retry" in payment.detail
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.PENDING
    assert not AccessGrant.objects.exists() and outbox == []
    # the buyer's next attempt succeeds
    fake.deliver(client, payment.reference, "approved", email="late@example.com")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["late@example.com"]]


@pytest.mark.parametrize(
    "order_status, expected",
    [
        ("created", PaymentStatus.CREATED),
        ("processing", PaymentStatus.PENDING),
        ("declined", PaymentStatus.FAILED),
        ("expired", PaymentStatus.EXPIRED),
        ("approved", PaymentStatus.PAID),
    ],
)
def test_order_status_mapping(client, fake, fondy_offer, run_on_commit, order_status, expected):
    _response, payment = pay(client, fondy_offer)
    assert (
        fake.deliver(client, payment.reference, order_status, email="map@example.com").status_code
        == 200
    )
    assert Payment.objects.get(pk=payment.pk).status == expected
    assert AccessGrant.objects.exists() == (expected == PaymentStatus.PAID)


def test_full_reversal_refunds_and_revokes_partial_reversal_is_flagged(client, fake, run_on_commit):
    account = fondy_account()
    offer = OfferFactory(provider_account=account)
    _r, full = pay(client, offer)
    fake.deliver(client, full.reference, "approved", email="rev@example.com")
    user = get_user_model().objects.get(email="rev@example.com")
    product = offer.get_products()[0]
    assert has_access(user, product)
    fake.deliver(client, full.reference, "reversed", reversal_amount="4900", tran_type="reverse")
    assert Payment.objects.get(pk=full.pk).status == PaymentStatus.REFUNDED
    assert not has_access(user, product)

    _r, partial = pay(client, offer)
    fake.deliver(client, partial.reference, "approved", email="part@example.com")
    fake.deliver(client, partial.reference, "reversed", reversal_amount="1000")
    assert Payment.objects.get(pk=partial.pk).status == PaymentStatus.PAID
    order = Order.objects.get(pk=partial.order_id)
    assert order.attention == Attention.PARTIAL_REFUND and "10.00" in order.attention_note
    # a second partial reversal is a new event, not a duplicate
    fake.deliver(client, partial.reference, "reversed", reversal_amount="2000")
    assert PaymentEvent.objects.filter(payment=partial, event_type="callback:reversed").count() == 2


def test_a_callback_without_email_takes_the_placeholder_path(
    client, fake, fondy_offer, run_on_commit
):
    _response, payment = pay(client, fondy_offer)
    assert fake.deliver(client, payment.reference, "approved", email="").status_code == 200
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.PAID
    assert order.email_is_placeholder and order.attention == Attention.PLACEHOLDER_EMAIL
    assert not AccessGrant.objects.exists()


def test_unknown_status_or_another_merchant_is_400_and_kept(
    client, fake, fondy_offer, run_on_commit
):
    _response, payment = pay(client, fondy_offer)
    before = snapshot()
    assert fake.deliver(client, payment.reference, "bogus").status_code == 400
    assert (
        fake.deliver(client, payment.reference, "approved", merchant_id=1700002).status_code == 400
    )
    assert snapshot() == before
    assert PaymentEvent.objects.filter(signature_valid=False).count() == 2


# Status polling -------------------------------------------------------------------------------
def test_polling_confirms_a_payment_whose_callback_never_came(
    client, fake, fondy_offer, run_on_commit, outbox
):
    _response, payment = pay(client, fondy_offer)
    assert check_payment(payment.pk) == PaymentEvent.Outcome.NO_CHANGE  # Fondy says "created"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    fake.set_state(payment.reference, "approved", email="poll@example.com")
    check_payment(payment.pk)
    run_on_commit()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["poll@example.com"]]
    event = PaymentEvent.objects.get(
        source=PaymentEvent.Source.STATUS_CHECK, event_type="status:approved"
    )
    assert event.provider_event_id.startswith("check:fondy:")


def test_polling_an_order_fondy_does_not_know_changes_nothing(client, fake, fondy_offer):
    _response, payment = pay(client, fondy_offer)
    fake.orders.clear()
    assert fondy_offer.provider_account.get_provider().fetch_status(payment) is None


def test_a_status_answer_that_does_not_verify_is_not_applied(
    client, fake, fondy_offer, httpserver, run_on_commit
):
    _response, payment = pay(client, fondy_offer)
    signed_elsewhere = fake.order_object(
        payment.reference, "approved", email="x@example.com", key="not-the-key"
    )
    tampered = fake.order_object(payment.reference, "approved", email="x@example.com")
    tampered["amount"] = "1"
    # Correctly signed, but about another order (its amount and currency are this one's).
    another_order = fake.order_object(
        "GPANOTHERORDER00001",
        "approved",
        email="x@example.com",
        amount=to_minor_units(payment.amount, payment.currency),
        currency=payment.currency,
    )
    assert fondy.is_signed(PAYMENT_KEY, another_order)
    provider = fondy_offer.provider_account.get_provider()
    for answer in (signed_elsewhere, tampered, another_order):
        httpserver.clear()
        httpserver.expect_request("/api/status/order_id/").respond_with_json({"response": answer})
        with pytest.raises(ProviderError):
            provider.fetch_status(payment)
        assert check_payment(payment.pk) is None
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    assert not PaymentEvent.objects.filter(source=PaymentEvent.Source.STATUS_CHECK).exists()


# Credentials ----------------------------------------------------------------------------------
def test_check_credentials_tells_good_from_bad(db, fake, httpserver, settings):
    ok = fondy_account().get_provider().check_credentials()
    assert ok.ok, ok.message
    wrong_key = fondy_account(key="not-the-key").get_provider().check_credentials()
    assert not wrong_key.ok and "payment key" in str(wrong_key.message)
    unknown = fondy_account(merchant_id="1700002").get_provider().check_credentials()
    assert not unknown.ok and "merchant ID" in str(unknown.message)
    for result in (ok, wrong_key, unknown):
        assert PAYMENT_KEY not in str(result.message)
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"fondy": {"api": _closed_url()}}
    down = fondy_account().get_provider().check_credentials()
    assert not down.ok and "could not be asked" in str(down.message)


# The whole flow ------------------------------------------------------------------------------
def test_pay_fondy_page_callback_return_access_and_email(
    client, fake, fondy_offer, run_on_commit, outbox
):
    # The buyer clicks Pay and is sent to Fondy's page.
    response, payment = pay(client, fondy_offer)
    page = httpx.get(response["Location"])
    assert page.status_code == 200 and "Fondy checkout" in page.text
    # Fondy's server tells ours; we answer 200 at once.
    assert (
        fake.deliver(client, payment.reference, "approved", email="Buyer@Example.com").status_code
        == 200
    )
    # Fondy's page sends the browser back with a form POST of the same signed fields.
    sent = fake.requests[-1]
    fields = fake.order_object(payment.reference, "approved", email="Buyer@Example.com")
    back = client.post(
        urlsplit(sent["response_url"]).path,
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )
    assert back.status_code == 303
    page = client.get(back["Location"])
    assert page.status_code == 200
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.PAID and order.email == "buyer@example.com"
    user = get_user_model().objects.get(email__iexact="buyer@example.com")
    assert all(has_access(user, product) for product in fondy_offer.get_products())
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    assert "/guestpay/access/" in outbox[0].body


# The shared contract -------------------------------------------------------------------------
class TestFondyContract(ProviderContract):
    has_replay_window = False  # Fondy's callbacks carry no timestamp to check

    @pytest.fixture(autouse=True)
    def _fake_fondy(self, httpserver, settings):
        self.fake = FakeFondy(httpserver, settings)

    def make_account(self):
        return fondy_account()

    def start(self, client, offer):
        return pay(client, offer)[1]

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        amount = to_minor_units(payment.amount if amount is None else amount, payment.currency)
        extra = {"payment_id": event_id} if event_id else {}
        return self.fake.callback(
            payment.reference,
            "approved",
            email=email,
            amount=amount,
            currency=currency or payment.currency,
            **extra,
        )

    def forge(self, body, headers):
        data = json.loads(body)
        data["signature"] = fondy.signature("not-the-payment-key", data)
        return json.dumps(data).encode(), headers

    def amount_in_body(self, payment, amount=None):
        """Fondy counts in minor units: "4900" for 49.00 EUR."""
        value = payment.amount if amount is None else amount
        return f'"amount": "{to_minor_units(value, payment.currency)}"'.encode()


# Helpers --------------------------------------------------------------------------------------
def _urls():
    from wagtail_guestpay.providers.base import PaymentUrls

    return PaymentUrls("http://testserver/r/", "http://testserver/c/", "http://testserver/n/")


def _closed_url():
    """A loopback URL nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

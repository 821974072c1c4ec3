"""WayForPay: the Purchase form and its signature, serviceUrl callbacks (JSON whatever the
Content-Type) answered with the signed ``accept``, every transactionStatus, CHECK_STATUS polling,
the credentials check, the shared provider contract and the whole flow, against a fake WayForPay
(payment page and API) on loopback with pytest-httpserver.

Published material:
- The Purchase signature string of the Purchase page of wiki.wayforpay.com (en/view/852102):
  ``test_merchant;www.market.ua;DH783023;1415379863;1547.36;UAH;<name 1>;<name 2>;1;1;1000;
  547.36``: all names, then all counts, then all prices. No signature *value* is published with
  it, so the HMAC-MD5 primitive is pinned with RFC 2202's test case 2 instead.
- The test merchant ``test_merch_n1`` / ``flk3409refn54t54t*FNJRET`` ("Test details",
  wiki.wayforpay.com/view/852472; php-sdk ``AccountSecretTestCredential``).
- Field lists and order of the callback and accept signatures: php-sdk
  ``src/Handler/ServiceUrlHandler.php`` and the official WooCommerce plugin
  (``keysForResponseSignature``, ``getAnswerToGateWay``).
Callback fixtures (``tests/fixtures/wayforpay/``) have the fields of php-sdk
``TransactionService::fromArray`` with the example values of the wiki (CHECK_STATUS response:
wiki.wayforpay.com/en/view/852117).
"""

import hashlib
import hmac
import json
import time
from decimal import Decimal
from html.parser import HTMLParser
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
from wagtail_guestpay.providers import wayforpay
from wagtail_guestpay.providers.base import Notification
from wagtail_guestpay.providers.exceptions import InvalidSignature, ProviderError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "wayforpay"
ACCOUNT = "test_merch_n1"
SECRET = "flk3409refn54t54t*FNJRET"
DOMAIN = "shop.example.com"


def hmac_md5(secret, *values):
    """Written out here, independently of the provider module."""
    message = ";".join(str(v) for v in values).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.md5).hexdigest()


def wfp_account(account=ACCOUNT, secret=SECRET, domain=DOMAIN):
    row = ProviderAccount(
        name="WayForPay",
        kind="wayforpay",
        options={"merchant_account": account, "merchant_domain": domain},
    )
    row.set_secrets({"secret_key": secret})
    row.save()
    return row


class PostForm(HTMLParser):
    """The auto-submitted form as a browser reads it."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.form = None
        self.fields = []
        self.scripts = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form = attrs
        elif tag == "input" and attrs.get("name"):
            self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])


class FakeWayForPay:
    """WayForPay's payment page (where the browser posts the Purchase form) and its API."""

    def __init__(self, httpserver, settings, secret=SECRET):
        settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {
            "wayforpay": {"pay": httpserver.url_for("/pay"), "api": httpserver.url_for("/api")}
        }
        self.server = httpserver
        self.secret = secret
        self.orders = {}  # orderReference -> {"form": {...}, "products": [...], "status", "email"}
        httpserver.expect_request("/pay", method="POST").respond_with_handler(self._pay_page)
        httpserver.expect_request("/api", method="POST").respond_with_handler(self._api)

    def _pay_page(self, request):
        form = request.form  # decoded as UTF-8, as WayForPay's accept-charset asks
        names, counts, prices = (
            form.getlist(f"{n}[]") for n in ("productName", "productCount", "productPrice")
        )
        expected = hmac_md5(
            self.secret,
            form["merchantAccount"],
            form["merchantDomainName"],
            form["orderReference"],
            form["orderDate"],
            form["amount"],
            form["currency"],
            *names,
            *counts,
            *prices,
        )
        if not hmac.compare_digest(expected, form.get("merchantSignature", "")):
            return Response("Invalid merchantSignature", status=400)
        self.orders[form["orderReference"]] = {
            "form": form.to_dict(),
            "products": list(zip(names, counts, prices, strict=False)),
            "status": "Created",
            "email": "",
        }
        return Response(
            f"<html><title>WayForPay</title><h1>{names[0]}</h1>"
            f"<p>{form['amount']} {form['currency']}</p></html>",
            content_type="text/html; charset=utf-8",
        )

    def _api(self, request):
        data = json.loads(request.data)
        if data.get("transactionType") != "CHECK_STATUS":
            return Response("unexpected", status=400)
        reference = data.get("orderReference", "")
        if data.get("merchantAccount") != ACCOUNT:
            return _json({"reason": "Merchant account not found", "reasonCode": 1121})
        if not hmac.compare_digest(
            hmac_md5(self.secret, ACCOUNT, reference), data.get("merchantSignature", "")
        ):
            return _json({"reason": "Invalid signature", "reasonCode": 1113})
        order = self.orders.get(reference)
        if order is None:
            return _json(
                {"orderReference": reference, "reason": "Order not found", "reasonCode": 1127}
            )
        return Response(
            self.transaction(
                reference, order["status"], email=order["email"], fixture_name="check_status.json"
            ),
            content_type="application/json",
        )

    # What WayForPay sends -------------------------------------------------------------------
    def transaction(
        self,
        reference,
        status,
        *,
        amount=None,
        signed_amount=None,
        email="",
        secret=None,
        fixture_name="callback.json",
        **fields,
    ):
        """A signed transaction (callback or CHECK_STATUS answer) as JSON text. ``amount`` is
        the JSON lexeme of the amount; ``signed_amount`` what the signature covers (default:
        the same characters)."""
        order = self.orders.get(reference, {})
        form = order.get("form", {})
        amount = amount or form.get("amount", "49")
        data = json.loads((FIXTURES / fixture_name).read_text())
        data.update(
            merchantAccount=ACCOUNT,
            orderReference=reference,
            transactionStatus=status,
            currency=form.get("currency", "EUR"),
            email=email or None,
            reasonCode=1100 if status != "Declined" else 1101,
            reason="Ok" if status != "Declined" else "Declined To Card Issuer",
        )
        data.update(fields)
        data["merchantSignature"] = hmac_md5(
            secret or self.secret,
            ACCOUNT,
            reference,
            signed_amount or amount,
            data["currency"],
            data.get("authCode") or "",
            data.get("cardPan") or "",
            status,
            data["reasonCode"],
        )
        data["amount"] = "__AMOUNT__"
        return json.dumps(data).replace('"__AMOUNT__"', amount)

    def deliver(self, client, reference, status, *, content_type=None, **kwargs):
        """POST a callback to the serviceUrl of the order's Purchase form. WayForPay's own
        state (what CHECK_STATUS answers) is what it tells in the callback."""
        body = self.transaction(reference, status, **kwargs)
        if reference in self.orders and not kwargs.get("secret"):
            self.set_state(reference, status, kwargs.get("email", ""))
        url = self.orders[reference]["form"]["serviceUrl"]
        return client.post(
            urlsplit(url).path, data=body.encode(), content_type=content_type or "application/json"
        )

    def set_state(self, reference, status, email=""):
        self.orders[reference].update(status=status, email=email)


def _json(data):
    return Response(json.dumps(data), content_type="application/json")


def assert_signed_accept(response, reference):
    assert response.status_code == 200
    data = json.loads(response.content)
    assert set(data) == {"orderReference", "status", "time", "signature"}
    assert data["orderReference"] == reference and data["status"] == "accept"
    assert isinstance(data["time"], int) and abs(time.time() - data["time"]) < 60
    assert data["signature"] == hmac_md5(SECRET, reference, "accept", data["time"])


@pytest.fixture
def fake(httpserver, settings):
    return FakeWayForPay(httpserver, settings)


@pytest.fixture
def wfp_offer(db):
    return OfferFactory(provider_account=wfp_account(), guest_payment=True)


def start(client, offer):
    """Click Pay: the auto-submitted form page; then the browser posts it to WayForPay."""
    response = client.get(offer.get_pay_path())
    assert response.status_code == 200, response
    page = PostForm(response.content.decode())
    submitted = httpx.post(
        page.form["action"],
        content=urlencode(page.fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert submitted.status_code == 200, submitted.text
    return response, page, Payment.objects.order_by("-pk").first()


# Signatures and amounts -----------------------------------------------------------------------
def test_purchase_signature_string_follows_the_documented_order():
    fields = [
        ("merchantAccount", "test_merchant"),
        ("merchantDomainName", "www.market.ua"),
        ("orderReference", "DH783023"),
        ("orderDate", "1415379863"),
        ("amount", "1547.36"),
        ("currency", "UAH"),
        ("productName[]", "Процессор Intel Core i5-4670 3.4GHz"),
        ("productPrice[]", "1000"),
        ("productCount[]", "1"),
        ("productName[]", "Память Kingston DDR3-1600 4096MB PC3-12800"),
        ("productPrice[]", "547.36"),
        ("productCount[]", "1"),
        ("returnUrl", "https://example.com/r"),
    ]
    assert ";".join(wayforpay.purchase_signature_values(fields)) == (
        "test_merchant;www.market.ua;DH783023;1415379863;1547.36;UAH;"
        "Процессор Intel Core i5-4670 3.4GHz;Память Kingston DDR3-1600 4096MB PC3-12800;"
        "1;1;1000;547.36"
    )
    # HMAC-MD5 keyed with the secret (RFC 2202, test case 2), over UTF-8.
    assert (
        wayforpay.hmac_md5("Jefe", ["what do ya want for nothing?"])
        == "750c783e6ab0b503eaa86e310a5db738"
    )
    assert wayforpay.hmac_md5(SECRET, ["a", "ï"]) == hmac_md5(SECRET, "a", "ï")


@pytest.mark.parametrize(
    "value, expected",
    [
        (Decimal("100.00"), "100"),
        (Decimal("1547.36"), "1547.36"),
        (Decimal("10.50"), "10.5"),
        (Decimal("500"), "500"),
        (Decimal("0.01"), "0.01"),
        ("100.0", "100"),
        ("149", "149"),
    ],
)
def test_amounts_are_written_as_phps_floatval(value, expected):
    assert wayforpay.php_amount(value) == expected


# The Purchase form ----------------------------------------------------------------------------
def test_pay_renders_a_signed_purchase_form_that_submits_itself(client, fake, db):
    title = 'Курс «Основи» & <Co> "1"'
    offer = OfferFactory(
        provider_account=wfp_account(), title=title, price=Decimal("1547.36"), currency="UAH"
    )
    response, page, payment = start(client, offer)
    html = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert page.form["action"] == fake.server.url_for("/pay")
    assert page.form["method"] == "post" and page.form["accept-charset"] == "utf-8"
    assert "data-guestpay-autosubmit" in page.form
    assert any(src.endswith("wagtail_guestpay/autosubmit.js") for src in page.scripts)
    fields = dict(page.fields)
    assert [name for name, _ in page.fields].count("productName[]") == 1
    assert fields["productName[]"] == title  # escaped in the HTML, intact for the browser
    assert "&lt;Co&gt;" in html and "<Co>" not in html
    assert fields["amount"] == fields["productPrice[]"] == "1547.36"
    assert fields["productCount[]"] == "1"
    assert fields["currency"] == "UAH" and fields["orderReference"] == payment.reference
    assert fields["merchantAccount"] == ACCOUNT and fields["merchantDomainName"] == DOMAIN
    assert fields["merchantTransactionSecureType"] == "AUTO"
    assert fields["orderDate"] == str(int(payment.created_at.timestamp()))
    assert fields["serviceUrl"] == "http://testserver" + payment.account.notification_path()
    assert urlsplit(fields["returnUrl"]).path.startswith("/guestpay/order/")
    assert fields["merchantSignature"] == hmac_md5(
        SECRET,
        ACCOUNT,
        DOMAIN,
        payment.reference,
        fields["orderDate"],
        "1547.36",
        "UAH",
        title,
        "1",
        "1547.36",
    )
    assert SECRET not in html
    # the fake WayForPay accepted the browser's UTF-8 post and its signature
    assert fake.orders[payment.reference]["products"] == [(title, "1", "1547.36")]


@pytest.mark.parametrize(
    "price, currency, written",
    [
        (Decimal("100"), "UAH", "100"),
        (Decimal("1547.36"), "UAH", "1547.36"),
        (Decimal("500"), "JPY", "500"),
        (Decimal("10.50"), "USD", "10.5"),
    ],
)
def test_form_amounts_are_written_as_wayforpay_writes_them(
    client, fake, run_on_commit, price, currency, written
):
    offer = OfferFactory(provider_account=wfp_account(), price=price, currency=currency)
    _response, page, payment = start(client, offer)
    assert dict(page.fields)["amount"] == written
    response = fake.deliver(client, payment.reference, "Approved", email="a@example.com")
    assert_signed_accept(response, payment.reference)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID


def test_missing_credentials_fail_the_payment(client, db):
    offer = OfferFactory(provider_account=wfp_account(domain=""))
    assert client.get(offer.get_pay_path()).status_code == 503
    assert Payment.objects.get().status == PaymentStatus.FAILED


# Callbacks ------------------------------------------------------------------------------------
def test_a_json_callback_labelled_form_urlencoded_is_read_verified_and_accepted(
    client, fake, wfp_offer, run_on_commit, outbox
):
    _response, _page, payment = start(client, wfp_offer)
    response = fake.deliver(
        client,
        payment.reference,
        "Approved",
        email="form@example.com",
        content_type="application/x-www-form-urlencoded",
    )
    assert_signed_accept(response, payment.reference)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["form@example.com"]]


@pytest.mark.parametrize(
    "lexeme, signed_over, verifies",
    [
        ("49", "49", True),
        ("49.0", "49", True),  # JSON float, signed over PHP's rendering (the SDK's check)
        ("49.0", "49.0", True),  # signed over the lexeme
        ("49.00", "49.00", True),
        ("49.0", "49.00", False),  # neither the lexeme nor PHP's rendering
        ("49", "49.01", False),
    ],
)
def test_callback_amounts_are_verified_on_the_characters_sent(
    client, fake, wfp_offer, run_on_commit, lexeme, signed_over, verifies
):
    _response, _page, payment = start(client, wfp_offer)
    response = fake.deliver(
        client,
        payment.reference,
        "Approved",
        email="n@example.com",
        amount=lexeme,
        signed_amount=signed_over,
    )
    assert (response.status_code == 200) is verifies
    expected = PaymentStatus.PAID if verifies else PaymentStatus.CREATED
    assert Payment.objects.get(pk=payment.pk).status == expected


@pytest.mark.parametrize(
    "transaction_status, expected",
    [
        ("Approved", PaymentStatus.PAID),
        ("Created", PaymentStatus.CREATED),
        ("InProcessing", PaymentStatus.PENDING),
        ("inProcessing", PaymentStatus.PENDING),
        ("WaitingAuthComplete", PaymentStatus.PENDING),
        ("Pending", PaymentStatus.PENDING),
        ("RefundInProcessing", PaymentStatus.PENDING),
        ("Declined", PaymentStatus.FAILED),
        ("Expired", PaymentStatus.EXPIRED),
        ("Refunded", PaymentStatus.REFUNDED),
        ("Voided", PaymentStatus.REFUNDED),
    ],
)
def test_every_transaction_status_is_mapped(
    client, fake, wfp_offer, run_on_commit, transaction_status, expected
):
    _response, _page, payment = start(client, wfp_offer)
    response = fake.deliver(client, payment.reference, transaction_status, email="s@example.com")
    assert_signed_accept(response, payment.reference)
    assert Payment.objects.get(pk=payment.pk).status == expected
    assert AccessGrant.objects.exists() == (expected == PaymentStatus.PAID)


def test_a_refund_in_processing_waits_for_the_refund(client, fake, wfp_offer, run_on_commit):
    _response, _page, payment = start(client, wfp_offer)
    fake.deliver(client, payment.reference, "Approved", email="r@example.com")
    user = get_user_model().objects.get(email="r@example.com")
    product = wfp_offer.get_products()[0]
    fake.deliver(client, payment.reference, "RefundInProcessing", email="r@example.com")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert has_access(user, product)
    fake.deliver(
        client, payment.reference, "Refunded", email="r@example.com", processingDate=1786994999
    )
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REFUNDED
    assert not has_access(user, product)
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.REFUNDED


def test_a_callback_without_email_takes_the_placeholder_path(
    client, fake, wfp_offer, run_on_commit
):
    _response, _page, payment = start(client, wfp_offer)
    response = fake.deliver(client, payment.reference, "Approved", email="")
    assert_signed_accept(response, payment.reference)
    assert '"email": null' in PaymentEvent.objects.get(signature_valid=True).body
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.PAID
    assert order.email_is_placeholder and order.attention == Attention.PLACEHOLDER_EMAIL
    assert not AccessGrant.objects.exists()


def test_unknown_status_or_other_secret_is_400_and_kept(client, fake, wfp_offer, run_on_commit):
    _response, _page, payment = start(client, wfp_offer)
    before = snapshot()
    assert fake.deliver(client, payment.reference, "Paid").status_code == 400
    assert fake.deliver(client, payment.reference, "Approved", secret="other").status_code == 400
    assert snapshot() == before
    assert PaymentEvent.objects.filter(signature_valid=False).count() == 2


def test_the_callback_signature_is_checked_field_by_field(db):
    provider = wfp_account().get_provider()
    body = (FIXTURES / "callback.json").read_text()
    data = json.loads(body)
    data["merchantSignature"] = hmac_md5(
        SECRET, ACCOUNT, "DH783023", "1547.36", "UAH", "541963", "41****8217", "Approved", "1100"
    )
    good = json.dumps(data).encode()
    [event] = provider.parse_notification(Notification(body=good, headers={}))
    assert (event.reference, event.amount, event.currency) == (
        "DH783023",
        Decimal("1547.36"),
        "UAH",
    )
    assert event.email == ""  # unsigned in the callback: taken from CHECK_STATUS instead
    for name, value in (
        ("orderReference", "DH783024"),
        ("amount", 1547.37),
        ("currency", "USD"),
        ("authCode", "541964"),
        ("cardPan", "41****8218"),
        ("transactionStatus", "Declined"),
        ("reasonCode", 1101),
    ):
        with pytest.raises(InvalidSignature):
            provider.parse_notification(
                Notification(body=json.dumps({**data, name: value}).encode(), headers={})
            )
    # fields outside the signature (email, phone...) are not covered by it: the e-mail is only
    # used for a payment whose amount, currency and reference are covered
    unsigned = json.dumps({**data, "phone": "000"}).encode()
    assert provider.parse_notification(Notification(body=unsigned, headers={}))


def test_a_signed_callback_reposted_with_another_email_sends_nothing_there(
    client, fake, wfp_offer, run_on_commit, outbox
):
    """``email`` (like the dates) is outside the signature: whoever saw a genuine callback (the
    serviceUrl is in the buyer's form) can repost it with their own address. Access goes to the
    address WayForPay's signed CHECK_STATUS answer gives, and the repost is the same event."""
    _response, _page, payment = start(client, wfp_offer)
    fake.set_state(payment.reference, "Approved", email="buyer@example.com")
    genuine = fake.transaction(payment.reference, "Approved", email="buyer@example.com")
    reposted = json.dumps(
        {**json.loads(genuine), "email": "attacker@example.com", "processingDate": 1900000000}
    ).encode()
    url = urlsplit(fake.orders[payment.reference]["form"]["serviceUrl"]).path
    # The repost arrives first, then the genuine one.
    assert_signed_accept(
        client.post(url, data=reposted, content_type="application/json"), payment.reference
    )
    assert_signed_accept(
        client.post(url, data=genuine.encode(), content_type="application/json"), payment.reference
    )
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    assert not get_user_model().objects.filter(email="attacker@example.com").exists()
    assert PaymentEvent.objects.filter(source=PaymentEvent.Source.NOTIFICATION).count() == 1
    assert Order.objects.get(pk=payment.order_id).email == "buyer@example.com"


def test_a_paid_callback_waits_for_check_status_to_confirm_it(
    client, fake, wfp_offer, run_on_commit, outbox, httpserver
):
    """Should CHECK_STATUS not answer, nothing is granted yet: the event is retried."""
    _response, _page, payment = start(client, wfp_offer)
    body = fake.transaction(payment.reference, "Approved", email="buyer@example.com")
    httpserver.clear()
    httpserver.expect_request("/api").respond_with_data("down", status=502)
    url = urlsplit(fake.orders[payment.reference]["form"]["serviceUrl"]).path
    assert client.post(url, data=body.encode(), content_type="application/json").status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED
    assert outbox == []
    event = PaymentEvent.objects.get(source=PaymentEvent.Source.NOTIFICATION)
    assert event.processed_at is None and event.next_attempt_at is not None


# Polling --------------------------------------------------------------------------------------
def test_check_status_confirms_a_payment_whose_callback_never_came(
    client, fake, wfp_offer, run_on_commit, outbox
):
    _response, _page, payment = start(client, wfp_offer)
    fake.set_state(payment.reference, "Approved", email="poll@example.com")
    check_payment(payment.pk)
    run_on_commit()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PAID
    assert [m.to for m in outbox] == [["poll@example.com"]]
    assert PaymentEvent.objects.get(
        source=PaymentEvent.Source.STATUS_CHECK
    ).provider_event_id.startswith("check:wayforpay:")


def test_check_status_of_an_unknown_order_changes_nothing(client, fake, wfp_offer):
    _response, _page, payment = start(client, wfp_offer)
    fake.orders.clear()
    assert wfp_offer.provider_account.get_provider().fetch_status(payment) is None
    assert check_payment(payment.pk) is None
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED


def test_a_check_status_answer_that_does_not_verify_is_not_applied(
    client, fake, wfp_offer, httpserver, run_on_commit
):
    _response, _page, payment = start(client, wfp_offer)
    signed_elsewhere = fake.transaction(
        payment.reference,
        "Approved",
        email="x@example.com",
        secret="other",
        fixture_name="check_status.json",
    )
    genuine = fake.transaction(
        payment.reference, "Approved", email="x@example.com", fixture_name="check_status.json"
    )
    tampered = genuine.replace('"currency": "EUR"', '"currency": "USD"')
    assert tampered != genuine
    # Correctly signed, but about another order.
    another_order = fake.transaction(
        "GPANOTHERORDER00001",
        "Approved",
        email="x@example.com",
        amount=fake.orders[payment.reference]["form"]["amount"],
        currency=payment.currency,
        fixture_name="check_status.json",
    )
    answers = [signed_elsewhere, tampered, another_order]
    provider = wfp_offer.provider_account.get_provider()
    for answer in answers:
        httpserver.clear()
        httpserver.expect_request("/api").respond_with_data(answer, content_type="application/json")
        with pytest.raises(ProviderError):
            provider.fetch_status(payment)
        assert check_payment(payment.pk) is None
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CREATED


# Credentials ----------------------------------------------------------------------------------
def test_check_credentials_tells_good_from_bad(db, fake, settings):
    ok = wfp_account().get_provider().check_credentials()
    assert ok.ok, ok.message
    wrong = wfp_account(secret="not-the-secret").get_provider().check_credentials()
    assert not wrong.ok and "secret key" in str(wrong.message)
    unknown = wfp_account(account="nobody_example_com").get_provider().check_credentials()
    assert not unknown.ok and "merchant account" in str(unknown.message)
    incomplete = wfp_account(domain="").get_provider().check_credentials()
    assert not incomplete.ok
    for result in (ok, wrong, unknown, incomplete):
        assert SECRET not in str(result.message)
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"wayforpay": {"api": closed_url()}}
    down = wfp_account().get_provider().check_credentials()
    assert not down.ok and "could not be asked" in str(down.message)


# The whole flow ------------------------------------------------------------------------------
def test_pay_form_wayforpay_page_callback_return_access_and_email(
    client, fake, wfp_offer, run_on_commit, outbox
):
    # Pay -> the auto-submitted form -> WayForPay's page (start() does the browser's part).
    _response, page, payment = start(client, wfp_offer)
    # WayForPay's server calls serviceUrl until it gets the signed accept.
    response = fake.deliver(
        client,
        payment.reference,
        "Approved",
        email="Buyer@Example.com",
        content_type="application/x-www-form-urlencoded",
    )
    assert_signed_accept(response, payment.reference)
    # WayForPay sends the browser back to returnUrl with a form POST.
    return_url = dict(page.fields)["returnUrl"]
    back = client.post(
        urlsplit(return_url).path,
        data=urlencode({"orderReference": payment.reference, "transactionStatus": "Approved"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert back.status_code == 303
    assert client.get(back["Location"]).status_code == 200
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == OrderStatus.PAID and order.email == "buyer@example.com"
    user = get_user_model().objects.get(email__iexact="buyer@example.com")
    assert all(has_access(user, product) for product in wfp_offer.get_products())
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    assert "/guestpay/access/" in outbox[0].body


# The shared contract -------------------------------------------------------------------------
class TestWayForPayContract(ProviderContract):
    has_replay_window = False  # callbacks carry no signed timestamp

    @pytest.fixture(autouse=True)
    def _fake_wayforpay(self, httpserver, settings):
        self.fake = FakeWayForPay(httpserver, settings)

    def make_account(self):
        return wfp_account()

    def start(self, client, offer):
        return start(client, offer)[2]

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        extra = {"processingDate": event_id} if event_id else {}
        if currency:
            extra["currency"] = currency
        body = self.fake.transaction(
            payment.reference,
            "Approved",
            email=email,
            amount=str(payment.amount if amount is None else amount),
            **extra,
        )
        return body.encode(), {"Content-Type": "application/json"}

    def prepare_paid(self, payment, email):
        self.fake.set_state(payment.reference, "Approved", email)

    def forge(self, body, headers):
        signature = json.loads(body)["merchantSignature"]
        forged = hmac_md5("not-the-secret", ACCOUNT, "whatever")
        return body.replace(signature.encode(), forged.encode()), headers

    def expected_ack(self, response):
        assert_signed_accept(response, json.loads(response.content)["orderReference"])


def closed_url():
    """A loopback URL nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

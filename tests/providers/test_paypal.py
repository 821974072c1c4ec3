"""The PayPal provider (Orders v2 + webhooks) against a fake PayPal on loopback.

The fake (tests/providers/paypal_fake.py) speaks PayPal's HTTP API, so the provider's real httpx
code runs: OAuth token, create order, the buyer's approval page, capture, show order,
verify-webhook-signature and the certificate host (a chain made by a test CA). Payload shapes and
their sources: tests/fixtures/paypal/README.md.
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.factories import OfferFactory
from tests.providers.contract import ProviderContract, snapshot
from tests.providers.paypal_fake import CERT_URL, FIXTURES, FakePayPal, TestPKI, fixture, pem
from wagtail_guestpay.checks import check_configuration
from wagtail_guestpay.conf import DEFAULTS
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
from wagtail_guestpay.providers.base import EventStatus, Notification
from wagtail_guestpay.providers.exceptions import InvalidSignature
from wagtail_guestpay.providers.paypal import PayPalProvider
from wagtail_guestpay.providers.paypal.events import order_event, webhook_events
from wagtail_guestpay.providers.paypal.provider import paypal_amount
from wagtail_guestpay.providers.paypal.webhooks import (
    Transmission,
    builds_sdk_example_chain,
    check_cert_url,
    crc32,
    paypal_names,
    signed_string,
    verify_rsa_sha256,
)
from wagtail_guestpay.tasks import run_maintenance

CLIENT_ID = "AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRS"
CLIENT_SECRET = "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL"
WEBHOOK_ID = "1JE4291016473214C"
TOLERANCE = 600


_PKI = {}


def shared_pki(tmp_path_factory):
    """One test CA for the whole session (generating keys is slow)."""
    if "pki" not in _PKI:
        _PKI["pki"] = TestPKI(tmp_path_factory.mktemp("paypal-pki"))
    return _PKI["pki"]


@pytest.fixture
def pki(tmp_path_factory):
    return shared_pki(tmp_path_factory)


def start_fake(httpserver, pki, settings):
    """The fake PayPal, with the provider pointed at it and the test CA trusted."""
    base = httpserver.url_for("/").rstrip("/")
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"paypal": {"api": base, "certs": base}}
    settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = str(pki.roots_file)
    settings.WAGTAIL_GUESTPAY_PAYPAL_WEBHOOK_TOLERANCE = TOLERANCE
    return FakePayPal(
        httpserver, pki, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_id=WEBHOOK_ID
    )


@pytest.fixture
def paypal(httpserver, pki, settings):
    yield start_fake(httpserver, pki, settings)
    httpserver.check_assertions()  # no request reached the fake without a route


def make_account(verification="offline", **options):
    account = ProviderAccount(
        name="PayPal sandbox",
        kind="paypal",
        options={
            "client_id": CLIENT_ID,
            "webhook_id": WEBHOOK_ID,
            "verification": verification,
            **options,
        },
    )
    account.set_secrets({"client_secret": CLIENT_SECRET})
    account.save()
    return account


@pytest.fixture
def account(db):
    return make_account("offline")


@pytest.fixture
def offer(account):
    return OfferFactory(
        provider_account=account, guest_payment=True, price=Decimal("49.00"), currency="EUR"
    )


def post(client, account, body, headers):
    extra = {
        f"HTTP_{key.upper().replace('-', '_')}": value
        for key, value in headers.items()
        if key.lower() != "content-type"
    }
    return client.post(
        account.notification_path(), data=body, content_type="application/json", **extra
    )


def click_pay(client, offer):
    response = client.get(offer.get_pay_path())
    assert response.status_code == 303, response
    return response, Payment.objects.order_by("-pk").first()


def buyer_on_paypal(location, **choices):
    """The buyer's browser on PayPal's approval page; returns where PayPal sends it back."""
    response = httpx.get(httpx.URL(location).copy_merge_params(choices), follow_redirects=False)
    assert response.status_code == 302
    return response.headers["Location"]


def back_on_site(client, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def buyer_mail(outbox, email):
    return [message for message in outbox if message.to == [email]]


# The shared contract, once per verification way ---------------------------------------------
class PayPalContract(ProviderContract):
    has_replay_window = True  # PAYPAL-TRANSMISSION-TIME must lie within the tolerance window
    verification = "offline"

    @pytest.fixture(autouse=True)
    def _fake(self, httpserver, tmp_path_factory, settings):
        # Its own fixture, not the module's: the class travels (tests/hostile subclasses it).
        self.fake = start_fake(httpserver, shared_pki(tmp_path_factory), settings)
        yield
        httpserver.check_assertions()

    def make_account(self):
        return make_account(self.verification)

    def start(self, client, offer):
        response, payment = click_pay(client, offer)
        assert payment.provider_reference in self.fake.orders
        assert response["Location"] == (
            f"{self.fake.base_url}/checkoutnow?token={payment.provider_reference}"
        )
        return payment

    def _capture_body(self, payment, amount=None, event_id=None, currency=None, **webhook):
        resource = self.fake.capture_resource(
            payment.provider_reference,
            reference=payment.reference,
            currency=currency or payment.currency,
            amount=payment.amount if amount is None else amount,
        )
        return self.fake.webhook(
            "PAYMENT.CAPTURE.COMPLETED", resource, event_id=event_id, **webhook
        )

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        # Capture events carry no payer: the e-mail comes from the order (prepare_paid).
        return self._capture_body(payment, amount=amount, event_id=event_id, currency=currency)

    def prepare_paid(self, payment, email):
        if payment.provider_reference in self.fake.orders:
            self.fake.approve(payment.provider_reference, email=email)

    def forge(self, body, headers):
        return body, self.fake.sign(body, key=self.fake.pki.attacker_key)

    def stale(self, payment):
        sent_at = datetime.now(UTC) - timedelta(seconds=TOLERANCE + 60)
        return self._capture_body(payment, sent_at=sent_at)


class TestContractOfflineVerification(PayPalContract):
    verification = "offline"


class TestContractApiVerification(PayPalContract):
    verification = "api"


# PayPal's own examples --------------------------------------------------------------------
def sdk_example():
    return json.loads((FIXTURES / "sdk_webhook_example.json").read_text())


def test_signed_string_matches_paypal_sdk_example():
    """PayPal-Python-SDK test/unit_tests/notifications_test.py (TestWebhookEvents.setUp) builds
    ``transmission_id|timestamp|webhook_id|str(zlib.crc32(event_body) & 0xffffffff)``
    (paypalrestsdk/notifications.py, WebhookEvent._get_expected_sig) for this event. Its CRC32,
    2771810304, was computed independently from the gzip trailer of the same bytes."""
    example = sdk_example()
    body = example["event_body"].encode("utf-8")
    assert crc32(body) == "2771810304"
    assert signed_string(
        example["transmission_id"], example["transmission_time"], example["webhook_id"], body
    ) == ("dfb3be50-fd74-11e4-8bf3-77339302725b|2015-05-18T15:45:13Z|4JH86294D6297924G|2771810304")


def test_paypal_signature_of_the_sdk_example_verifies_with_paypal_certificate():
    """PayPal's real signature over the SDK example, checked with the certificate PayPal served
    for it (recorded in paypal/PayPal-node-SDK test/mocks/notifications.js): RSA PKCS#1 v1.5 +
    SHA-256 over our signed string. One changed byte of the body and it fails."""
    example = sdk_example()
    certificate = x509.load_pem_x509_certificate((FIXTURES / "sdk_example_cert.pem").read_bytes())
    assert paypal_names(certificate) == ["messageverificationcerts.sandbox.paypal.com"]
    signature = base64.b64decode(example["transmission_sig"])
    body = example["event_body"].encode("utf-8")
    message = signed_string(
        example["transmission_id"], example["transmission_time"], example["webhook_id"], body
    )
    verify_rsa_sha256(certificate, signature, message.encode())
    tampered = signed_string(
        example["transmission_id"],
        example["transmission_time"],
        example["webhook_id"],
        body.replace(b"20.00", b"20.01"),
    )
    with pytest.raises(InvalidSignature):
        verify_rsa_sha256(certificate, signature, tampered.encode())
    with pytest.raises(InvalidSignature):  # another webhook's id: not for us
        verify_rsa_sha256(
            certificate,
            signature,
            message.replace("4JH86294D6297924G", "1JE4291016473214C").encode(),
        )
    check_cert_url(example["cert_url"])  # PayPal's real certificate URL passes the host check


def test_documented_payloads_translate():
    capture = webhook_events(fixture("webhook_payment_capture_completed.json"))[0]
    assert capture.status == EventStatus.PAID
    assert (capture.amount, capture.currency) == (Decimal("2.51"), "USD")
    assert capture.provider_reference == "89T257400V0473133"  # supplementary_data.related_ids
    assert capture.related_references == ("27M47624FP291604U",)
    assert capture.reference == "29b0b044-fbfe-4325-952e-20000d4a6caf"
    assert capture.email == ""  # capture events carry no payer

    approved = webhook_events(fixture("webhook_checkout_order_approved.json"))[0]
    assert approved.status == EventStatus.APPROVED
    assert approved.email == "customer@example.com"

    refund = webhook_events(fixture("webhook_payment_capture_refunded.json"))[0]
    assert refund.status == EventStatus.REFUNDED
    assert refund.refunded_amount == Decimal("1.98")  # total_refunded_amount, not this refund
    assert "0JF852973C016714D" in refund.related_references  # the capture, from the up link

    captured = order_event(fixture("order_captured.json"), event_type="paypal.capture")
    assert captured.status == EventStatus.PAID
    assert captured.email == "customer@example.com" and captured.payer_name == "John Doe"
    assert captured.event_id == "paypal.capture:5O190127TN364715T:3C679366HH908993F:COMPLETED"

    # "a COMPLETED order can contain a declined capture": the capture decides
    declined = order_event(
        fixture("order_completed_capture_declined.json"), event_type="paypal.status"
    )
    assert declined.status == EventStatus.FAILED
    assert declined.detail == "DECLINED_BY_RISK_FRAUD_FILTERS"

    reversed_approval = webhook_events(fixture("webhook_checkout_payment_approval_reversed.json"))[
        0
    ]
    assert reversed_approval.status == EventStatus.FAILED
    assert reversed_approval.provider_reference == "5O190127TN364715T"


def test_a_completed_notification_about_a_declined_capture_never_pays():
    event = fixture("webhook_payment_capture_completed.json")
    event["resource"]["status"] = "DECLINED"
    assert webhook_events(event)[0].status == EventStatus.FAILED


def test_amounts_are_the_decimal_strings_paypal_expects():
    assert paypal_amount(Decimal("49"), "EUR") == "49.00"
    assert paypal_amount(Decimal("0.5"), "usd") == "0.50"
    assert paypal_amount(Decimal("500"), "JPY") == "500"
    assert paypal_amount(Decimal("1200.00"), "HUF") == "1200"
    for amount, currency in (
        (Decimal("10.50"), "HUF"),
        (Decimal("1.234"), "EUR"),
        (Decimal("0"), "EUR"),
    ):
        with pytest.raises(Exception, match="PayPal cannot take"):
            paypal_amount(amount, currency)


def test_the_kind_is_registered_and_offers_guest_payment(account):
    assert isinstance(account.get_provider(), PayPalProvider)
    assert account.supports_guest_payment
    names = {credential.name: credential for credential in PayPalProvider.credentials}
    assert names["client_secret"].secret and not names["client_id"].secret
    assert not names["webhook_id"].secret and not names["verification"].secret


# Paying, end to end -------------------------------------------------------------------------
@pytest.mark.django_db
class TestPayOnPayPal:
    def test_pay_approve_return_capture_access_and_mail(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        response, payment = click_pay(client, offer)
        order_id = payment.provider_reference
        # The order PayPal was asked for.
        name, headers, body = next(r for r in paypal.requests if r[0] == "create")
        unit = body["purchase_units"][0]
        assert body["intent"] == "CAPTURE"
        assert unit["amount"] == {"currency_code": "EUR", "value": "49.00"}
        assert unit["custom_id"] == unit["reference_id"] == payment.reference
        assert unit["invoice_id"] == payment.reference
        context = body["payment_source"]["paypal"]["experience_context"]
        assert context["user_action"] == "PAY_NOW"
        assert context["return_url"].startswith("http://testserver/guestpay/order/")
        assert context["cancel_url"] == context["return_url"] + "?cancelled=1"
        assert headers["Paypal-Request-Id"] == f"guestpay-create-{payment.reference}"
        assert response["Location"] == f"{paypal.base_url}/checkoutnow?token={order_id}"
        assert payment.status == PaymentStatus.CREATED

        # The buyer approves on PayPal and comes back: we capture on the server.
        back = buyer_on_paypal(response["Location"], email="Buyer@Example.com")
        assert back.startswith(context["return_url"]) and f"token={order_id}" in back
        page = back_on_site(client, back)
        assert page.status_code == 200
        assert paypal.counts["capture"] == 1
        capture_id = paypal.captures(order_id)[0]["id"]

        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID
        assert refreshed(payment).payer_email == "buyer@example.com"
        assert payment.payer_name == "John Doe"
        known = {payment.provider_reference, *payment.references.values_list("value", flat=True)}
        assert known >= {order_id, capture_id}  # either id finds the payment
        user = get_user_model().objects.get(email__iexact="buyer@example.com")
        assert all(has_access(user, product) for product in order.offer.get_products())
        assert [m.to for m in outbox] == [["buyer@example.com"]]
        assert back_on_site(client, back).context["state"] == "paid"

        # PayPal's own notifications follow: nothing more happens, nothing is captured twice.
        capture = paypal.captures(order_id)[0]
        resource = {
            **capture,
            "custom_id": payment.reference,
            "supplementary_data": {"related_ids": {"order_id": order_id}},
        }
        assert (
            post(
                client,
                offer.provider_account,
                *paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource),
            ).status_code
            == 200
        )
        approved = {**paypal.orders[order_id]["order"], "status": "APPROVED"}
        assert (
            post(
                client, offer.provider_account, *paypal.webhook("CHECKOUT.ORDER.APPROVED", approved)
            ).status_code
            == 200
        )
        assert paypal.counts["capture"] == 1
        assert [m.to for m in outbox] == [["buyer@example.com"]]
        assert AccessGrant.objects.filter(order=order).count() == 1

    def test_webhook_only_approved_then_captured_then_completed(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        """The buyer approves but never comes back: CHECKOUT.ORDER.APPROVED triggers the capture;
        PAYMENT.CAPTURE.COMPLETED then changes nothing."""
        _response, payment = click_pay(client, offer)
        order_id = payment.provider_reference
        paypal.approve(order_id, email="hook@example.com")
        approved = dict(paypal.orders[order_id]["order"])
        response = post(
            client, offer.provider_account, *paypal.webhook("CHECKOUT.ORDER.APPROVED", approved)
        )
        assert response.status_code == 200
        assert paypal.counts["capture"] == 1
        capture_request = next(r for r in paypal.requests if r[0] == "capture")
        assert capture_request[1]["Paypal-Request-Id"] == f"guestpay-capture-{order_id}"
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID
        assert [m.to for m in outbox] == [["hook@example.com"]]

        capture = paypal.captures(order_id)[0]
        resource = {
            **capture,
            "custom_id": payment.reference,
            "supplementary_data": {"related_ids": {"order_id": order_id}},
        }
        post(client, offer.provider_account, *paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource))
        event = PaymentEvent.objects.get(event_type="PAYMENT.CAPTURE.COMPLETED")
        assert event.outcome == PaymentEvent.Outcome.NO_CHANGE and event.payment_id == payment.pk
        assert len(outbox) == 1 and paypal.counts["capture"] == 1

    def test_approved_twice_and_already_captured_does_not_fail(
        self, client, offer, paypal, run_on_commit
    ):
        """A capture PayPal no longer replays (ORDER_ALREADY_CAPTURED) reads the order instead."""
        _response, payment = click_pay(client, offer)
        order_id = payment.provider_reference
        paypal.approve(order_id)
        provider = offer.provider_account.get_provider()
        first = provider.api.capture_order(order_id)
        paypal.idempotent.clear()  # PayPal keeps request ids for 6 hours only
        again = provider.api.capture_order(order_id)
        assert first["status"] == again["status"] == "COMPLETED"
        assert paypal.counts["capture"] == 2 and paypal.counts["get"] == 1

    def test_refund_revokes_access_and_a_partial_refund_is_flagged(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        _response, payment = click_pay(client, offer)
        back_on_site(
            client,
            buyer_on_paypal(f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}"),
        )
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID and order.grants.active().count() == 1
        capture_id = paypal.captures(payment.provider_reference)[0]["id"]

        def refund(value, total):
            resource = fixture("webhook_payment_capture_refunded.json")["resource"]
            resource.update(
                {
                    "id": f"R{total.replace('.', '')}",
                    "custom_id": payment.reference,
                    "amount": {"currency_code": "EUR", "value": value},
                }
            )
            resource["seller_payable_breakdown"]["total_refunded_amount"] = {
                "currency_code": "EUR",
                "value": total,
            }
            resource["links"][1]["href"] = (
                f"https://api.paypal.com/v2/payments/captures/{capture_id}"
            )
            return resource

        post(
            client,
            offer.provider_account,
            *paypal.webhook("PAYMENT.CAPTURE.REFUNDED", refund("10.00", "10.00")),
        )
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID and order.grants.active().count() == 1
        assert order.attention == Attention.PARTIAL_REFUND

        post(
            client,
            offer.provider_account,
            *paypal.webhook("PAYMENT.CAPTURE.REFUNDED", refund("39.00", "49.00")),
        )
        order.refresh_from_db()
        assert order.status == OrderStatus.REFUNDED
        assert order.grants.active().count() == 0
        assert refreshed(payment).status == PaymentStatus.REFUNDED
        assert any(m.to == ["staff@localhost"] for m in outbox)

    def test_reversal_found_by_capture_id_revokes_access(
        self, client, offer, paypal, run_on_commit
    ):
        _response, payment = click_pay(client, offer)
        back_on_site(
            client,
            buyer_on_paypal(f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}"),
        )
        capture_id = paypal.captures(payment.provider_reference)[0]["id"]
        resource = fixture("webhook_payment_capture_refunded.json")["resource"]
        resource.pop("custom_id")  # only the capture id links it to our payment
        resource["links"][1]["href"] = f"https://api.paypal.com/v2/payments/captures/{capture_id}"
        resource["amount"] = {"currency_code": "EUR", "value": "49.00"}
        post(client, offer.provider_account, *paypal.webhook("PAYMENT.CAPTURE.REVERSED", resource))
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.REFUNDED and order.grants.active().count() == 0

    def test_pending_capture_grants_only_when_completed(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        _response, payment = click_pay(client, offer)
        order_id = payment.provider_reference
        back = buyer_on_paypal(
            f"{paypal.base_url}/checkoutnow?token={order_id}",
            email="late@example.com",
            outcome="PENDING",
        )
        back_on_site(client, back)
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PENDING
        assert refreshed(payment).detail == "PENDING_REVIEW"
        assert not AccessGrant.objects.exists() and outbox == []
        back_on_site(client, back)  # reloading the page does not capture again
        assert paypal.counts["capture"] == 1

        capture = paypal.settle(order_id, "COMPLETED")
        resource = {
            **capture,
            "custom_id": payment.reference,
            "supplementary_data": {"related_ids": {"order_id": order_id}},
        }
        gets = paypal.counts["get"]
        post(client, offer.provider_account, *paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource))
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert paypal.counts["get"] == gets + 1  # the e-mail was read from the order
        assert [m.to for m in outbox] == [["late@example.com"]]

    def test_declined_capture_fails_and_denied_pending_capture_fails(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        _response, payment = click_pay(client, offer)
        back_on_site(
            client,
            buyer_on_paypal(
                f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}",
                outcome="DECLINED",
            ),
        )
        assert paypal.orders[payment.provider_reference]["order"]["status"] == "COMPLETED"
        assert Order.objects.get(pk=payment.order_id).status == OrderStatus.FAILED
        assert not AccessGrant.objects.exists()

        _response, second = click_pay(client, offer)
        order_id = second.provider_reference
        back_on_site(
            client,
            buyer_on_paypal(f"{paypal.base_url}/checkoutnow?token={order_id}", outcome="PENDING"),
        )
        assert refreshed(second).status == PaymentStatus.PENDING
        capture = paypal.settle(order_id, "DECLINED")
        resource = {
            **capture,
            "custom_id": second.reference,
            "supplementary_data": {"related_ids": {"order_id": order_id}},
        }
        post(client, offer.provider_account, *paypal.webhook("PAYMENT.CAPTURE.DENIED", resource))
        assert refreshed(second).status == PaymentStatus.FAILED
        assert not AccessGrant.objects.exists() and outbox == []

    def test_a_refused_funding_source_fails_the_attempt_and_the_buyer_can_retry(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        _response, payment = click_pay(client, offer)
        back = buyer_on_paypal(
            f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}",
            outcome="INSTRUMENT_DECLINED",
        )
        back_on_site(client, back)
        assert refreshed(payment).status == PaymentStatus.FAILED
        assert payment.detail == "INSTRUMENT_DECLINED"
        page = back_on_site(client, back)
        assert page.context["can_retry"]
        assert not AccessGrant.objects.exists() and outbox == []

    def test_no_email_from_paypal_leads_to_the_placeholder(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        _response, payment = click_pay(client, offer)
        back_on_site(
            client,
            buyer_on_paypal(
                f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}", wallet="1"
            ),
        )
        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID
        assert order.email_is_placeholder and order.email.endswith(".invalid")
        assert order.attention == Attention.PLACEHOLDER_EMAIL
        assert not AccessGrant.objects.exists()
        assert all(m.to == ["staff@localhost"] for m in outbox)

    def test_cancelling_on_paypal_captures_nothing(self, client, offer, paypal, run_on_commit):
        _response, payment = click_pay(client, offer)
        back = buyer_on_paypal(
            f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}", cancel="1"
        )
        assert "cancelled=1" in back
        page = back_on_site(client, back)
        assert page.status_code == 200
        assert paypal.counts["capture"] == 0
        assert refreshed(payment).status == PaymentStatus.CREATED

    def test_a_return_for_another_order_captures_nothing(self, client, offer, paypal):
        _response, payment = click_pay(client, offer)
        _response, other = click_pay(Client(), offer)  # another buyer
        paypal.approve(other.provider_reference)
        provider = offer.provider_account.get_provider()
        assert provider.handle_return(payment, {"token": other.provider_reference}) == []
        assert provider.handle_return(payment, {"token": ""}) == []
        assert paypal.counts["capture"] == 0

    def test_paypal_down_at_pay_time_shows_the_unavailable_page(
        self, client, offer, paypal, settings
    ):
        settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"paypal": {"api": "http://127.0.0.1:9"}}
        response = client.get(offer.get_pay_path())
        assert response.status_code == 503
        assert Payment.objects.get().status == PaymentStatus.FAILED

    def test_approval_reversed_fails_the_payment(self, client, offer, paypal, run_on_commit):
        _response, payment = click_pay(client, offer)
        resource = fixture("webhook_checkout_payment_approval_reversed.json")["resource"]
        resource["order_id"] = payment.provider_reference
        resource["purchase_units"][0]["reference_id"] = payment.reference
        post(
            client,
            offer.provider_account,
            *paypal.webhook("CHECKOUT.PAYMENT-APPROVAL.REVERSED", resource),
        )
        assert refreshed(payment).status == PaymentStatus.FAILED


# Status checks ------------------------------------------------------------------------------
@pytest.mark.django_db
class TestStatusChecks:
    def test_an_approved_order_found_by_the_status_check_is_captured(
        self, client, offer, paypal, run_on_commit, outbox
    ):
        """Neither the buyer nor the webhook came back: the poller finds the order APPROVED and
        the capture follows."""
        _response, payment = click_pay(client, offer)
        paypal.approve(payment.provider_reference, email="poll@example.com")
        check_payment(payment.pk)
        run_on_commit()
        assert refreshed(payment).status == PaymentStatus.PAID
        assert paypal.counts["capture"] == 1
        assert [m.to for m in outbox] == [["poll@example.com"]]

    def test_fetch_status_is_deterministic(self, client, offer, paypal):
        _response, payment = click_pay(client, offer)
        provider = offer.provider_account.get_provider()
        first, second = provider.fetch_status(payment), provider.fetch_status(payment)
        assert first.event_id == second.event_id
        assert first.status == EventStatus.CREATED
        paypal.approve(payment.provider_reference)
        third = provider.fetch_status(payment)
        assert third.status == EventStatus.APPROVED and third.event_id != first.event_id

    def test_a_refund_whose_notification_was_lost_is_found_by_the_paid_recheck(
        self, client, offer, paypal, run_on_commit, settings
    ):
        """PayPal gave up on the refund notification (the site was down): the maintenance run
        re-checks paid PayPal payments every REFUND_CHECK_INTERVAL for REFUND_CHECK_WINDOW."""
        _response, payment = click_pay(client, offer)
        back_on_site(
            client,
            buyer_on_paypal(f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}"),
        )
        assert refreshed(payment).status == PaymentStatus.PAID
        assert run_maintenance()["paid_rechecks"] == 0  # checked on the buyer's return
        Payment.objects.filter(pk=payment.pk).update(
            last_checked_at=timezone.now() - timedelta(hours=13)
        )
        assert run_maintenance()["paid_rechecks"] == 1  # nothing changed at PayPal
        assert refreshed(payment).status == PaymentStatus.PAID
        assert run_maintenance()["paid_rechecks"] == 0  # not due again yet
        paypal.settle(payment.provider_reference, status="REFUNDED")
        Payment.objects.filter(pk=payment.pk).update(
            last_checked_at=timezone.now() - timedelta(hours=13)
        )
        assert run_maintenance()["paid_rechecks"] == 1
        order = Order.objects.get(pk=payment.order_id)
        assert refreshed(payment).status == PaymentStatus.REFUNDED
        assert order.status == OrderStatus.REFUNDED and order.grants.active().count() == 0
        # Past the window, paid payments are left alone.
        settings.WAGTAIL_GUESTPAY_REFUND_CHECK_WINDOW = timedelta(0)
        Payment.objects.filter(pk=payment.pk).update(
            status=PaymentStatus.PAID, last_checked_at=None
        )
        assert run_maintenance()["paid_rechecks"] == 0

    def test_an_unknown_order_is_none(self, client, offer, paypal):
        _response, payment = click_pay(client, offer)
        del paypal.orders[payment.provider_reference]
        assert offer.provider_account.get_provider().fetch_status(payment) is None


# The OAuth token ----------------------------------------------------------------------------
@pytest.mark.django_db
class TestToken:
    def test_one_token_serves_several_calls(self, client, offer, paypal):
        _response, payment = click_pay(client, offer)
        provider = offer.provider_account.get_provider()
        provider.fetch_status(payment)
        provider.fetch_status(payment)
        paypal.approve(payment.provider_reference)
        provider.api.capture_order(payment.provider_reference)
        assert paypal.counts["token"] == 1
        assert paypal.counts["create"] + paypal.counts["get"] + paypal.counts["capture"] == 4

    def test_a_token_paypal_no_longer_accepts_is_replaced_once(self, client, offer, paypal):
        _response, payment = click_pay(client, offer)
        paypal.revoke_tokens()
        assert offer.provider_account.get_provider().fetch_status(payment) is not None
        assert paypal.counts["token"] == 2

    def test_the_token_is_cached_per_account_and_client_id(self, paypal, db):
        first, second = make_account(), make_account()
        first.get_provider().api.access_token(httpx.Client())
        second.get_provider().api.access_token(httpx.Client())
        first.get_provider().api.access_token(httpx.Client())
        assert paypal.counts["token"] == 2
        keys = {account.get_provider().api.token_cache_key() for account in (first, second)}
        assert len(keys) == 2 and not any(CLIENT_SECRET in key for key in keys)

    def test_secrets_and_tokens_stay_out_of_errors_and_logs(self, client, offer, paypal):
        import logging

        records = []
        handler = logging.Handler(level=logging.DEBUG)
        handler.emit = lambda record: records.append(record.getMessage())
        root = logging.getLogger()
        root.addHandler(handler)
        old_level = root.level
        root.setLevel(logging.DEBUG)
        try:
            _response, payment = click_pay(client, offer)
            token = next(iter(paypal.tokens))
            offer.provider_account.get_provider().fetch_status(payment)
            account = make_account()
            account.set_secrets({"client_secret": "wrong-secret-value"})
            account.save()
            check = account.get_provider().check_credentials()
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
        assert not check.ok and "invalid_client" in check.message
        assert "wrong-secret-value" not in check.message
        text = "\n".join(records)
        assert records and CLIENT_SECRET not in text and "wrong-secret-value" not in text
        assert token not in text


# Checking credentials -----------------------------------------------------------------------
@pytest.mark.django_db
class TestCheckCredentials:
    def test_good_credentials_and_webhook(self, paypal, account):
        check = account.get_provider().check_credentials()
        assert check.ok, check.message
        assert "sandbox" in check.message and WEBHOOK_ID in check.message

    def test_webhook_missing_events_is_reported(self, paypal, account):
        paypal.webhook_events = ["PAYMENT.CAPTURE.COMPLETED"]
        check = account.get_provider().check_credentials()
        assert not check.ok and "CHECKOUT.ORDER.APPROVED" in check.message

    def test_unknown_webhook_and_missing_webhook_id(self, paypal, db):
        check = make_account(webhook_id="0NOSUCHWEBHOOK00").get_provider().check_credentials()
        assert not check.ok and "0NOSUCHWEBHOOK00" in check.message
        check = make_account(webhook_id="").get_provider().check_credentials()
        assert not check.ok and "webhook ID" in check.message

    def test_paypal_unreachable(self, settings, db):
        settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"paypal": {"api": "http://127.0.0.1:9"}}
        check = make_account().get_provider().check_credentials()
        assert not check.ok and "could not be reached" in check.message


# Verifying notifications --------------------------------------------------------------------
@pytest.mark.django_db
class TestOfflineVerification:
    def capture_webhook(self, paypal, payment, **kwargs):
        resource = paypal.capture_resource(
            payment.provider_reference,
            reference=payment.reference,
            currency="EUR",
            amount=payment.amount,
        )
        return paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource, **kwargs)

    @pytest.mark.parametrize(
        "cert_url",
        [
            "https://evil.example.com/v1/notifications/certs/CERT-1",
            "http://api.paypal.com/v1/notifications/certs/CERT-1",
            "https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1",
            "https://paypal.com@evil.example/v1/notifications/certs/CERT-1",
            "https://api.paypal.com:8443/v1/notifications/certs/CERT-1",
            "https://api.paypal.com/v2/checkout/orders/CERT-1",
            "https://evilpaypal.com/v1/notifications/certs/CERT-1",
            "https://api.paypal.com/v1/notifications/certs/../../../v2/checkout/orders/CERT-1",
        ],
    )
    def test_a_certificate_url_off_paypal_is_refused_and_never_fetched(
        self, client, offer, paypal, httpserver, run_on_commit, cert_url
    ):
        _response, payment = click_pay(client, offer)
        delivery = self.capture_webhook(paypal, payment, cert_url=cert_url)
        before, calls = snapshot(), len(httpserver.log)
        response = post(client, offer.provider_account, *delivery)
        assert response.status_code == 400
        assert len(httpserver.log) == calls  # nothing fetched, from the cert route or another
        assert snapshot() == before
        rejected = PaymentEvent.objects.get(signature_valid=False)
        assert "is not a PayPal certificate URL; not fetched" in rejected.error

    @pytest.mark.parametrize(
        "served, reason",
        [
            ("expired_leaf", "expired"),
            ("foreign_leaf", "not issued to PayPal"),
            ("rogue_leaf", "does not chain to a trusted root"),
        ],
    )
    def test_a_certificate_that_is_not_paypal_trusted_and_current_is_refused(
        self, client, offer, paypal, pki, run_on_commit, served, reason
    ):
        """Each variant is signed with the right key: only the certificate is at fault."""
        _response, payment = click_pay(client, offer)
        paypal.served_leaf = getattr(pki, served)
        before = snapshot()
        response = post(client, offer.provider_account, *self.capture_webhook(paypal, payment))
        assert response.status_code == 400
        assert paypal.counts["cert"] == 1
        assert snapshot() == before
        assert reason in PaymentEvent.objects.get(signature_valid=False).error

    def test_the_trust_roots_are_a_setting(self, client, offer, paypal, run_on_commit, settings):
        """certifi's bundle does not hold the test CA: the same delivery is refused with it."""
        settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = ""
        _response, payment = click_pay(client, offer)
        response = post(client, offer.provider_account, *self.capture_webhook(paypal, payment))
        assert response.status_code == 400
        assert "trusted root" in PaymentEvent.objects.get(signature_valid=False).error

    def test_a_leaf_served_alone_verifies_when_its_issuer_is_a_trust_root(
        self, client, offer, paypal, pki, run_on_commit, settings, tmp_path
    ):
        """Should PayPal's URL serve the leaf without its intermediate, the intermediate can be
        added to the trust file (docs/providers/paypal.md)."""
        _response, payment = click_pay(client, offer)
        paypal.serve_intermediate = False
        body, headers = self.capture_webhook(paypal, payment)
        assert post(client, offer.provider_account, body, headers).status_code == 400
        trust = tmp_path / "roots-and-paypal-intermediate.pem"
        trust.write_bytes(pki.roots_file.read_bytes() + pem(pki.intermediate))
        settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = str(trust)
        body, headers = self.capture_webhook(paypal, payment)
        assert post(client, offer.provider_account, body, headers).status_code == 200

    def test_the_certificate_is_fetched_once_and_cached(self, client, offer, paypal, run_on_commit):
        _response, payment = click_pay(client, offer)
        for _ in range(3):
            body, headers = self.capture_webhook(paypal, payment)
            assert post(client, offer.provider_account, body, headers).status_code == 200
        assert paypal.counts["cert"] == 1
        assert paypal.counts["verify"] == 0  # offline: no API call per notification

    def test_webhook_id_of_another_account_does_not_verify(
        self, client, offer, paypal, run_on_commit
    ):
        _response, payment = click_pay(client, offer)
        resource = paypal.capture_resource(payment.provider_reference, reference=payment.reference)
        body, _headers = paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
        headers = paypal.sign(body, webhook_id="8PT597110X687430LKGECATA")
        assert post(client, offer.provider_account, body, headers).status_code == 400

    @pytest.mark.parametrize("age", [timedelta(minutes=11), timedelta(days=2, hours=23)])
    def test_a_retry_with_an_old_transmission_time_and_a_valid_signature_is_accepted(
        self, client, offer, paypal, run_on_commit, settings, age
    ):
        """PayPal retries for 3 days and documents no fresh time per retry: the default window
        takes them (the 600 s window of the fixture refuses the same delivery)."""
        _response, payment = click_pay(client, offer)
        delivery = self.capture_webhook(paypal, payment, sent_at=datetime.now(UTC) - age)
        assert post(client, offer.provider_account, *delivery).status_code == 400
        settings.WAGTAIL_GUESTPAY_PAYPAL_WEBHOOK_TOLERANCE = DEFAULTS["PAYPAL_WEBHOOK_TOLERANCE"]
        assert post(client, offer.provider_account, *delivery).status_code == 200
        assert refreshed(payment).status == PaymentStatus.PAID
        # and once more (PayPal's next retry): the same event, nothing new
        assert post(client, offer.provider_account, *delivery).status_code == 200
        assert PaymentEvent.objects.filter(signature_valid=True, source="notification").count() == 1

    def test_a_delivery_older_than_paypals_retries_is_refused(
        self, client, offer, paypal, run_on_commit, settings
    ):
        settings.WAGTAIL_GUESTPAY_PAYPAL_WEBHOOK_TOLERANCE = DEFAULTS["PAYPAL_WEBHOOK_TOLERANCE"]
        _response, payment = click_pay(client, offer)
        old = datetime.now(UTC) - timedelta(days=4, minutes=1)
        response = post(
            client, offer.provider_account, *self.capture_webhook(paypal, payment, sent_at=old)
        )
        assert response.status_code == 400
        assert refreshed(payment).status == PaymentStatus.CREATED

    def test_transmission_time_in_the_future_is_refused(self, client, offer, paypal, run_on_commit):
        _response, payment = click_pay(client, offer)
        later = datetime.now(UTC) + timedelta(seconds=TOLERANCE + 60)
        response = post(
            client, offer.provider_account, *self.capture_webhook(paypal, payment, sent_at=later)
        )
        assert response.status_code == 400

    def test_other_algorithms_and_bad_base64_are_refused(
        self, client, offer, paypal, run_on_commit
    ):
        _response, payment = click_pay(client, offer)
        body, headers = self.capture_webhook(paypal, payment)
        for change in (
            {"PAYPAL-AUTH-ALGO": "SHA1withRSA"},
            {"PAYPAL-TRANSMISSION-SIG": "not base64!"},
        ):
            assert (
                post(client, offer.provider_account, body, {**headers, **change}).status_code == 400
            )
        assert not PaymentEvent.objects.filter(signature_valid=True).exists()

    def test_without_a_webhook_id_nothing_verifies(self, client, paypal, run_on_commit, db):
        """Even a delivery whose signed string has an empty webhook ID, which PayPal's key did
        sign, is refused: an account without a webhook ID verifies nothing."""
        account = make_account(webhook_id="")
        offer = OfferFactory(provider_account=account, guest_payment=True)
        _response, payment = click_pay(client, offer)
        paypal.webhook_id = ""  # signs "<id>|<time>||<crc32>"
        body, headers = paypal.webhook(
            "PAYMENT.CAPTURE.COMPLETED",
            paypal.capture_resource(
                payment.provider_reference, reference=payment.reference, amount=payment.amount
            ),
        )
        paypal.webhook_id = WEBHOOK_ID
        before = snapshot()
        assert post(client, account, body, headers).status_code == 400
        assert snapshot() == before
        assert "No webhook ID" in PaymentEvent.objects.get(signature_valid=False).error
        assert paypal.counts["cert"] == 0

    def test_unfollowed_event_types_are_verified_then_ignored(
        self, client, offer, paypal, run_on_commit
    ):
        body, headers = paypal.webhook("PAYMENT.AUTHORIZATION.CREATED", {"id": "0VF52814937998046"})
        assert post(client, offer.provider_account, body, headers).status_code == 200
        assert not PaymentEvent.objects.filter(signature_valid=True).exists()


@pytest.mark.django_db
class TestApiVerification:
    @pytest.fixture
    def offer(self, db):
        return OfferFactory(provider_account=make_account("api"), guest_payment=True)

    def test_paypal_is_asked_with_the_raw_event(self, client, offer, paypal, run_on_commit):
        _response, payment = click_pay(client, offer)
        resource = paypal.capture_resource(payment.provider_reference, reference=payment.reference)
        body, headers = paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
        assert post(client, offer.provider_account, body, headers).status_code == 200
        _name, _headers, sent = next(r for r in paypal.requests if r[0] == "verify")
        assert sent["webhook_id"] == WEBHOOK_ID
        assert sent["transmission_id"] == headers["PAYPAL-TRANSMISSION-ID"]
        assert sent["webhook_event"] == json.loads(body)
        assert paypal.counts["cert"] == 0

    def test_paypal_unavailable_is_503_and_changes_nothing(
        self, client, offer, paypal, run_on_commit
    ):
        _response, payment = click_pay(client, offer)
        paypal.verify_fails_with = 503
        resource = paypal.capture_resource(payment.provider_reference, reference=payment.reference)
        before = snapshot()
        response = post(
            client, offer.provider_account, *paypal.webhook("PAYMENT.CAPTURE.COMPLETED", resource)
        )
        assert response.status_code == 503  # PayPal delivers again
        assert snapshot() == before
        assert not PaymentEvent.objects.exists()  # not even kept as a rejected delivery


def test_missing_headers_are_refused_before_anything_else():
    notification = Notification(body=b"{}", headers={"PAYPAL-TRANSMISSION-ID": "x"})
    with pytest.raises(InvalidSignature, match="PAYPAL-TRANSMISSION-TIME"):
        Transmission.from_notification(notification)


def test_cert_url_on_a_paypal_host_passes():
    assert check_cert_url(CERT_URL).hostname == "api.sandbox.paypal.com"
    assert check_cert_url(
        "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-df8cd2d5"
    )


# The sandbox ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_sandbox_takes_paypal_credentials_from_the_environment(monkeypatch, paypal, client):
    from io import StringIO

    from django.core.management import call_command

    from wagtail_guestpay.conf import guestpay_settings
    from wagtail_guestpay.models import Offer

    call_command("load_demo", stdout=StringIO())
    assert not ProviderAccount.objects.filter(kind="paypal").exists()  # test provider only

    monkeypatch.setenv("GUESTPAY_PAYPAL_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GUESTPAY_PAYPAL_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GUESTPAY_PAYPAL_WEBHOOK_ID", WEBHOOK_ID)
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=StringIO())  # idempotent
    account = ProviderAccount.objects.get(kind="paypal")
    assert account.mode == ProviderAccount.Mode.TEST and account.secrets_encrypted == ""
    assert account.get_secret("client_secret") == CLIENT_SECRET  # read from the environment
    assert account.options == {
        "client_id": CLIENT_ID,
        "webhook_id": WEBHOOK_ID,
        "verification": "api",
    }
    assert guestpay_settings.BASE_URL + account.notification_path() in out.getvalue()
    assert CLIENT_SECRET not in out.getvalue()
    assert (
        Offer.objects.get(slug="demo-course", locale__language_code="en").provider_account.kind
        == "test"
    )
    offer = Offer.objects.get(slug="demo-course-paypal", locale__language_code="en")
    assert offer.provider_account == account and offer.takes_guest_payment
    response, payment = click_pay(client, offer)
    assert response["Location"] == (
        f"{paypal.base_url}/checkoutnow?token={payment.provider_reference}"
    )


# The trust anchor -----------------------------------------------------------------------------
def test_the_default_trust_store_builds_the_chain_of_paypals_sdk_example(settings):
    """certifi dropped the DigiCert root PayPal's SDK chains to; the shipped trust_roots.pem
    holds it (and the intermediate the certificate URL does not serve)."""
    import certifi

    settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = ""
    assert builds_sdk_example_chain()
    assert not [m for m in check_configuration() if m.id == "wagtail_guestpay.E012"]
    settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = certifi.where()
    assert not builds_sdk_example_chain()


@pytest.mark.parametrize("roots", ["certifi", "missing", "shipped"])
def test_a_trust_file_that_cannot_build_paypals_chain_fails_the_check(settings, tmp_path, roots):
    import certifi

    from wagtail_guestpay.providers.paypal.webhooks import SHIPPED_ROOTS

    path = {
        "certifi": certifi.where(),
        "missing": str(tmp_path / "nothing.pem"),
        "shipped": SHIPPED_ROOTS,
    }[roots]
    settings.WAGTAIL_GUESTPAY_PAYPAL_CERT_TRUST_ROOTS = path
    errors = [m for m in check_configuration() if m.id == "wagtail_guestpay.E012"]
    assert len(errors) == (0 if roots == "shipped" else 1)

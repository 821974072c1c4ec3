"""Refund from the admin per payment system, against their APIs faked on loopback
(pytest-httpserver): what each is asked (path, idempotency key, amount, signature, written out
here independently of the provider modules), how its answer moves the order, and that an error
is shown to staff without a 500 and without a change."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from django.utils import timezone
from werkzeug import Response

from tests.conftest import to
from tests.staff.conftest import confirm
from tests.staff.refund_helpers import nonce_of, paid_order, refund_url
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.fulfilment.confirmation import process_event
from wagtail_guestpay.fulfilment.intake import store_events
from wagtail_guestpay.models import (
    Attention,
    OrderStatus,
    OutboundEmail,
    PaymentEvent,
    PaymentStatus,
    ProviderAccount,
    Refund,
)
from wagtail_guestpay.providers.base import EventStatus, ProviderEvent

pytestmark = pytest.mark.django_db

STRIPE_KEY = "sk_test_refund0123456789"
FONDY_KEY = "test-fondy-payment-key"
WFP_SECRET = "wfp-secret-key"


def account(kind, options=None, **secrets):
    row = ProviderAccount(name=kind, kind=kind, options=options or {})
    row.set_secrets(secrets)
    row.save()
    return row


def product_of(order):
    return order.offer.get_products()[0]


def json_response(data, status=200):
    return Response(json.dumps(data), status=status, content_type="application/json")


# Stripe ---------------------------------------------------------------------------------------
@pytest.fixture
def stripe_account(db, httpserver, settings):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"stripe": {"api": httpserver.url_for("/")}}
    return account("stripe", secret_key=STRIPE_KEY, webhook_secret="whsec_x")


def stripe_refunds(httpserver, answers):
    """POST /v1/refunds answered with ``answers`` in turn; returns the requests seen."""
    seen = []

    def handler(request):
        seen.append((dict(parse_qsl(request.get_data(as_text=True))), dict(request.headers)))
        status, data = answers[min(len(seen), len(answers)) - 1]
        return json_response(data, status)

    httpserver.expect_request("/v1/refunds", method="POST").respond_with_handler(handler)
    return seen


def stripe_refund(amount, status="succeeded", refund_id="re_3Mtw"):
    return 200, {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "currency": "eur",
        "payment_intent": "pi_3Mtw",
        "status": status,
    }


def test_stripe_refund_in_full(stripe_account, httpserver, refunder, login, outbox):
    order = paid_order(
        stripe_account, provider_reference="cs_test_a1", references=("pi_3Mtw", "ch_3Mtw")
    )
    seen = stripe_refunds(httpserver, [stripe_refund(4900)])
    outbox.clear()

    response, token = confirm(
        login(refunder), refund_url(order), amount="49.00", reason="Bought twice"
    )

    assert response.status_code == 302
    [(form, headers)] = seen
    assert form["payment_intent"] == "pi_3Mtw" and form["amount"] == "4900"
    assert headers["Idempotency-Key"] == f"guestpay-refund-{nonce_of(token)}"
    assert headers["Authorization"] == f"Bearer {STRIPE_KEY}"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not has_access(order.user, product_of(order))
    assert Refund.objects.get().provider_refund_id == "re_3Mtw"
    assert len(to(outbox, "buyer@example.com")) == 1


def test_stripe_partial_refunds_keep_access_until_the_whole_amount(
    stripe_account, httpserver, refunder, login, outbox
):
    order = paid_order(stripe_account, provider_reference="cs_test_a2", references=("pi_3Mtw",))
    seen = stripe_refunds(
        httpserver, [stripe_refund(1000), stripe_refund(3900, refund_id="re_4Nux")]
    )
    client = login(refunder)
    outbox.clear()

    confirm(client, refund_url(order), amount="10.00", reason="Part one")

    order.refresh_from_db()
    assert seen[0][0]["amount"] == "1000"
    assert order.status == OrderStatus.PAID and order.attention == ""
    assert has_access(order.user, product_of(order))
    [email] = to(outbox, "buyer@example.com")
    assert "10.00" in email.body

    page = client.get(refund_url(order)).content.decode()
    assert "39.00" in page
    confirm(client, refund_url(order), amount="39.00", reason="The rest")

    order.refresh_from_db()
    assert seen[1][0]["amount"] == "3900"
    assert seen[0][1]["Idempotency-Key"] != seen[1][1]["Idempotency-Key"]
    assert order.status == OrderStatus.REFUNDED
    assert not has_access(order.user, product_of(order))
    assert len(to(outbox, "buyer@example.com")) == 2


def test_stripe_refund_more_than_paid_is_refused_by_the_form(
    stripe_account, httpserver, refunder, login
):
    order = paid_order(stripe_account, provider_reference="cs_test_a3", references=("pi_3Mtw",))
    seen = stripe_refunds(httpserver, [stripe_refund(4900)])
    for amount in ("49.01", "0", "-5", "abc", "1e9"):
        response, _token = confirm(login(refunder), refund_url(order), amount=amount, reason="x")
        assert response.status_code == 200, amount
    assert seen == [] and not Refund.objects.exists()


def test_stripe_error_is_shown_to_staff_and_changes_nothing(
    stripe_account, httpserver, refunder, login
):
    order = paid_order(stripe_account, provider_reference="cs_test_a4", references=("pi_3Mtw",))
    error = {
        "error": {
            "type": "invalid_request_error",
            "code": "charge_already_refunded",
            "message": "Charge ch_3Mtw has already been refunded.",
        }
    }
    stripe_refunds(httpserver, [(400, error)])

    response, _token = confirm(login(refunder), refund_url(order), amount="49.00", reason="x")

    assert response.status_code == 200
    assert "The refund was not made" in response.content.decode()
    assert "already been refunded" in response.content.decode()
    assert STRIPE_KEY not in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and has_access(order.user, product_of(order))
    assert Refund.objects.get().status == Refund.Status.FAILED


def test_stripe_without_an_answer_is_sent_again_under_the_same_key(
    stripe_account, httpserver, refunder, login
):
    """A 500 (twice: the SDK retries once) leaves the outcome unknown: nothing changes, and the
    next "Refund" sends the same request again with the same Idempotency-Key."""
    order = paid_order(stripe_account, provider_reference="cs_test_a5", references=("pi_3Mtw",))
    server_error = (500, {"error": {"type": "api_error", "message": "Try again."}})
    seen = stripe_refunds(httpserver, [server_error, server_error, stripe_refund(4900)])
    client = login(refunder)

    first, _token = confirm(client, refund_url(order), amount="49.00", reason="x")

    assert first.status_code == 200 and "The refund was not made" in first.content.decode()
    assert Refund.objects.get().status == Refund.Status.UNKNOWN
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID

    second, _token = confirm(client, refund_url(order), amount="49.00", reason="again")

    assert second.status_code == 302
    assert len({headers["Idempotency-Key"] for _form, headers in seen}) == 1
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.DONE and refund.attempts == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_stripe_refund_notification_after_the_answer_changes_nothing(
    stripe_account, httpserver, refunder, login, outbox
):
    order = paid_order(stripe_account, provider_reference="cs_test_a6", references=("pi_3Mtw",))
    stripe_refunds(httpserver, [stripe_refund(4900)])
    confirm(login(refunder), refund_url(order), amount="49.00", reason="x")
    payment = order.payments.get()

    [event_pk] = store_events(
        stripe_account,
        [
            ProviderEvent(
                event_id="evt_charge_refunded",
                status=EventStatus.REFUNDED,
                provider_reference="ch_3Mtw",
                related_references=("pi_3Mtw",),
                amount=Decimal("49.00"),
                currency="EUR",
                refunded_amount=Decimal("49.00"),
                event_type="charge.refunded",
            )
        ],
        source=PaymentEvent.Source.NOTIFICATION,
        enqueue_processing=False,
    )

    assert process_event(event_pk) == PaymentEvent.Outcome.NO_CHANGE
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert order.refunds.count() == 1
    assert OutboundEmail.objects.filter(order=order, kind="refund").count() == 1


def test_a_partial_refund_made_elsewhere_still_needs_attention(stripe_account):
    order = paid_order(stripe_account, provider_reference="cs_test_a7", references=("pi_3Mtw",))
    [event_pk] = store_events(
        stripe_account,
        [
            ProviderEvent(
                event_id="evt_partial",
                status=EventStatus.PARTIALLY_REFUNDED,
                related_references=("pi_3Mtw",),
                amount=Decimal("49.00"),
                currency="EUR",
                refunded_amount=Decimal("5.00"),
                event_type="charge.refunded",
            )
        ],
        source=PaymentEvent.Source.NOTIFICATION,
        enqueue_processing=False,
    )

    process_event(event_pk)

    order.refresh_from_db()
    assert order.attention == Attention.PARTIAL_REFUND


# PayPal ---------------------------------------------------------------------------------------
def test_paypal_refund_of_the_capture(httpserver, settings, refunder, login, outbox):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"paypal": {"api": httpserver.url_for("")}}
    paypal = account(
        "paypal", {"client_id": "client-1", "webhook_id": "WH-1"}, client_secret="secret-1"
    )
    order = paid_order(
        paypal, provider_reference="5O190127TN364715T", references=("3C679366HH908993F",)
    )
    seen = []

    def token(request):
        expected = base64.b64encode(b"client-1:secret-1").decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
        return json_response({"access_token": "A21AA-token", "expires_in": 3600})

    def refund(request):
        seen.append((json.loads(request.get_data()), dict(request.headers)))
        return json_response(
            {
                "id": "1JU08902781691411",
                "status": "COMPLETED",
                "amount": {"value": "49.00", "currency_code": "EUR"},
            },
            201,
        )

    httpserver.expect_request("/v1/oauth2/token", method="POST").respond_with_handler(token)
    httpserver.expect_request(
        "/v2/payments/captures/3C679366HH908993F/refund", method="POST"
    ).respond_with_handler(refund)
    outbox.clear()

    response, token_value = confirm(
        login(refunder), refund_url(order), amount="49.00", reason="Wrong course"
    )

    assert response.status_code == 302
    [(body, headers)] = seen
    assert body["amount"] == {"value": "49.00", "currency_code": "EUR"}
    assert headers["Paypal-Request-Id"] == f"guestpay-refund-{nonce_of(token_value)}"
    assert headers["Authorization"] == "Bearer A21AA-token"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Refund.objects.get().provider_refund_id == "1JU08902781691411"
    assert len(to(outbox, "buyer@example.com")) == 1


def test_paypal_refusal_is_shown_without_a_change(httpserver, settings, refunder, login):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"paypal": {"api": httpserver.url_for("")}}
    paypal = account(
        "paypal", {"client_id": "client-1", "webhook_id": "WH-1"}, client_secret="secret-1"
    )
    order = paid_order(
        paypal, provider_reference="5O190127TN364716T", references=("3C679366HH908994F",)
    )
    httpserver.expect_request("/v1/oauth2/token").respond_with_json(
        {"access_token": "A21AA-token", "expires_in": 3600}
    )
    httpserver.expect_request("/v2/payments/captures/3C679366HH908994F/refund").respond_with_json(
        {
            "name": "UNPROCESSABLE_ENTITY",
            "details": [{"issue": "CAPTURE_FULLY_REFUNDED"}],
            "debug_id": "b1d1f06c7246c",
        },
        status=422,
    )

    response, _token = confirm(login(refunder), refund_url(order), amount="49.00", reason="x")

    assert response.status_code == 200
    assert "CAPTURE_FULLY_REFUNDED" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


# Fondy ----------------------------------------------------------------------------------------
def fondy_signature(key, params):
    values = [key] + [
        str(params[name])
        for name in sorted(params)
        if name not in ("signature", "response_signature_string") and params[name] not in ("", None)
    ]
    return hashlib.sha1("|".join(values).encode()).hexdigest()


def test_fondy_reverse(httpserver, settings, refunder, login, outbox):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"fondy": {"api": httpserver.url_for("/api")}}
    fondy = account("fondy", {"merchant_id": "1396424"}, payment_key=FONDY_KEY)
    order = paid_order(
        fondy, amount=Decimal("250.00"), currency="UAH", provider_reference="802451210"
    )
    payment = order.payments.get()
    seen = []

    def reverse(request):
        params = json.loads(request.get_data())["request"]
        seen.append(params)
        assert params["signature"] == fondy_signature(FONDY_KEY, params)
        answer = {
            "response_status": "success",
            "reverse_status": "approved",
            "order_id": params["order_id"],
            "merchant_id": 1396424,
            "transaction_id": "802455327",
            "reversal_amount": "10000",
            "currency": "UAH",
        }
        answer["signature"] = fondy_signature(FONDY_KEY, answer)
        return json_response({"response": answer})

    httpserver.expect_request("/api/reverse/order_id/", method="POST").respond_with_handler(reverse)
    outbox.clear()

    response, _token = confirm(
        login(refunder), refund_url(order), amount="100.00", reason="Half the course"
    )

    assert response.status_code == 302
    [params] = seen
    assert params["order_id"] == payment.reference and params["amount"] == 10000
    assert params["currency"] == "UAH"
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.attention == ""  # partial: access kept
    assert Refund.objects.get().status == Refund.Status.DONE
    assert len(to(outbox, "buyer@example.com")) == 1


def test_fondy_unsigned_answer_is_not_trusted(httpserver, settings, refunder, login):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"fondy": {"api": httpserver.url_for("/api")}}
    fondy = account("fondy", {"merchant_id": "1396424"}, payment_key=FONDY_KEY)
    order = paid_order(fondy, amount=Decimal("250.00"), currency="UAH")
    httpserver.expect_request("/api/reverse/order_id/").respond_with_json(
        {
            "response": {
                "response_status": "success",
                "reverse_status": "approved",
                "order_id": order.payments.get().reference,
                "signature": "0" * 40,
            }
        }
    )

    response, _token = confirm(login(refunder), refund_url(order), amount="250.00", reason="x")

    assert response.status_code == 200 and "not correctly signed" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Refund.objects.get().status == Refund.Status.UNKNOWN


# WayForPay ------------------------------------------------------------------------------------
def wfp_sign(values):
    message = ";".join(str(value) for value in values).encode()
    return hmac.new(WFP_SECRET.encode(), message, hashlib.md5).hexdigest()


def test_wayforpay_refund(httpserver, settings, refunder, login, outbox):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"wayforpay": {"api": httpserver.url_for("/api")}}
    wfp = account(
        "wayforpay",
        {"merchant_account": "test_merch_n1", "merchant_domain": "shop.example"},
        secret_key=WFP_SECRET,
    )
    order = paid_order(wfp, amount=Decimal("100.00"), currency="UAH")
    payment = order.payments.get()
    seen = []

    def refund(request):
        data = json.loads(request.get_data())
        seen.append(data)
        assert data["merchantSignature"] == wfp_sign(
            ["test_merch_n1", data["orderReference"], data["amount"], data["currency"]]
        )
        answer = {
            "merchantAccount": "test_merch_n1",
            "orderReference": data["orderReference"],
            "transactionStatus": "Refunded",
            "reason": "Ok",
            "reasonCode": 1100,
        }
        answer["merchantSignature"] = wfp_sign(
            ["test_merch_n1", data["orderReference"], "Refunded", 1100]
        )
        return json_response(answer)

    httpserver.expect_request("/api", method="POST").respond_with_handler(refund)
    outbox.clear()

    response, _token = confirm(
        login(refunder), refund_url(order), amount="100.00", reason="Asked by the buyer"
    )

    assert response.status_code == 302
    [data] = seen
    assert data["transactionType"] == "REFUND" and data["orderReference"] == payment.reference
    assert data["amount"] == "100" and data["currency"] == "UAH"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not has_access(order.user, product_of(order))
    assert len(to(outbox, "buyer@example.com")) == 1


def test_wayforpay_declined_refund_changes_nothing(httpserver, settings, refunder, login):
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"wayforpay": {"api": httpserver.url_for("/api")}}
    wfp = account(
        "wayforpay",
        {"merchant_account": "test_merch_n1", "merchant_domain": "shop.example"},
        secret_key=WFP_SECRET,
    )
    order = paid_order(wfp, amount=Decimal("100.00"), currency="UAH")
    reference = order.payments.get().reference
    answer = {
        "merchantAccount": "test_merch_n1",
        "orderReference": reference,
        "transactionStatus": "Declined",
        "reason": "Refund amount exceeded",
        "reasonCode": 1138,
    }
    answer["merchantSignature"] = wfp_sign(["test_merch_n1", reference, "Declined", 1138])
    httpserver.expect_request("/api").respond_with_json(answer)

    response, _token = confirm(login(refunder), refund_url(order), amount="100.00", reason="x")

    assert response.status_code == 200 and "Refund amount exceeded" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Refund.objects.get().status == Refund.Status.FAILED


def test_a_request_left_being_sent_is_refused_then_sent_again_once_stale(
    stripe_account, httpserver, refunder, login
):
    """A process that died between asking Stripe and recording the answer leaves its request
    "being sent": a second refund is refused while it may still be in flight, and later sends
    the same request again under the same Idempotency-Key."""
    order = paid_order(stripe_account, provider_reference="cs_test_a8", references=("pi_3Mtw",))
    payment = order.payments.get()
    stuck = Refund.objects.create(
        order=order,
        payment=payment,
        amount=Decimal("49.00"),
        currency="EUR",
        reason="crashed",
        form_key="stuck-form",
    )
    seen = stripe_refunds(httpserver, [stripe_refund(4900)])
    client = login(refunder)

    response, _token = confirm(client, refund_url(order), amount="49.00", reason="again")
    assert response.status_code == 302 and seen == []
    assert Refund.objects.get().status == Refund.Status.REQUESTED

    Refund.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    response, _token = confirm(client, refund_url(order), amount="49.00", reason="again")

    assert response.status_code == 302
    assert [headers["Idempotency-Key"] for _form, headers in seen] == ["guestpay-refund-stuck-form"]
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and Refund.objects.count() == 1

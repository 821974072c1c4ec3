"""The callback endpoint: verify on the raw body, store, answer; bad input changes nothing."""

import time
from unittest import mock

import pytest
from django.db import DatabaseError

from tests.conftest import order_of
from wagtail_guestpay.models import AccessGrant, Order, OrderStatus, Payment, PaymentEvent

pytestmark = pytest.mark.django_db


def state():
    """Everything a notification could wrongly change."""
    return (
        list(Order.objects.values_list("pk", "status", "email", "user_id", "attention")),
        list(Payment.objects.values_list("pk", "status", "payer_email")),
        AccessGrant.objects.count(),
        PaymentEvent.objects.filter(signature_valid=True).count(),
    )


@pytest.fixture
def started(offer, testpay):
    return testpay.start(offer)[1]


def test_bad_signature_is_400_and_changes_nothing(started, testpay, run_on_commit, outbox):
    before = state()
    response = testpay.notify(started, "paid", email="x@example.com", secret="wrong-secret")

    assert response.status_code == 400
    assert state() == before
    assert outbox == []
    rejected = PaymentEvent.objects.get(signature_valid=False)
    assert rejected.outcome == PaymentEvent.Outcome.REJECTED
    assert rejected.provider_event_id is None


def test_missing_signature_is_400(started, testpay, run_on_commit):
    before = state()
    body = testpay.body(started, "paid", email="x@example.com")
    response = testpay.client.post(
        started.account.notification_path(), data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert state() == before


def test_tampered_body_is_400(started, testpay, run_on_commit):
    from wagtail_guestpay.testprovider import signing

    body = testpay.body(started, "paid", email="x@example.com")
    header = signing.header_value(started.account.get_secret("signing_secret"), body)
    tampered = body.replace(b'"49.00"', b'"0.01"')
    assert tampered != body
    response = testpay.client.post(
        started.account.notification_path(),
        data=tampered,
        content_type="application/json",
        HTTP_X_TESTPAY_SIGNATURE=header,
    )
    assert response.status_code == 400
    assert order_of(started).status == OrderStatus.CREATED


def test_replay_outside_the_tolerance_window_is_400(started, testpay, run_on_commit):
    before = state()
    response = testpay.notify(started, "paid", email="x@example.com", timestamp=time.time() - 3600)
    assert response.status_code == 400
    assert state() == before


def test_verified_but_malformed_body_is_400(started, testpay, run_on_commit):
    before = state()
    response = testpay.post(started, b'{"id": "evt_1", "data": "not an object"}')
    assert response.status_code == 400
    response = testpay.post(started, b"not json at all")
    assert response.status_code == 400
    response = testpay.post(started, b"[1, 2, 3]")
    assert response.status_code == 400
    assert state() == before


def test_oversized_body_is_413(started, testpay, run_on_commit, settings):
    settings.WAGTAIL_GUESTPAY_MAX_NOTIFICATION_BYTES = 1024
    before = state()
    response = testpay.post(started, b'{"pad": "' + b"x" * 2000 + b'"}')
    assert response.status_code == 413
    assert state() == before


def test_unknown_account_is_404(testpay, db):
    response = testpay.client.post(
        "/guestpay/notify/00000000-0000-0000-0000-000000000000/",
        data=b"{}",
        content_type="application/json",
    )
    assert response.status_code == 404


def test_get_is_not_allowed(started, client):
    assert client.get(started.account.notification_path()).status_code == 405


def test_database_error_while_storing_is_503_and_the_retry_is_processed_once(
    started, testpay, run_on_commit, outbox
):
    body = testpay.body(started, "paid", email="retry@example.com")
    with mock.patch(
        "wagtail_guestpay.fulfilment.intake.insert_ignoring_conflicts",
        side_effect=DatabaseError("disk I/O error"),
    ):
        response = testpay.post(started, body)
    assert response.status_code == 503
    assert order_of(started).status == OrderStatus.CREATED

    assert testpay.post(started, body).status_code == 200
    assert testpay.post(started, body).status_code == 200
    assert order_of(started).status == OrderStatus.PAID
    assert AccessGrant.objects.count() == 1
    assert len(outbox) == 1


def test_notification_for_an_inactive_account_is_still_processed(started, testpay, run_on_commit):
    """Payments in flight must be confirmed even after the merchant disables the system."""
    started.account.is_active = False
    started.account.save()
    testpay.notify(started, "paid", email="inflight@example.com")
    assert order_of(started).status == OrderStatus.PAID


def test_headers_are_stored_without_cookies(started, testpay, run_on_commit):
    testpay.client.cookies["sessionid"] = "secret-session"
    testpay.notify(started, "paid", email="h@example.com")
    event = PaymentEvent.objects.get()
    assert "Cookie" not in event.headers
    assert "X-Testpay-Signature" in event.headers
    assert '"reference"' in event.body

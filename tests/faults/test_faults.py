"""Parts failing, in-process with real parts: the database refusing the notification's insert,
the provider's status API timing out, the e-mail server refusing connections. (A worker killed
with SIGKILL mid-processing is in tests/multiprocess.)"""

import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import order_of, refreshed
from tests.factories import OfferFactory, TestProviderAccountFactory
from wagtail_guestpay.fulfilment.confirmation import poll_delay
from wagtail_guestpay.fulfilment.follow_up import check_payment
from wagtail_guestpay.models import (
    AccessGrant,
    OrderStatus,
    OutboundEmail,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from wagtail_guestpay.providers.registry import register_provider, unregister_provider
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db


# A database error while storing a notification --------------------------------------------
def _fail_inserts_readonly():
    """The database refuses writes (a read-only or full disk): OperationalError."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        else:  # PostgreSQL: the disk is full
            cursor.execute(
                "CREATE OR REPLACE FUNCTION guestpay_fail() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER guestpay_fail BEFORE INSERT ON "
                "wagtail_guestpay_paymentevent FOR EACH ROW EXECUTE FUNCTION "
                "guestpay_fail()"
            )


def _fail_inserts_constraint():
    """A constraint other than the event's uniqueness fails (IntegrityError that is not a
    redelivery)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "CREATE TRIGGER guestpay_fail BEFORE INSERT ON "
                "wagtail_guestpay_paymentevent BEGIN "
                "SELECT RAISE(ABORT, 'constraint failed'); END"
            )
        else:
            cursor.execute(
                "CREATE OR REPLACE FUNCTION guestpay_fail() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'constraint failed' USING ERRCODE = 'check_violation'; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER guestpay_fail BEFORE INSERT ON "
                "wagtail_guestpay_paymentevent FOR EACH ROW EXECUTE FUNCTION "
                "guestpay_fail()"
            )


def _heal():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only = OFF")
            cursor.execute("DROP TRIGGER IF EXISTS guestpay_fail")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS guestpay_fail ON wagtail_guestpay_paymentevent")


@pytest.mark.parametrize(
    "fault",
    [_fail_inserts_readonly, _fail_inserts_constraint],
    ids=["write-refused", "other-constraint"],
)
def test_database_error_while_storing_is_5xx_and_the_redelivery_is_processed_once(
    fault, offer, testpay, run_on_commit, outbox
):
    _order, payment, _charge = testpay.start(offer)
    body = testpay.body(payment, "paid", email="dberror@example.com")
    fault()
    try:
        response = testpay.post(payment, body)
    finally:
        _heal()
    assert response.status_code == 503
    assert not PaymentEvent.objects.filter(signature_valid=True).exists()
    assert order_of(payment).status == OrderStatus.CREATED

    for _ in range(3):  # the provider delivers again, maybe more than once
        assert testpay.post(payment, body).status_code == 200
    assert order_of(payment).status == OrderStatus.PAID
    assert PaymentEvent.objects.filter(signature_valid=True).count() == 1
    assert AccessGrant.objects.count() == 1
    assert [m.to for m in outbox] == [["dberror@example.com"]]


# The provider's status API timing out ------------------------------------------------------
@pytest.fixture
def status_api(httpserver, settings):
    """The providers' status API on loopback, with a 0.3 s read timeout."""
    register_provider("httpstatus", "tests.faults.providers.HttpStatusProvider", "HTTP status")
    register_provider("rawtimeout", "tests.faults.providers.RawTimeoutProvider", "Raw timeout")
    base = httpserver.url_for("").rstrip("/")
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {
        "httpstatus": {"api": base},
        "rawtimeout": {"api": base},
    }
    settings.WAGTAIL_GUESTPAY_PROVIDER_TIMEOUT = (1, 0.3)
    yield httpserver
    unregister_provider("httpstatus")
    unregister_provider("rawtimeout")


def _stall(_request):
    import time

    from werkzeug import Response

    time.sleep(0.8)
    return Response("{}", content_type="application/json")


def _answer_paid(payment, email):
    return {
        "id": f"ch_{payment.reference}",
        "reference": payment.reference,
        "status": "paid",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "email": email,
    }


def _due(payment):
    """The back-off delay has passed."""
    Payment.objects.filter(pk=payment.pk).update(next_check_at=timezone.now() - timedelta(1))


@pytest.mark.parametrize("kind", ["httpstatus", "rawtimeout"])
def test_status_api_timing_out_backs_off_and_the_payment_is_not_lost(
    kind, status_api, client, run_on_commit, outbox, settings
):
    offer = OfferFactory(provider_account=TestProviderAccountFactory(kind=kind), guest_payment=True)
    client.get(offer.get_pay_path())
    payment = Payment.objects.get()
    status_api.expect_request(f"/charges/{payment.reference}").respond_with_handler(_stall)

    delays = []
    for attempt in (1, 2, 3):
        _due(payment)
        before = timezone.now()
        done = run_maintenance()  # the sweeper survives the timeout...
        payment = refreshed(payment)
        assert payment.status == PaymentStatus.CREATED  # ...and gives nothing up
        assert payment.check_count == attempt
        delays.append(payment.next_check_at - before)
        assert done["expired"] == 0
    # back-off: each failed check waits longer (2, 4, 8 minutes by default)
    assert delays[0] < delays[1] < delays[2]
    assert abs(delays[2] - poll_delay(3)) < timedelta(seconds=5)
    assert not AccessGrant.objects.exists()

    # The API comes back (and answers in time): the next due check confirms the payment.
    settings.WAGTAIL_GUESTPAY_PROVIDER_TIMEOUT = (1, 10)
    status_api.clear()
    status_api.expect_request(f"/charges/{payment.reference}").respond_with_json(
        _answer_paid(payment, "late@example.com")
    )
    _due(payment)
    run_maintenance()
    run_on_commit()  # the task's transaction commits: the access e-mail goes out
    assert refreshed(payment).status == PaymentStatus.PAID
    assert order_of(payment).status == OrderStatus.PAID
    assert AccessGrant.objects.count() == 1
    assert [m.to for m in outbox] == [["late@example.com"]]
    assert check_payment(payment.pk) is None  # settled: nothing more to check


# The e-mail backend failing ----------------------------------------------------------------
def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again: connections are refused


def test_email_backend_failure_keeps_the_grant_and_the_email_is_retried(
    offer, testpay, run_on_commit, outbox, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        _closed_port(),
        2,
    )
    _order, payment, _charge = testpay.start(offer)
    assert testpay.notify(payment, "paid", email="mailfail@example.com").status_code == 200

    order = order_of(payment)
    assert order.status == OrderStatus.PAID
    assert AccessGrant.objects.filter(order=order).count() == 1
    queued = OutboundEmail.objects.get(order=order)
    assert queued.sent_at is None and queued.attempts == 1
    assert "ConnectionRefused" in queued.last_error or "Errno" in queued.last_error
    assert queued.next_attempt_at > timezone.now()  # retried later, not in a hot loop
    assert run_maintenance()["emails"] == 0  # not due yet

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboundEmail.objects.filter(pk=queued.pk).update(next_attempt_at=timezone.now())
    assert run_maintenance()["emails"] == 1
    assert run_maintenance()["emails"] == 0
    queued.refresh_from_db()
    assert queued.sent_at is not None and queued.attempts == 2 and queued.last_error == ""
    assert [m.to for m in outbox] == [["mailfail@example.com"]]
    assert AccessGrant.objects.filter(order=order, revoked_at__isnull=True).count() == 1

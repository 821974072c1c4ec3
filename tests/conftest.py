import json
import re
import time

import pytest
from django.core import mail
from django.db import connection

from tests.factories import OfferFactory, TestProviderAccountFactory, UserFactory
from wagtail_guestpay.models import Order, Payment
from wagtail_guestpay.testprovider import signing
from wagtail_guestpay.testprovider.models import TestCharge


def run_pending_on_commit():
    """Run the on-commit callbacks (task enqueues, e-mails) queued so far, as a real commit
    would; callbacks they queue run too. The test's own transaction never commits, so without
    this they would never run."""
    pending = connection.run_on_commit
    while pending:
        _savepoints, callback, _robust = pending.pop(0)
        callback()


def committing(client):
    """Make every request of ``client`` commit at its end (its on-commit callbacks run: tasks,
    e-mails), as it would in production. Returns the client."""
    request = client.request

    def request_and_commit(**kwargs):
        response = request(**kwargs)
        run_pending_on_commit()
        return response

    client.request = request_and_commit
    return client


@pytest.fixture
def run_on_commit(db, client):
    """Every test-client request commits at its end, as it would in production."""
    committing(client)
    yield run_pending_on_commit
    run_pending_on_commit()


@pytest.fixture
def account(db):
    return TestProviderAccountFactory()


@pytest.fixture
def offer(account):
    return OfferFactory(provider_account=account, slug="demo-course", guest_payment=True)


@pytest.fixture
def members_offer(account):
    return OfferFactory(provider_account=account, slug="members-only", guest_payment=False)


@pytest.fixture
def user(db):
    return UserFactory(email="existing@example.com")


class TestPay:
    """Drives the test provider as its servers would: signed notifications to the callback."""

    __test__ = False  # not a pytest test class

    def __init__(self, client):
        self.client = client

    def start(self, offer, client=None):
        """Click Pay; returns (order, payment, charge)."""
        response = (client or self.client).get(offer.get_pay_path())
        assert response.status_code == 303, response
        payment = Payment.objects.order_by("-pk").first()
        charge = TestCharge.objects.get(reference=payment.reference)
        return payment.order, payment, charge

    def body(
        self, payment, status, *, email="", amount=None, currency=None, event_id=None, payer_name=""
    ):
        return json.dumps(
            {
                "id": event_id or f"evt_{payment.reference}_{status}",
                "type": f"charge.{status}",
                "data": {
                    "id": payment.provider_reference or f"ch_{payment.reference}",
                    "reference": payment.reference,
                    "status": status,
                    "amount": str(payment.amount if amount is None else amount),
                    "currency": currency or payment.currency,
                    "email": email,
                    "payer_name": payer_name,
                },
            }
        ).encode()

    def post(self, payment, body, *, secret=None, timestamp=None, headers=None):
        secret = secret or payment.account.get_secret("signing_secret")
        signature = signing.header_value(secret, body, timestamp)
        extra = {"HTTP_X_TESTPAY_SIGNATURE": signature}
        extra.update(headers or {})
        return self.client.post(
            payment.account.notification_path(), data=body, content_type="application/json", **extra
        )

    def notify(self, payment, status, **kwargs):
        post_kwargs = {
            key: kwargs.pop(key) for key in ("secret", "timestamp", "headers") if key in kwargs
        }
        return self.post(payment, self.body(payment, status, **kwargs), **post_kwargs)


@pytest.fixture
def testpay(client):
    return TestPay(client)


@pytest.fixture
def outbox():
    return mail.outbox


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def order_of(payment):
    return Order.objects.get(pk=payment.order_id)


def code_in(message):
    """The one-time code of a claim or registration e-mail."""
    return re.search(r"Your code: (\d{6})", message.body).group(1)


def other_than(code):
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 10**6:06d}"


def to(outbox, address):
    """The e-mails of ``outbox`` sent to ``address`` alone."""
    return [message for message in outbox if message.to == [address]]


@pytest.fixture
def now():
    return time.time()


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit budgets live in the cache: each test starts with full budgets."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _locale_ids_forgotten():
    """Locale ids are remembered per process and forgotten on a Locale's save or delete: a test's
    rollback sends no signal (and SQLite gives a rolled-back id to the next row)."""
    from wagtail_guestpay.localization import forget_locale_ids

    forget_locale_ids()
    yield
    forget_locale_ids()


@pytest.fixture(autouse=True)
def _testpay_delivers_in_process(monkeypatch):
    """The test provider's notifications go through Django's handler in-process instead of a
    socket: tests never open network connections."""
    from wagtail_guestpay.testprovider import delivery

    monkeypatch.setattr(delivery, "_http_post", delivery.post_in_process)

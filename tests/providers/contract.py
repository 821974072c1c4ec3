"""The security and behaviour contract every provider's tests inherit.

A provider test module subclasses :class:`ProviderContract` and implements the hooks at the top
(how to build the account, start a payment and sign a notification the way that provider does).
The inherited tests then check, for that provider, through the real callback view and the real
task functions: a paid notification grants once and mails once; a bad signature is 400 and
changes nothing; a tampered amount never grants; a stale signature is refused where the
protocol has a tolerance window; an unknown payment is stored and flagged; duplicates are
no-ops; malformed bodies are 400.
"""

import pytest
from django.contrib.auth import get_user_model

from tests.factories import OfferFactory
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import (
    AccessGrant,
    Attention,
    Order,
    OrderStatus,
    OutboundEmail,
    Payment,
    PaymentEvent,
)


def snapshot():
    """Everything a notification could wrongly change."""
    return (
        list(Order.objects.order_by("pk").values_list("status", "email", "user_id", "attention")),
        list(Payment.objects.order_by("pk").values_list("status", "payer_email")),
        AccessGrant.objects.count(),
        OutboundEmail.objects.count(),
        PaymentEvent.objects.filter(signature_valid=True).count(),
    )


@pytest.mark.django_db
class ProviderContract:
    """Subclass and implement the hooks; the tests below run for that provider."""

    # Hooks --------------------------------------------------------------------------------
    #: True when the protocol rejects notifications whose timestamp is too old.
    has_replay_window = False

    def make_account(self):
        raise NotImplementedError

    def start(self, client, offer):
        """Click Pay for ``offer``; return the Payment (its provider calls faked as needed)."""
        raise NotImplementedError

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        """``(body bytes, headers dict)`` of a correctly signed "paid" notification. ``amount``
        and ``currency`` override the amount (a Decimal) and the currency (an ISO code) the
        provider says it took."""
        raise NotImplementedError

    def forge(self, body, headers):
        """The same notification with a signature made with the wrong secret."""
        raise NotImplementedError

    def stale(self, payment):
        """A correctly signed notification whose signature is outside the tolerance window."""
        raise NotImplementedError

    def prepare_paid(self, payment, email):
        """Make the provider's API (if the pipeline calls it) answer that ``payment`` is paid
        with ``email``; most providers need nothing."""

    def post(self, client, payment, body, headers):
        """POST ``body`` byte for byte (``client.post`` would re-encode it for a non-UTF-8
        charset in the Content-Type, which no provider's server does)."""
        extra = {
            f"HTTP_{key.upper().replace('-', '_')}": value
            for key, value in headers.items()
            if key.lower() != "content-type"
        }
        content_type = headers.get("Content-Type", "application/json")
        return client.generic(
            "POST",
            payment.account.notification_path(),
            data=body,
            content_type=content_type,
            **extra,
        )

    def amount_in_body(self, payment, amount=None):
        """How the notification body spells ``amount`` (the payment's by default): a decimal
        string unless the provider counts in minor units."""
        return str(payment.amount if amount is None else amount).encode()

    def expected_ack(self, response):
        """Check the answer the provider expects (a plain 200 by default)."""
        assert response.status_code == 200

    # Fixtures -----------------------------------------------------------------------------
    @pytest.fixture
    def provider_offer(self, db):
        return OfferFactory(provider_account=self.make_account(), guest_payment=True)

    @pytest.fixture
    def payment(self, client, provider_offer):
        return self.start(client, provider_offer)

    # The contract -------------------------------------------------------------------------
    def test_guest_payment_is_supported(self, provider_offer):
        assert provider_offer.provider_account.supports_guest_payment
        assert provider_offer.takes_guest_payment

    def test_paid_notification_grants_access_and_mails_once(
        self, client, payment, run_on_commit, outbox
    ):
        self.prepare_paid(payment, "contract@example.com")
        body, headers = self.paid_notification(payment, email="contract@example.com")
        for _ in range(3):
            self.expected_ack(self.post(client, payment, body, headers))

        order = Order.objects.get(pk=payment.order_id)
        assert order.status == OrderStatus.PAID
        user = get_user_model().objects.get(email__iexact="contract@example.com")
        assert all(has_access(user, product) for product in order.offer.get_products())
        assert AccessGrant.objects.filter(order=order).count() == len(order.offer.get_products())
        assert [m.to for m in outbox] == [["contract@example.com"]]

    def test_bad_signature_is_400_and_changes_nothing(self, client, payment, run_on_commit, outbox):
        body, headers = self.paid_notification(payment)
        before = snapshot()
        response = self.post(client, payment, *self.forge(body, headers))
        assert response.status_code == 400
        assert snapshot() == before
        assert outbox == []
        assert PaymentEvent.objects.filter(signature_valid=False).count() == 1

    def test_tampered_amount_never_grants(self, client, payment, run_on_commit, outbox):
        """A body whose amount was changed after signing does not verify; a correctly signed
        one with the wrong amount is held for staff."""
        from decimal import Decimal

        body, headers = self.paid_notification(payment)
        price = self.amount_in_body(payment)
        assert price in body, "the notification should carry the amount"
        tampered = body.replace(price, self.amount_in_body(payment, Decimal("0.01")), 1)
        response = self.post(client, payment, tampered, headers)
        assert response.status_code == 400

        self.prepare_paid(payment, "buyer@example.com")
        body, headers = self.paid_notification(payment, amount=Decimal("0.01"))
        self.post(client, payment, body, headers)
        assert not AccessGrant.objects.exists()
        order = Order.objects.get(pk=payment.order_id)
        assert order.status != OrderStatus.PAID
        assert order.attention == Attention.AMOUNT_MISMATCH

    def test_the_right_number_in_another_currency_never_grants(
        self, client, payment, run_on_commit, outbox
    ):
        """A correctly signed "paid" for the price's number in another currency is kept and held
        for staff, like a wrong amount: 49.00 USD does not pay for 49.00 EUR."""
        other = "USD" if payment.currency.upper() != "USD" else "EUR"
        self.prepare_paid(payment, "buyer@example.com")
        body, headers = self.paid_notification(payment, currency=other)
        assert other.lower().encode() in body.lower(), "the notification should carry it"
        assert self.amount_in_body(payment) in body, "and the price's own number"
        self.expected_ack(self.post(client, payment, body, headers))
        assert not AccessGrant.objects.exists()
        order = Order.objects.get(pk=payment.order_id)
        assert order.status != OrderStatus.PAID
        assert order.attention == Attention.AMOUNT_MISMATCH
        assert PaymentEvent.objects.get(signature_valid=True).payment_id == payment.pk
        assert ["buyer@example.com"] not in [m.to for m in outbox]

    def test_stale_signature_is_refused(self, client, payment, run_on_commit):
        if not self.has_replay_window:
            pytest.skip("this provider's protocol has no tolerance window")
        before = snapshot()
        response = self.post(client, payment, *self.stale(payment))
        assert response.status_code == 400
        assert snapshot() == before

    def test_unknown_payment_is_stored_and_flagged(self, client, payment, run_on_commit):
        payment.reference = "GPNOSUCHPAYMENT0000"
        payment.provider_reference = "no-such-provider-reference"
        body, headers = self.paid_notification(payment, event_id="evt-unknown-1")
        response = self.post(client, payment, body, headers)
        self.expected_ack(response)
        assert not AccessGrant.objects.exists()
        event = PaymentEvent.objects.get(signature_valid=True)
        assert event.outcome == PaymentEvent.Outcome.UNKNOWN_PAYMENT
        assert event.payment_id is None

    def test_malformed_body_is_400(self, client, payment, run_on_commit):
        before = snapshot()
        for body in (b"", b"{", b"\xff\xfe\x00", b"[]"):
            response = self.post(client, payment, body, {"Content-Type": "application/json"})
            assert response.status_code == 400, body
        assert snapshot() == before

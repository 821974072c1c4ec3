"""The local test provider: its protocol, hosted page, delivery and the simulate command, plus the
provider contract every provider passes."""

import json
import time

import pytest
from django.core.management import call_command

from tests.factories import TestProviderAccountFactory
from tests.providers.contract import ProviderContract
from wagtail_guestpay.models import Order, OrderStatus, Payment
from wagtail_guestpay.testprovider import signing
from wagtail_guestpay.testprovider.delivery import deliver, notify
from wagtail_guestpay.testprovider.models import TestCharge, TestDelivery


def sign(account, body, timestamp=None):
    return {
        "Content-Type": "application/json",
        signing.HEADER: signing.header_value(account.get_secret("signing_secret"), body, timestamp),
    }


class TestContract(ProviderContract):
    has_replay_window = True

    def make_account(self):
        return TestProviderAccountFactory()

    def start(self, client, offer):
        assert client.get(offer.get_pay_path()).status_code == 303
        return Payment.objects.order_by("-pk").first()

    def _body(self, payment, status, email, amount, event_id, currency=None):
        return json.dumps(
            {
                "id": event_id or f"evt_{payment.reference}_{status}",
                "type": f"charge.{status}",
                "data": {
                    "id": payment.provider_reference,
                    "reference": payment.reference,
                    "status": status,
                    "amount": str(payment.amount if amount is None else amount),
                    "currency": currency or payment.currency,
                    "email": email,
                },
            }
        ).encode()

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        body = self._body(payment, "paid", email, amount, event_id, currency)
        return body, sign(payment.account, body)

    def forge(self, body, headers):
        return body, {**headers, signing.HEADER: signing.header_value("not-the-secret", body)}

    def stale(self, payment):
        body = self._body(payment, "paid", "old@example.com", None, None)
        return body, sign(payment.account, body, timestamp=time.time() - signing.TOLERANCE - 5)


def test_signature_verification_accepts_any_matching_v1_and_rejects_the_rest():
    body = b'{"a":1}'
    now = 1_700_000_000
    good = signing.signature("s3cret", now, body)
    signing.verify("s3cret", f"t={now},v1=deadbeef,v1={good}", body, now=now)
    for header in ("", "t=abc,v1=" + good, f"t={now}", f"v1={good}", f"t={now},v1=00"):
        with pytest.raises(signing.SignatureError):
            signing.verify("s3cret", header, body, now=now)
    with pytest.raises(signing.SignatureError):
        signing.verify("", f"t={now},v1={good}", body, now=now)
    with pytest.raises(signing.SignatureError):
        signing.verify("s3cret", f"t={now},v1={good}", body, now=now + signing.TOLERANCE + 1)


@pytest.mark.django_db
class TestHostedPage:
    def test_paying_with_an_email_notifies_the_site(
        self, client, offer, run_on_commit, monkeypatch, outbox
    ):
        from wagtail_guestpay.testprovider import delivery as delivery_module

        location = client.get(offer.get_pay_path())["Location"]
        sent = []

        def capture(url, body, headers):
            sent.append((url, body, headers))
            return delivery_module.post_in_process(url, body, headers)

        monkeypatch.setattr(delivery_module, "_http_post", capture)
        response = client.post(location, {"outcome": "paid", "email": "hp@example.com"})
        charge = TestCharge.objects.get()
        assert response.status_code == 302 and response["Location"] == charge.return_url
        assert charge.status == "paid" and charge.email == "hp@example.com"
        assert TestDelivery.objects.get().delivered_at is not None
        assert Order.objects.get().status == OrderStatus.PAID
        assert [m.to for m in outbox] == [["hp@example.com"]]
        url, body, headers = sent[0]
        assert url == charge.notify_url
        signing.verify(charge.account.get_secret("signing_secret"), headers[signing.HEADER], body)
        assert json.loads(body)["data"]["email"] == "hp@example.com"

    def test_wallet_outcome_sends_no_email(self, client, offer, run_on_commit, outbox):
        location = client.get(offer.get_pay_path())["Location"]
        client.post(location, {"outcome": "paid_no_email", "email": "ignored@example.com"})
        assert TestCharge.objects.get().email == ""
        delivered = json.loads(TestDelivery.objects.get().body)
        assert delivered["data"]["email"] == ""
        order = Order.objects.get()
        assert order.status == OrderStatus.PAID and order.email_is_placeholder
        assert not [m for m in outbox if "ignored@example.com" in m.to]

    def test_paid_needs_an_email_and_declined_returns_by_the_return_url(self, client, offer):
        """Only the buyer leaving uses the cancel URL: its ?cancelled=1 would call a declined
        card "you left the payment page"."""
        location = client.get(offer.get_pay_path())["Location"]
        assert client.post(location, {"outcome": "paid"}).status_code == 200
        assert TestCharge.objects.get().status == "created"
        response = client.post(location, {"outcome": "declined"})
        charge = TestCharge.objects.get()
        assert response["Location"] == charge.return_url != charge.cancel_url
        assert charge.status == "declined"

    def test_cancelling_returns_by_the_cancel_url_and_the_payment_becomes_cancelled(
        self, client, offer, run_on_commit, monkeypatch
    ):
        from wagtail_guestpay.testprovider import delivery as delivery_module

        monkeypatch.setattr(delivery_module, "_http_post", delivery_module.post_in_process)
        location = client.get(offer.get_pay_path())["Location"]
        response = client.post(location, {"outcome": "cancel", "email": "left@example.com"})
        charge = TestCharge.objects.get()
        assert response["Location"] == charge.cancel_url
        assert charge.status == "cancelled" and charge.email == ""
        assert TestDelivery.objects.get().delivered_at is not None
        payment = Payment.objects.get()
        assert payment.status == "cancelled" and payment.get_status_display() == "Cancelled"
        assert Order.objects.get().status == OrderStatus.CANCELLED
        # The charge is closed: the hosted page cannot be paid any more.
        again = client.post(location, {"outcome": "paid", "email": "late@example.com"})
        assert again.status_code == 200 and b"already handled" in again.content

    def test_a_charge_is_paid_once(self, client, offer, run_on_commit):
        location = client.get(offer.get_pay_path())["Location"]
        client.post(location, {"outcome": "paid", "email": "once@example.com"})
        again = client.post(location, {"outcome": "declined"})
        assert again.status_code == 200 and b"already handled" in again.content
        assert TestCharge.objects.get().status == "paid"

    def test_failed_delivery_is_retried_later(self, offer, client, run_on_commit, monkeypatch):
        client.get(offer.get_pay_path())
        charge = TestCharge.objects.get()
        charge.status = "paid"
        charge.save()
        delivery = notify(charge)
        scheduled = []
        monkeypatch.setattr(
            "wagtail_guestpay.testprovider.delivery.queue_delivery",
            lambda pk, delay=None: scheduled.append((pk, delay)),
        )
        assert not deliver(delivery.pk, send=lambda url, body, headers: 503)
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.delivered_at is None
        assert scheduled and scheduled[0][0] == delivery.pk and scheduled[0][1].total_seconds() > 0

    def test_dashboard_is_for_staff_and_confirms_pending_charges(
        self, client, offer, run_on_commit, admin_user
    ):
        location = client.get(offer.get_pay_path())["Location"]
        client.post(location, {"outcome": "pending", "email": "dash@example.com"})
        charge = TestCharge.objects.get()
        url = f"/guestpay/test-provider/charges/{charge.public_id}/confirm/"
        assert client.post(url).status_code == 302  # to the login page
        assert TestCharge.objects.get().status == "pending"
        client.force_login(admin_user)
        assert b"dash@example.com" in client.get("/guestpay/test-provider/").content
        client.post(url)
        assert TestCharge.objects.get().status == "paid"
        assert TestDelivery.objects.count() == 2


@pytest.mark.django_db
def test_simulate_command_drives_the_flow_in_process(offer, client, outbox, run_on_commit):
    client.get(offer.get_pay_path())
    order = Order.objects.get()
    call_command(
        "guestpay_simulate",
        order.number,
        "--outcome",
        "paid",
        "--email",
        "cli@example.com",
        "--in-process",
    )
    run_on_commit()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert [m.to for m in outbox] == [["cli@example.com"]]


@pytest.mark.django_db
def test_simulate_command_can_click_pay_first_on_a_fresh_site(
    offer, members_offer, outbox, run_on_commit, settings
):
    """The README's example works on a fresh demo: no order exists until --offer clicks Pay."""
    from io import StringIO

    from django.core.management.base import CommandError

    settings.WAGTAIL_GUESTPAY_BASE_URL = "http://testserver"
    out = StringIO()
    call_command(
        "guestpay_simulate",
        "--offer",
        offer.slug,
        "--outcome",
        "paid",
        "--email",
        "fresh@example.com",
        "--in-process",
        stdout=out,
    )
    run_on_commit()
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID and order.email == "fresh@example.com"
    assert f"Order {order.number}: result page http://testserver/guestpay/order/" in out.getvalue()
    assert [m.to for m in outbox] == [["fresh@example.com"]]
    with pytest.raises(CommandError, match="without login"):
        call_command(
            "guestpay_simulate",
            "--offer",
            members_offer.slug,
            "--outcome",
            "paid",
            "--email",
            "x@example.com",
            "--in-process",
        )
    with pytest.raises(CommandError, match="not both"):
        call_command("guestpay_simulate", order.number, "--offer", offer.slug)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_simulate_command_refuses_unknown_orders(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command(
            "guestpay_simulate",
            "GP-999999",
            "--outcome",
            "paid",
            "--email",
            "x@example.com",
            "--in-process",
        )

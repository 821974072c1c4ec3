"""The Stripe provider, end to end and offline.

The Stripe API is faked on loopback (``fake_stripe.py``, pytest-httpserver) and the provider is
pointed at it through ``WAGTAIL_GUESTPAY_PROVIDER_URLS["stripe"]["api"]``, so the official SDK,
its ``requests`` client and our code all run for real. Notifications are signed as Stripe
documents it (docs.stripe.com/webhooks, "Verify signatures manually"); the verifier is also checked
against the fixed vector of Stripe's own SDK tests (see ``test_stripe_dotnet_signature_vector``).
Event and object shapes: ``tests/fixtures/stripe/README.md``.
"""

import json
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.factories import OfferFactory, UserFactory
from tests.providers.contract import ProviderContract
from tests.providers.fake_stripe import (
    FIXTURES,
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    fixture,
    sign,
)
from wagtail_guestpay.conf import guestpay_settings
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
from wagtail_guestpay.providers import stripe as stripe_provider
from wagtail_guestpay.providers import stripe_sdk
from wagtail_guestpay.providers.base import EventStatus
from wagtail_guestpay.providers.exceptions import InvalidSignature, ProviderError


def make_account(*, mode="test", secret_key=SECRET_KEY, webhook_secret=WEBHOOK_SECRET):
    account = ProviderAccount(name="Stripe", kind="stripe", mode=mode)
    account.set_secrets({"secret_key": secret_key, "webhook_secret": webhook_secret})
    account.save()
    return account


def start_fake(httpserver, settings):
    """The fake Stripe API, with the provider pointed at it."""
    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"stripe": {"api": httpserver.url_for("/")}}
    return FakeStripe(httpserver)


@pytest.fixture
def fake(httpserver, settings):
    yield start_fake(httpserver, settings)
    httpserver.check_assertions()  # a handler that raised fails the test


@pytest.fixture
def account(db):
    return make_account()


@pytest.fixture
def offer(account):
    return OfferFactory(
        provider_account=account,
        guest_payment=True,
        price=Decimal("49.00"),
        currency="EUR",
        description="Ten lessons.",
    )


@pytest.fixture
def staff(settings):
    settings.MANAGERS = [("Staff", "staff@example.com")]


def click_pay(client, offer):
    response = client.get(offer.get_pay_path())
    return response, Payment.objects.order_by("-pk").first()


def deliver(client, account, event, *, secret=WEBHOOK_SECRET, timestamp=None):
    body, headers = FakeStripe.signed(event, secret, timestamp)
    return client.post(
        account.notification_path(),
        data=body,
        content_type=headers["Content-Type"],
        HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
    )


def order_of(payment):
    return Order.objects.get(pk=payment.order_id)


def buyer(email):
    return get_user_model().objects.get(email__iexact=email)


def owns_products(user, order):
    return all(has_access(user, product) for product in order.offer.get_products())


# The shared contract -------------------------------------------------------------------------
class TestStripeContract(ProviderContract):
    has_replay_window = True

    @pytest.fixture(autouse=True)
    def _fake_api(self, httpserver, settings):
        # Its own fixture, not the module's: the class travels (tests/hostile subclasses it).
        self.fake = start_fake(httpserver, settings)
        yield
        httpserver.check_assertions()

    def make_account(self):
        return make_account()

    def start(self, client, offer):
        response, payment = click_pay(client, offer)
        assert response.status_code == 303
        assert response["Location"] == self.fake.sessions[payment.provider_reference]["url"]
        return payment

    def _session(self, payment, *, email, amount, currency=None):
        session = fixture("checkout_session")
        details = fixture("customer_details")
        details["email"] = email
        currency = currency or payment.currency
        minor = to_minor_units(payment.amount if amount is None else amount, currency)
        session.update(
            {
                "id": payment.provider_reference,
                "client_reference_id": payment.reference,
                "metadata": {"guestpay_reference": payment.reference},
                "amount_subtotal": minor,
                "amount_total": minor,
                "currency": currency.lower(),
                "status": "complete",
                "payment_status": "paid",
                "customer_details": details,
                "payment_intent": f"pi_{payment.reference.lower()}",
            }
        )
        return session

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        event = self.fake.event(
            "checkout.session.completed",
            self._session(payment, email=email, amount=amount, currency=currency),
            event_id=event_id,
        )
        return FakeStripe.signed(event)

    def forge(self, body, headers):
        return body, {**headers, "Stripe-Signature": sign(body, "whsec_not_the_secret")}

    def stale(self, payment):
        event = self.fake.event(
            "checkout.session.completed",
            self._session(payment, email="old@example.com", amount=None),
        )
        return FakeStripe.signed(event, timestamp=time.time() - stripe_sdk.TOLERANCE - 5)

    def prepare_paid(self, payment, email):
        if payment.provider_reference in self.fake.sessions:
            self.fake.pay(payment.provider_reference, email)

    def amount_in_body(self, payment, amount=None):
        amount = payment.amount if amount is None else amount
        return str(to_minor_units(amount, payment.currency)).encode()


# Signatures ----------------------------------------------------------------------------------
def freeze_webhook_clock(monkeypatch, now):
    """The SDK verifier's clock (``time.time()`` in ``stripe/_webhook.py``), and only its."""
    monkeypatch.setattr(stripe._webhook, "time", SimpleNamespace(time=lambda: now))


def test_stripe_dotnet_signature_vector(monkeypatch):
    """Stripe's published vector: stripe-dotnet, src/StripeTests/Services/Events/
    EventUtilityTest.cs signs src/StripeTests/Resources/event_test_signature.json with the secret
    "webhook_secret" at t=1533204620 (copied byte for byte into our fixtures)."""
    body = (FIXTURES / "signature_vector_stripe_dotnet.json").read_bytes()
    header = (
        "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,"
        "v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef"
    )
    assert sign(body, "webhook_secret", 1533204620) == header.rsplit(",", 1)[0]

    freeze_webhook_clock(monkeypatch, 1533204620 + 100)
    stripe_sdk.verify_signature(body, header, "webhook_secret")
    with pytest.raises(InvalidSignature):  # EventUtilityTest.RejectIncorrectSignature
        stripe_sdk.verify_signature(body + b"this_changes_the_json", header, "webhook_secret")
    with pytest.raises(InvalidSignature):
        stripe_sdk.verify_signature(body, header, "whsec_other")
    freeze_webhook_clock(monkeypatch, 1533204620 + 300 + 100)
    with pytest.raises(InvalidSignature, match="tolerance"):  # RejectOutdatedTimestamp
        stripe_sdk.verify_signature(body, header, "webhook_secret")


def test_signature_header_variants():
    """The cases of stripe-python's tests/test_webhook.py (TestWebhookSignature)."""
    body = b'{"id": "evt_test_webhook", "object": "event"}'
    good = sign(body)
    stripe_sdk.verify_signature(body, good, WEBHOOK_SECRET)
    stripe_sdk.verify_signature(body, good + ",v1=bad_signature", WEBHOOK_SECRET)
    timestamp, signature = good.split(",")
    refused = [
        "",  # no header
        "i'm not even a real signature header",  # malformed
        f"{timestamp},v0={signature[3:]}",  # no v1 scheme
        f"{timestamp},v1=bad_signature",
        f"t=abc,{signature}",
        signature,  # no timestamp
    ]
    for header in refused:
        with pytest.raises(InvalidSignature):
            stripe_sdk.verify_signature(body, header, WEBHOOK_SECRET)
    with pytest.raises(InvalidSignature):
        stripe_sdk.verify_signature(body, good, "")  # no secret configured
    with pytest.raises(InvalidSignature):
        stripe_sdk.verify_signature(b"\xff" + body, good, WEBHOOK_SECRET)


@pytest.mark.django_db
def test_the_published_vector_reaches_the_view_and_its_event_type_is_ignored(client, monkeypatch):
    """Through the callback view: stale today; inside the window it verifies, and its type
    (customer.created) is not one we handle: 200, nothing stored."""
    account = make_account(webhook_secret="webhook_secret")
    body = (FIXTURES / "signature_vector_stripe_dotnet.json").read_bytes()
    header = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7"

    def post():
        return client.post(
            account.notification_path(),
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    assert post().status_code == 400
    assert PaymentEvent.objects.get().outcome == PaymentEvent.Outcome.REJECTED
    freeze_webhook_clock(monkeypatch, 1533204620 + 10)
    assert post().status_code == 200
    assert PaymentEvent.objects.count() == 1  # only the rejected one


# Starting a payment --------------------------------------------------------------------------
@pytest.mark.django_db
def test_pay_creates_a_checkout_session_and_redirects_to_it(client, offer, fake):
    response, payment = click_pay(client, offer)

    session = fake.sessions[payment.provider_reference]
    assert response.status_code == 303 and response["Location"] == session["url"]
    method, path, params, headers = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert headers["Idempotency-Key"] == f"guestpay-checkout-{payment.reference}"
    assert params["mode"] == "payment"
    assert params["line_items[0][quantity]"] == "1"
    assert params["line_items[0][price_data][currency]"] == "eur"
    assert params["line_items[0][price_data][unit_amount]"] == "4900"
    assert params["line_items[0][price_data][product_data][name]"] == offer.title
    assert params["line_items[0][price_data][product_data][description]"] == "Ten lessons."
    assert params["success_url"].startswith("http://testserver/guestpay/order/")
    assert params["success_url"].endswith("?session_id={CHECKOUT_SESSION_ID}")
    assert params["cancel_url"].endswith("?cancelled=1")
    assert params["client_reference_id"] == payment.reference
    assert params["metadata[guestpay_reference]"] == payment.reference
    assert params["payment_intent_data[metadata][guestpay_reference]"] == payment.reference
    assert params["metadata[guestpay_order]"] == order_of(payment).number
    assert "customer_email" not in params  # a guest types it on Stripe's page
    assert payment.provider_data == {"checkout_session": session["id"], "livemode": False}
    assert stripe.api_key is None  # the key went with the request, never module-wide


@pytest.mark.django_db
def test_a_logged_in_buyer_e_mail_is_prefilled(client, offer, fake):
    client.force_login(UserFactory(email="member@example.com"))
    _response, payment = click_pay(client, offer)
    assert fake.requests[-1][2]["customer_email"] == "member@example.com"
    assert payment.status == PaymentStatus.CREATED


@pytest.mark.django_db
def test_zero_decimal_currencies_are_sent_in_their_minor_unit(client, account, fake):
    offer = OfferFactory(provider_account=account, price=Decimal("500"), currency="JPY")
    click_pay(client, offer)
    assert fake.requests[-1][2]["line_items[0][price_data][unit_amount]"] == "500"
    assert fake.requests[-1][2]["line_items[0][price_data][currency]"] == "jpy"


@pytest.mark.django_db
def test_stripe_down_shows_the_unavailable_page_after_one_retry(client, offer, fake):
    fake.fail_with = (500, {"error": {"type": "api_error", "message": "Oops"}})
    response, payment = click_pay(client, offer)
    assert response.status_code == 503
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED
    attempts = [headers["Idempotency-Key"] for _m, _p, _params, headers in fake.requests]
    assert attempts == [f"guestpay-checkout-{payment.reference}"] * 2


@pytest.mark.django_db
def test_a_wrong_key_is_not_retried_and_never_echoed(client, fake):
    offer = OfferFactory(provider_account=make_account(secret_key="sk_test_WRONGKEY123"))
    response, payment = click_pay(client, offer)
    assert response.status_code == 503 and len(fake.requests) == 1
    provider = payment.account.get_provider()
    with pytest.raises(ProviderError) as error:
        provider.fetch_status(Payment(account=payment.account, provider_reference="cs_x"))
    assert not error.value.retryable
    assert "sk_test_" not in str(error.value) and "WRONG" not in str(error.value)
    assert "Invalid API Key provided" in str(error.value)


# The buyer's journey -------------------------------------------------------------------------
@pytest.mark.django_db
def test_end_to_end_pay_stripe_page_notification_access_and_email(
    client, offer, fake, run_on_commit, outbox
):
    response, payment = click_pay(client, offer)
    session_id = payment.provider_reference
    assert response["Location"] == f"{fake.base_url}/c/pay/{session_id}"

    session = fake.pay(session_id, "Jenny.Rosen@Example.com")  # on Stripe's page
    response = deliver(client, payment.account, fake.event("checkout.session.completed", session))

    assert response.status_code == 200
    order = order_of(payment)
    assert order.status == OrderStatus.PAID and order.email == "jenny.rosen@example.com"
    assert owns_products(buyer("jenny.rosen@example.com"), order)
    assert [m.to for m in outbox] == [["jenny.rosen@example.com"]]
    payment.refresh_from_db()
    assert payment.payer_name == "Jenny Rosen"
    known = {payment.provider_reference, *payment.references.values_list("value", flat=True)}
    assert {session_id, session["payment_intent"]} <= known  # either id finds the payment
    event = PaymentEvent.objects.get(payment=payment)
    assert event.provider_event_id.startswith("evt_") and event.signature_valid
    assert json.loads(event.body)["data"]["object"]["id"] == session_id  # kept raw

    # The buyer's browser comes back to success_url: the page shows the paid order.
    back = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
    page = client.get(back.removeprefix("http://testserver"))
    assert page.status_code == 200 and order.offer.title in page.content.decode()
    assert len(outbox) == 1


@pytest.mark.django_db
def test_delayed_payment_waits_then_grants_on_async_success(
    client, offer, fake, run_on_commit, outbox
):
    _response, payment = click_pay(client, offer)
    session = fake.pay_later(payment.provider_reference, "sepa@example.com")
    deliver(client, payment.account, fake.event("checkout.session.completed", session))

    order = order_of(payment)
    assert order.status == OrderStatus.PENDING
    assert not AccessGrant.objects.exists() and outbox == []
    assert Payment.objects.get(pk=payment.pk).detail == "payment_status=unpaid"

    session = fake.settle(payment.provider_reference, succeeded=True)
    deliver(
        client, payment.account, fake.event("checkout.session.async_payment_succeeded", session)
    )
    assert order_of(payment).status == OrderStatus.PAID
    assert owns_products(buyer("sepa@example.com"), order)
    assert [m.to for m in outbox] == [["sepa@example.com"]]


@pytest.mark.django_db
def test_delayed_payment_that_fails(client, offer, fake, run_on_commit, outbox):
    _response, payment = click_pay(client, offer)
    deliver(
        client,
        payment.account,
        fake.event("checkout.session.completed", fake.pay_later(payment.provider_reference)),
    )
    session = fake.settle(payment.provider_reference, succeeded=False)
    deliver(client, payment.account, fake.event("checkout.session.async_payment_failed", session))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED
    assert order_of(payment).status == OrderStatus.FAILED
    assert not AccessGrant.objects.exists() and outbox == []


@pytest.mark.django_db
def test_an_abandoned_session_expires(client, offer, fake, run_on_commit, outbox):
    _response, payment = click_pay(client, offer)
    session = fake.expire(payment.provider_reference)
    assert (
        deliver(
            client, payment.account, fake.event("checkout.session.expired", session)
        ).status_code
        == 200
    )
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    assert outbox == []


def _paid(client, offer, fake, email="refund@example.com"):
    _response, payment = click_pay(client, offer)
    session = fake.pay(payment.provider_reference, email)
    deliver(client, payment.account, fake.event("checkout.session.completed", session))
    assert order_of(payment).status == OrderStatus.PAID
    return payment


@pytest.mark.django_db
def test_a_full_refund_revokes_access_and_tells_staff(
    client, offer, fake, run_on_commit, outbox, staff
):
    payment = _paid(client, offer, fake)
    user = buyer("refund@example.com")
    charge = fake.refund(payment.provider_reference)
    assert charge["metadata"] == {}  # a charge does not carry our reference: mapped back by id

    assert (
        deliver(client, payment.account, fake.event("charge.refunded", charge)).status_code == 200
    )
    order = order_of(payment)
    assert order.status == OrderStatus.REFUNDED
    assert not owns_products(user, order)
    assert AccessGrant.objects.filter(order=order, revoked_at__isnull=False).exists()
    assert ["staff@example.com"] in [m.to for m in outbox]


@pytest.mark.django_db
def test_a_partial_refund_is_flagged_and_keeps_access(
    client, offer, fake, run_on_commit, outbox, staff
):
    payment = _paid(client, offer, fake)
    charge = fake.refund(payment.provider_reference, amount=1000)
    deliver(client, payment.account, fake.event("charge.refunded", charge))
    order = order_of(payment)
    assert order.status == OrderStatus.PAID and order.attention == Attention.PARTIAL_REFUND
    assert "10.00 EUR" in order.attention_note
    assert owns_products(buyer("refund@example.com"), order)


@pytest.mark.django_db
def test_a_chargeback_revokes_access_but_an_inquiry_does_not(
    client, offer, fake, run_on_commit, outbox
):
    payment = _paid(client, offer, fake)
    intent = fake.intent(payment.provider_reference)
    dispute = fixture("dispute")
    # Disputes of PaymentIntent charges name the intent (Dispute.payment_intent in the SDK).
    dispute.update(
        {
            "charge": intent["latest_charge"],
            "payment_intent": intent["id"],
            "amount": 4900,
            "currency": "eur",
            "status": "warning_needs_response",
        }
    )
    deliver(client, payment.account, fake.event("charge.dispute.created", dispute))
    assert order_of(payment).status == OrderStatus.PAID

    dispute.update({"id": "dp_2", "status": "needs_response", "reason": "fraudulent"})
    deliver(client, payment.account, fake.event("charge.dispute.created", dispute))
    order = order_of(payment)
    assert order.status == OrderStatus.REFUNDED
    assert not owns_products(buyer("refund@example.com"), order)
    assert Payment.objects.get(pk=payment.pk).detail == "dispute fraudulent"


@pytest.mark.django_db
def test_payment_intent_succeeded_alone_confirms_and_fetches_the_email(
    client, offer, fake, run_on_commit, outbox
):
    """The intent carries our reference (payment_intent_data.metadata) but no e-mail: the
    worker reads it from the session before granting; the later session event changes
    nothing."""
    _response, payment = click_pay(client, offer)
    session = fake.pay(payment.provider_reference, "intent@example.com")
    intent = fake.intent(payment.provider_reference)
    assert intent["metadata"]["guestpay_reference"] == payment.reference
    assert intent["receipt_email"] is None

    deliver(client, payment.account, fake.event("payment_intent.succeeded", intent))
    order = order_of(payment)
    assert order.status == OrderStatus.PAID and order.email == "intent@example.com"
    assert ("GET", f"/v1/checkout/sessions/{payment.provider_reference}") in [
        (method, path) for method, path, _params, _headers in fake.requests
    ]

    deliver(client, payment.account, fake.event("checkout.session.completed", session))
    assert [m.to for m in outbox] == [["intent@example.com"]]
    outcomes = list(PaymentEvent.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [PaymentEvent.Outcome.APPLIED, PaymentEvent.Outcome.NO_CHANGE]


@pytest.mark.django_db
def test_a_declined_card_keeps_the_payment_open_for_another_try(
    client, offer, fake, run_on_commit, outbox
):
    _response, payment = click_pay(client, offer)
    intent = fixture("payment_intent")
    intent.update(
        {
            "status": "requires_payment_method",
            "amount": 4900,
            "amount_received": 0,
            "currency": "eur",
            "metadata": {"guestpay_reference": payment.reference},
            "last_payment_error": fixture("last_payment_error"),
        }
    )
    deliver(client, payment.account, fake.event("payment_intent.payment_failed", intent))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED and payment.is_open
    assert payment.detail == "Your card was declined."

    intent["status"] = "canceled"
    deliver(client, payment.account, fake.event("payment_intent.payment_failed", intent))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.FAILED


@pytest.mark.django_db
def test_events_of_other_integrations_and_other_types_are_ignored(client, account, fake):
    intent = fixture("payment_intent")  # no reference of ours in its metadata
    session = fixture("checkout_session")  # no client_reference_id, no metadata
    for event in (
        fake.event("payment_intent.succeeded", intent),
        fake.event("checkout.session.completed", session),
        fake.event("invoice.paid", {"id": "in_1", "object": "invoice"}),
        fake.event("customer.created", {"id": "cus_1", "object": "customer"}),
    ):
        response = deliver(client, account, event)
        assert response.status_code == 200, event["type"]
    assert not PaymentEvent.objects.exists()


@pytest.mark.django_db
def test_no_email_anywhere_leads_to_the_placeholder(client, offer, fake, run_on_commit, outbox):
    _response, payment = click_pay(client, offer)
    session = fake.pay(payment.provider_reference, email=None)
    assert session["customer_details"]["email"] is None
    deliver(client, payment.account, fake.event("checkout.session.completed", session))
    order = order_of(payment)
    assert order.status == OrderStatus.PAID
    assert order.email_is_placeholder and order.attention == Attention.PLACEHOLDER_EMAIL
    assert order.email.endswith("@" + guestpay_settings.PLACEHOLDER_EMAIL_DOMAIN)
    assert not AccessGrant.objects.exists()
    assert all(m.to != [order.email] for m in outbox)


@pytest.mark.django_db
def test_the_charge_email_is_the_fallback(client, offer, fake, run_on_commit, outbox):
    _response, payment = click_pay(client, offer)
    fake.pay(payment.provider_reference, "card@example.com")
    session = fake.sessions[payment.provider_reference]
    session["customer_details"]["email"] = None  # e.g. a wallet that shared none
    deliver(
        client,
        payment.account,
        fake.event("checkout.session.completed", fake.session(payment.provider_reference)),
    )
    assert order_of(payment).email == "card@example.com"  # billing_details of the charge
    assert [m.to for m in outbox] == [["card@example.com"]]


@pytest.mark.django_db
def test_a_test_mode_event_is_refused_by_a_live_account(client, fake):
    account = make_account(mode="live")
    event = fake.event("checkout.session.completed", fixture("checkout_session"))
    assert event["livemode"] is False
    response = deliver(client, account, event)
    assert response.status_code == 400 and b"test-mode event" in response.content


# Status checks ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_fetch_status_follows_the_session(client, offer, fake):
    _response, payment = click_pay(client, offer)
    provider = payment.account.get_provider()
    session_id = payment.provider_reference

    event = provider.fetch_status(payment)
    assert (event.status, event.event_id) == (EventStatus.CREATED, f"{session_id}:created")
    assert (event.amount, event.currency, event.reference) == (
        Decimal("49.00"),
        "EUR",
        payment.reference,
    )
    _method, path, query, _headers = fake.requests[-1]
    assert path == f"/v1/checkout/sessions/{session_id}"
    assert {query["expand[0]"], query["expand[1]"]} == set(stripe_provider.SESSION_EXPAND)

    fake.pay_later(session_id, "later@example.com")
    assert provider.fetch_status(payment).status == EventStatus.PENDING
    fake.settle(session_id, succeeded=False)
    failed = provider.fetch_status(payment)
    assert (failed.status, failed.detail) == (EventStatus.FAILED, "Your card was declined.")
    fake.settle(session_id, succeeded=True)
    paid = provider.fetch_status(payment)
    assert (paid.status, paid.event_id, paid.email) == (
        EventStatus.PAID,
        f"{session_id}:paid",
        "later@example.com",
    )
    assert fake.intent(session_id)["id"] in paid.related_references
    fake.refund(session_id)
    refunded = provider.fetch_status(payment)
    assert (refunded.status, refunded.refunded_amount) == (EventStatus.REFUNDED, Decimal("49.00"))

    _response, other = click_pay(Client(), offer)  # another buyer
    fake.expire(other.provider_reference)
    assert provider.fetch_status(other).status == EventStatus.EXPIRED
    assert (
        provider.fetch_status(
            Payment(account=payment.account, provider_reference="cs_test_missing")
        )
        is None
    )
    assert provider.fetch_status(Payment(account=payment.account)) is None


@pytest.mark.django_db
def test_a_lost_webhook_is_made_up_for_by_the_status_check(
    client, offer, fake, run_on_commit, outbox
):
    _response, payment = click_pay(client, offer)
    fake.pay(payment.provider_reference, "poll@example.com")
    check_payment(payment.pk)
    run_on_commit()
    order = order_of(payment)
    assert order.status == OrderStatus.PAID
    assert [m.to for m in outbox] == [["poll@example.com"]]
    event = PaymentEvent.objects.get()
    assert event.provider_event_id == f"check:{payment.provider_reference}:paid"


@pytest.mark.django_db
def test_the_return_page_asks_stripe(client, offer, fake, run_on_commit, outbox):
    response, payment = click_pay(client, offer)
    success_url = fake.sessions[payment.provider_reference]["success_url"]
    fake.pay(payment.provider_reference, "back@example.com")
    page = client.get(
        success_url.replace("{CHECKOUT_SESSION_ID}", payment.provider_reference).removeprefix(
            "http://testserver"
        )
    )
    assert page.status_code == 200
    assert order_of(payment).status == OrderStatus.PAID
    assert [m.to for m in outbox] == [["back@example.com"]]


# Credentials ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_check_credentials(fake):
    check = make_account().get_provider().check_credentials()
    assert check.ok and "test mode" in check.message
    assert fake.requests[-1][1] == "/v1/balance"

    check = make_account(secret_key="sk_test_WRONGKEY123").get_provider().check_credentials()
    assert not check.ok and "refused" in check.message and "WRONGKEY" not in check.message

    check = make_account(mode="live").get_provider().check_credentials()
    assert not check.ok and "test-mode key" in check.message

    check = make_account(webhook_secret="").get_provider().check_credentials()
    assert not check.ok and "webhook signing secret" in check.message

    fake.fail_with = (500, {"error": {"type": "api_error", "message": "Oops"}})
    check = make_account().get_provider().check_credentials()
    assert not check.ok and "could not be reached" in check.message


@pytest.mark.django_db
def test_no_key_no_call(fake):
    account = make_account(secret_key="")
    check = account.get_provider().check_credentials()
    assert not check.ok and "Set the secret key" in check.message
    with pytest.raises(ProviderError):
        account.get_provider().fetch_status(Payment(account=account, provider_reference="cs_1"))
    assert fake.requests == []


def test_keys_are_redacted_from_messages():
    text = (
        "Invalid API Key provided: sk_test_********WXYZ; also rk_live_abc, whsec_123 and pk_test_9."
    )
    redacted = stripe_provider.redact(text)
    assert "WXYZ" not in redacted and "abc" not in redacted and "123" not in redacted
    assert redacted.startswith("Invalid API Key provided: sk_…;")


def test_a_missing_sdk_is_reported_clearly(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "stripe", None)
    with pytest.raises(ImproperlyConfigured, match="pip install 'wagtail-guestpay\\[stripe\\]'"):
        stripe_provider.load_sdk()
    provider = stripe_provider.StripeProvider(ProviderAccount(kind="stripe"))
    check = provider.check_credentials()
    assert not check.ok and "stripe package" in check.message


def test_the_kind_is_registered():
    from wagtail_guestpay.providers.registry import get_provider_class, provider_kind_choices

    assert get_provider_class("stripe") is stripe_provider.StripeProvider
    assert ("stripe", "Stripe") in [(kind, str(label)) for kind, label in provider_kind_choices()]
    names = [(c.name, c.secret) for c in stripe_provider.StripeProvider.credentials]
    assert names == [("secret_key", True), ("webhook_secret", True), ("publishable_key", False)]


# The sandbox ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_sandbox_takes_stripe_keys_from_the_environment(monkeypatch, fake, client):
    from io import StringIO

    from django.core.management import call_command

    call_command("load_demo", stdout=StringIO())
    assert not ProviderAccount.objects.filter(kind="stripe").exists()  # test provider only

    monkeypatch.setenv("GUESTPAY_STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("GUESTPAY_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    out = StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=StringIO())  # idempotent
    account = ProviderAccount.objects.get(kind="stripe")
    assert account.mode == ProviderAccount.Mode.TEST and account.secrets_encrypted == ""
    assert account.get_secret("secret_key") == SECRET_KEY  # read from the environment
    notify_url = guestpay_settings.BASE_URL + account.notification_path()
    assert f"stripe listen --forward-to {notify_url}" in out.getvalue()
    assert SECRET_KEY not in out.getvalue()
    from wagtail_guestpay.models import Offer

    assert (
        Offer.objects.get(slug="demo-course", locale__language_code="en").provider_account.kind
        == "test"
    )
    stripe_offer = Offer.objects.get(slug="demo-course-stripe", locale__language_code="en")
    assert stripe_offer.provider_account == account and stripe_offer.takes_guest_payment
    response, payment = click_pay(client, stripe_offer)
    assert response["Location"] == fake.sessions[payment.provider_reference]["url"]

"""Payment notifications: the raw log of what payment systems said, for staff."""

import json

import pytest
from django.urls import reverse

from wagtail_guestpay.admin.redaction import redact, safe_body, safe_headers
from wagtail_guestpay.models import PaymentEvent
from wagtail_guestpay.staff.fixes import mark_event_reviewed

pytestmark = pytest.mark.django_db

INDEX = "/admin/guestpay/events/"


@pytest.fixture
def stranger(offer, testpay, run_on_commit):
    """A notification about a payment this site does not know, and one with a bad signature."""
    _order, payment, _charge = testpay.start(offer)
    body = json.loads(testpay.body(payment, "paid", event_id="evt_stranger"))
    body["data"].update(reference="ELSEWHERE", id="ch_elsewhere")
    testpay.post(payment, json.dumps(body).encode())
    testpay.notify(payment, "paid", secret="wrong-secret", event_id="evt_forged")
    return PaymentEvent.objects.get(provider_event_id="evt_stranger")


def test_listing_filters_by_outcome_and_review(stranger, fixer, login):
    client = login(fixer)
    unknown = client.get(INDEX, {"outcome__exact": "unknown_payment"}).content.decode()
    assert reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk]) in unknown
    rejected = client.get(INDEX, {"outcome__exact": "rejected"}).content.decode()
    assert "Signature not valid" in rejected
    assert reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk]) not in rejected
    inspect = reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk])
    assert "Signature not valid" not in unknown
    assert inspect in client.get(INDEX, {"reviewed": "no"}).content.decode()
    assert inspect not in client.get(INDEX, {"reviewed": "yes"}).content.decode()
    mark_event_reviewed(stranger, by=fixer, reason="other shop")
    waiting = client.get(INDEX, {"reviewed": "no"}).content.decode()
    assert reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk]) not in waiting
    done = client.get(INDEX, {"reviewed": "yes"}).content.decode()
    assert reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk]) in done
    assert client.get(INDEX, {"reviewed": "maybe"}).status_code == 400


def test_inspect_explains_an_unknown_payment(stranger, viewer, login):
    page = (
        login(viewer)
        .get(reverse("guestpay_events_modeladmin_inspect", args=[stranger.pk]))
        .content.decode()
    )
    assert "this site does not know the payment" in page
    assert "ELSEWHERE" in page and "ch_elsewhere" in page
    assert "Mark as reviewed" not in page  # a viewer does not fix


def test_display_helpers_hide_credentials_and_order_links():
    headers = dict(
        safe_headers(
            {
                "Authorization": "Bearer abc",
                "X-Api-Key": "k",
                "Stripe-Signature": "t=1,v1=ff",
                "X-Session-Token": "s",
            }
        )
    )
    assert headers == {
        "Authorization": "•••",
        "X-Api-Key": "•••",
        "Stripe-Signature": "t=1,v1=ff",
        "X-Session-Token": "•••",
    }
    body = safe_body(
        json.dumps(
            {
                "client_secret": "pi_123_secret_456",
                "amount": 100,
                "success_url": "https://shop.test/guestpay/order/AbC-12_x/",
            }
        )
    )
    assert "pi_123_secret_456" not in body and "AbC-12_x" not in body and '"amount": 100' in body
    assert redact("u=https%3A%2F%2Fshop%2Fguestpay%2Forder%2FAbC123&x=1") == (
        "u=https%3A%2F%2Fshop%2Fguestpay%2Forder%2F•••&x=1"
    )
    assert safe_body("not json <b>") == "not json <b>"  # escaped by the template


def test_a_rejected_notification_nested_too_deeply_is_shown_as_text(testpay, offer, viewer, login):
    """Kept as received (signature_valid False) and shown as text: neither the parser's nor the
    masking's recursion limit turns its page into a 500, on any Python."""
    _order, payment, _charge = testpay.start(offer)
    deep = '{"a":' * 900 + "1" + "}" * 900
    testpay.post(payment, deep.encode())
    event = PaymentEvent.objects.get(signature_valid=False)
    assert event.body == deep[:2048] and event.body_size == len(deep)  # the first 2 kB kept
    assert safe_body(deep) == deep and safe_body("[" * 5000 + "]" * 5000).startswith("[[[")
    page = login(viewer).get(reverse("guestpay_events_modeladmin_inspect", args=[event.pk]))
    assert page.status_code == 200 and "{&quot;a&quot;:{&quot;a&quot;:" in page.content.decode()

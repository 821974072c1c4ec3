"""The buyer's return pages: found by the secret token only, showing the order's real state."""

import pytest
from wagtail.models import Site

from tests.conftest import order_of
from wagtail_guestpay.models import MerchantContacts, Order, PaymentResultPage

pytestmark = pytest.mark.django_db


def return_path(client, offer):
    client.get(offer.get_pay_path())
    from wagtail_guestpay.testprovider.models import TestCharge

    charge = TestCharge.objects.order_by("-pk").first()
    return charge.return_url.removeprefix("http://testserver"), charge


def test_token_is_the_only_way_in(client, offer):
    path, _charge = return_path(client, offer)
    assert client.get(path).status_code == 200
    assert client.get("/guestpay/order/not-the-token/").status_code == 404
    assert client.get(f"/guestpay/order/{Order.objects.get().pk}/").status_code == 404


def test_the_token_is_stored_hashed(client, offer):
    path, _charge = return_path(client, offer)
    token = path.rstrip("/").rsplit("/", 1)[1]
    order = Order.objects.get()
    assert token not in order.token_hash and len(order.token_hash) == 64


def test_states_follow_the_order(client, offer, testpay, run_on_commit):
    path, _charge = return_path(client, offer)
    payment = order_of(Order.objects.get().payments.get()).payments.get()
    confirming = client.get(path)
    assert b"being confirmed" in confirming.content
    assert b"order-status.js" in confirming.content
    assert confirming["Referrer-Policy"] == "same-origin"
    assert "no-store" in confirming["Cache-Control"]

    testpay.notify(payment, "paid", email="state@example.com")
    paid = client.get(path)
    assert b"Payment received" in paid.content
    assert b"state@example.com" in paid.content
    assert client.get(path + "status/").json() == {"state": "paid", "status": "paid"}


def test_failure_shows_retry_and_the_retry_goes_back_to_the_provider(
    client, offer, testpay, run_on_commit
):
    path, _charge = return_path(client, offer)
    payment = Order.objects.get().payments.get()
    testpay.notify(payment, "declined")
    page = client.get(path)
    assert b"did not go through" in page.content
    assert b"Try again" in page.content

    token = path.rstrip("/").rsplit("/", 1)[1]
    response = client.post(f"/guestpay/order/{token}/retry/")
    assert response.status_code == 303
    assert Order.objects.get().payments.count() == 2
    assert Order.objects.get().status == "created"


def test_retry_of_a_paid_order_does_nothing(client, offer, testpay, run_on_commit):
    path, _charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "paid", email="p@example.com")
    token = path.rstrip("/").rsplit("/", 1)[1]
    response = client.post(f"/guestpay/order/{token}/retry/")
    assert response.status_code == 302
    assert Order.objects.get().payments.count() == 1


def test_cancel_return_says_nothing_was_charged(client, offer):
    _path, charge = return_path(client, offer)
    page = client.get(charge.cancel_url.removeprefix("http://testserver"))
    assert b"not completed" in page.content
    assert b"You left the payment page" in page.content
    assert b"Try again" in page.content


def test_a_cancelled_order_still_says_the_buyer_left(client, offer, testpay, run_on_commit):
    path, charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "cancelled")
    for url in (path, charge.cancel_url.removeprefix("http://testserver")):
        page = client.get(url)
        assert b"You left the payment page" in page.content
        assert b"did not go through" not in page.content
    assert client.get(path + "status/").json() == {"state": "cancelled", "status": "cancelled"}


def test_a_declined_card_is_never_described_as_leaving_the_page(
    client, offer, testpay, run_on_commit
):
    """Even when the browser comes back by the cancel URL (?cancelled=1), a decline the payment
    system reported is a decline."""
    path, charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "declined")
    for url in (path, charge.cancel_url.removeprefix("http://testserver")):
        page = client.get(url)
        assert b"did not go through" in page.content
        assert b"You left the payment page" not in page.content


def test_placeholder_email_is_not_shown_and_the_buyer_is_told_to_contact_us(
    client, offer, testpay, run_on_commit
):
    path, _charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "paid", email="")
    page = client.get(path)
    assert b"did not tell us your e-mail" in page.content
    assert Order.objects.get().email.encode() not in page.content


def test_return_page_asks_the_provider_when_still_unconfirmed(client, offer, run_on_commit, outbox):
    """The buyer's return races the notification: the status check converges on one grant."""
    path, charge = return_path(client, offer)
    charge.status = "paid"
    charge.email = "racer@example.com"
    charge.save()
    page = client.get(path)
    assert page.status_code == 200
    order = Order.objects.get()
    assert order.status == "paid"
    assert len(outbox) == 1
    client.get(path)
    client.get(path + "status/")
    assert len(outbox) == 1


def test_editor_result_pages_are_used_with_merchant_contacts(client, offer, testpay, run_on_commit):
    site = Site.objects.get(is_default_site=True)
    merchant = MerchantContacts.for_site(site)
    merchant.email = "help@shop.example"
    merchant.save()
    from wagtail.rich_text import RichText

    success = site.root_page.add_child(
        instance=PaymentResultPage(
            title="Merci",
            slug="merci",
            kind="success",
            body=[("paragraph", RichText("<p>Editor text</p>"))],
        )
    )
    offer.success_page = success
    offer.save()
    path, _charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "paid", email="m@example.com")
    page = client.get(path)
    assert b"Merci" in page.content and b"Editor text" in page.content
    assert b"Payment received" in page.content
    assert b"help@shop.example" in page.content
    assert page.content.count(b"help@shop.example") == 2  # mailto href and text, once
    # One heading for the page: the order's state, not the page title beside a status heading
    # saying the same (issue 13: "Payment not completed" / "The payment was not completed").
    html = page.content.decode()
    assert html.count("<h1") == 1 and '<h1 id="guestpay-status-title">Payment received' in html
    assert "<title>Merci" in html
    # Opened directly (no order), it is an ordinary page with its title.
    direct = client.get(success.url).content.decode()
    assert "<h1>Merci</h1>" in direct and "guestpay-status-title" not in direct


def test_default_result_page_when_none_is_chosen_shows_merchant_contacts(client, offer):
    site = Site.objects.get(is_default_site=True)
    merchant = MerchantContacts.for_site(site)
    merchant.phone = "+33 1 00 00 00 00"
    merchant.save()
    path, _charge = return_path(client, offer)
    page = client.get(path)
    assert b"+33 1 00 00 00 00" in page.content
    assert b"<h1" in page.content


def test_pending_page_says_where_the_email_will_go(client, offer, testpay, run_on_commit):
    path, _charge = return_path(client, offer)
    testpay.notify(Order.objects.get().payments.get(), "pending", email="soon@example.com")
    page = client.get(path)
    assert b"being confirmed" in page.content
    assert b"will go to <strong>soon@example.com</strong>" in page.content

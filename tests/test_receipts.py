"""Receipts: one per paid order with a number per site that never skips or repeats, kept after a
refund; shown to the order's signed-in owner and through the access e-mail's signed, expiring
link; nobody else sees one (404, never a 500); printable.

The concurrency of the numbering (20 payments at once) is in tests/concurrency/test_receipts.py.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.core import signing
from django.db import transaction
from django.test import Client
from django.urls import reverse
from wagtail.models import Page, Site

import wagtail_guestpay
from tests.conftest import order_of
from tests.factories import OfferFactory, UserFactory
from tests.staff.conftest import staff_user
from wagtail_guestpay.fulfilment import receipts as receipt_numbers
from wagtail_guestpay.fulfilment.receipts import (
    LINK_SALT,
    issue_receipt,
    receipt_from_token,
    receipt_link_token,
)
from wagtail_guestpay.models import (
    MerchantContacts,
    Order,
    OrderStatus,
    Payment,
    Receipt,
    ReceiptCounter,
    ReceiptSettings,
    Refund,
    RefundStatus,
)

pytestmark = pytest.mark.django_db

RECEIPT_LINK = re.compile(r"https?://[^\s\"<>]+/guestpay/receipt/[^\s\"<>/]+/")


@pytest.fixture
def seller(db):
    site = Site.objects.get(is_default_site=True)
    return ReceiptSettings.objects.create(
        site=site,
        legal_name="Ecole Exemple SARL",
        address="1 rue de la Paix\n75002 Paris",
        tax_id="FR12345678901",
        footer="TVA non applicable, art. 293 B du CGI",
    )


@pytest.fixture
def paid(offer, testpay, run_on_commit):
    """``paid(email)``: a buyer clicked Pay and the payment system said "paid"."""

    def make(email="buyer@example.com"):
        _order, payment, _charge = testpay.start(offer, client=Client())
        testpay.notify(payment, "paid", email=email)
        return order_of(payment)

    return make


def receipt_link_in(message):
    match = RECEIPT_LINK.search(message.body)
    assert match, message.body
    return match.group(0)


def path_of(url):
    return "/" + url.split("/", 3)[3]


# Numbers -------------------------------------------------------------------------------------
def test_paid_orders_get_consecutive_numbers_formatted_by_the_site_setting(paid, seller):
    seller.number_prefix = "R-"
    seller.save()
    first, second = paid("a@example.com"), paid("b@example.com")

    numbers = [first.receipt, second.receipt]
    assert [receipt.sequence for receipt in numbers] == [1, 2]
    year = first.paid_at.year
    assert [receipt.number for receipt in numbers] == [f"R-{year}-000001", f"R-{year}-000002"]
    assert first.receipt.amount == Decimal("49.00") and first.receipt.currency == "EUR"
    assert first.receipt.payment_system == "test"
    assert first.receipt.merchant["tax_id"] == "FR12345678901"


def test_an_unpaid_order_gets_no_number_and_does_not_use_one(offer, testpay, paid, run_on_commit):
    _order, declined, _charge = testpay.start(offer)
    assert testpay.notify(declined, "declined").status_code == 200
    _order, pending, _charge = testpay.start(offer, client=Client())
    assert testpay.notify(pending, "pending").status_code == 200
    _order, mismatch, _charge = testpay.start(offer, client=Client())
    # held for review: the amount does not match
    testpay.notify(mismatch, "paid", email="m@example.com", amount="1.00")

    statuses = [OrderStatus.FAILED, OrderStatus.PENDING, OrderStatus.ON_HOLD]
    for payment, status in zip((declined, pending, mismatch), statuses, strict=True):
        order = order_of(payment)
        assert order.status == status
        assert not Receipt.objects.filter(order=order).exists()
    assert issue_receipt(order_of(pending)) is None
    assert paid("late@example.com").receipt.sequence == 1


def test_each_site_counts_on_its_own(paid, offer, testpay):
    other = Site.objects.create(
        hostname="other.example.com", root_page=Page.objects.get(depth=1), site_name="Other"
    )
    here = [paid(f"{n}@example.com") for n in range(2)]
    _order, payment, _charge = testpay.start(offer, client=Client())
    payment.order.site = other
    payment.order.save(update_fields=["site"])
    testpay.notify(payment, "paid", email="there@example.com")
    there = order_of(payment)
    there.refresh_from_db()

    assert [order.receipt.sequence for order in here] == [1, 2]
    assert there.receipt.sequence == 1 and there.receipt.site == other
    assert there.receipt.series != here[0].receipt.series
    assert ReceiptCounter.objects.get(series=there.receipt.series).last_number == 1


def test_a_payment_rolled_back_gives_its_number_back(paid, offer, testpay):
    _order, payment, _charge = testpay.start(offer, client=Client())
    order = order_of(payment)
    with mock.patch(
        "wagtail_guestpay.fulfilment.confirmation.fulfil_order", side_effect=RuntimeError("boom")
    ):
        testpay.notify(payment, "paid", email="first@example.com")  # the task fails, rolls back
    order.refresh_from_db()
    assert order.status != OrderStatus.PAID
    assert not Receipt.objects.filter(order=order).exists()

    assert paid("second@example.com").receipt.sequence == 1


def test_the_number_stays_after_a_refund_which_the_receipt_shows(paid, testpay, client, seller):
    order = paid("buyer@example.com")
    number = order.receipt.number
    testpay.notify(order.payments.get(), "refunded")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert Receipt.objects.get(order=order).number == number
    assert paid("next@example.com").receipt.sequence == 2

    client.force_login(order.user)
    page = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert number in html and "Refunded on" in html and "−49.00" in html


def test_the_refund_email_links_the_receipt_that_shows_the_refund(paid, testpay, outbox):
    order = paid("buyer@example.com")
    outbox.clear()
    testpay.notify(order.payments.get(), "refunded")
    [message] = [m for m in outbox if m.to == ["buyer@example.com"]]
    assert "We refunded" in message.body
    html = Client().get(path_of(receipt_link_in(message))).content.decode()
    assert order.receipt.number in html and "Refunded on" in html


def test_a_partial_refund_done_from_the_admin_shows_its_amount(paid, client):
    order = paid("buyer@example.com")
    Refund.objects.create(
        order=order,
        payment=order.payments.get(),
        amount=Decimal("10.00"),
        currency="EUR",
        status=RefundStatus.DONE,
        reason="Late",
        form_key="k1",
    )
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])).content
    assert "Refunded on" in html.decode() and "−10.00" in html.decode()


def test_number_format_without_year_and_its_padding(seller):
    seller.number_prefix, seller.number_with_year, seller.number_digits = "INV", False, 4
    assert seller.format_number(7, 2026) == "INV0007"
    seller.number_with_year = True
    assert seller.format_number(12345, 2027) == "INV2027-12345"


def test_issue_receipt_twice_keeps_the_first(paid):
    order = paid()
    with transaction.atomic():
        again = issue_receipt(order)
    assert again.pk == order.receipt.pk
    assert ReceiptCounter.objects.get().last_number == 1


# What it shows -------------------------------------------------------------------------------
def test_the_receipt_shows_seller_buyer_sale_and_payment_system(paid, client, seller):
    order = paid("buyer@example.com")
    client.force_login(order.user)

    response = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    for text in (
        "Ecole Exemple SARL",
        "75002 Paris",
        "FR12345678901",
        "TVA non applicable",
        order.receipt.number,
        order.number,
        "buyer@example.com",
        order.offer.title,
        "49.00",
        "EUR",
        "Test provider",
        'class="guestpay-receipt"',
        "data-guestpay-print",
    ):
        assert text in html, text


def test_the_seller_of_the_day_stays_on_issued_receipts(paid, client, seller):
    order = paid()
    seller.legal_name = "New Name SAS"
    seller.save()
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])).content
    assert b"Ecole Exemple SARL" in html and b"New Name SAS" not in html


def test_without_receipt_settings_the_merchant_contacts_name_and_address_are_used(paid, client):
    site = Site.objects.get(is_default_site=True)
    MerchantContacts.objects.create(site=site, name="Shop Ltd", address="2 High Street")
    order = paid()
    assert order.receipt.merchant["legal_name"] == "Shop Ltd"
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])).content
    assert b"Shop Ltd" in html and b"2 High Street" in html
    assert not ReceiptSettings.objects.exists()  # the payment created no settings row


def test_the_personal_area_links_each_receipt(paid, client):
    order = paid()
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:account")).content.decode()
    assert reverse("wagtail_guestpay:receipt", args=[order.receipt.pk]) in html
    assert order.receipt.number in html


def test_the_print_stylesheet_leaves_only_the_receipt():
    css = (
        Path(wagtail_guestpay.__file__).parent / "static/wagtail_guestpay/guestpay.css"
    ).read_text()
    print_rules = css.split("@media print", 1)[1]
    assert ":not(.guestpay-receipt *)" in print_rules and "display: none" in print_rules
    assert ".guestpay-receipt__actions" in print_rules


# Who sees it ---------------------------------------------------------------------------------
def test_the_access_email_has_a_receipt_link_that_works_without_signing_in(paid, outbox):
    order = paid("buyer@example.com")
    [message] = [m for m in outbox if m.to == ["buyer@example.com"]]
    url = receipt_link_in(message)
    assert "Receipt:" in message.body
    assert url in message.alternatives[0][0]

    response = Client().get(path_of(url))

    html = response.content.decode()
    assert response.status_code == 200
    assert order.receipt.number in html and "buyer@example.com" in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Back to my purchases" not in html  # nothing but the receipt


def test_an_existing_accounts_access_email_has_the_link_too(paid, user, outbox):
    paid("existing@example.com")
    [message] = [m for m in outbox if m.to == ["existing@example.com"]]
    assert Client().get(path_of(receipt_link_in(message))).status_code == 200


def test_another_buyer_sees_no_receipt_of_others(paid, client):
    mine, theirs = paid("me@example.com"), paid("them@example.com")
    client.force_login(mine.user)
    assert (
        client.get(reverse("wagtail_guestpay:receipt", args=[mine.receipt.pk])).status_code == 200
    )
    response = client.get(reverse("wagtail_guestpay:receipt", args=[theirs.receipt.pk]))
    assert response.status_code == 404
    assert b"them@example.com" not in response.content


def test_an_anonymous_visitor_is_sent_to_sign_in(paid):
    order = paid()
    url = reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])
    response = Client().get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("wagtail_guestpay:login")) and "next=" in response.url


@pytest.mark.parametrize(
    "receipt_id", ["0", "999999", "99999999999999999999999999", "-1", "abc", "1%00"]
)
def test_odd_receipt_ids_answer_404(paid, client, receipt_id):
    client.force_login(paid().user)
    assert client.get(f"/guestpay/account/receipts/{receipt_id}/").status_code == 404


def test_forged_expired_and_odd_tokens_answer_404(paid, settings):
    order = paid()
    good = receipt_link_token(order.receipt)
    other = paid("other@example.com")
    forged_payload = signing.dumps({"r": other.receipt.pk, "e": "0" * 20}, salt=LINK_SALT)
    wrong_key = signing.dumps({"r": order.receipt.pk}, salt=LINK_SALT, key="not-the-secret-key-x")
    tokens = [
        good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb"),
        forged_payload,
        wrong_key,
        signing.dumps({"r": "1"}, salt=LINK_SALT),
        signing.dumps([1, 2], salt=LINK_SALT),
        "x" * 5000,
        "%00",
        "..",
    ]
    for token in tokens:
        response = Client().get(f"/guestpay/receipt/{token}/")
        assert response.status_code == 404, token
        assert b'guestpay-receipt"' not in response.content

    assert Client().get(f"/guestpay/receipt/{good}/").status_code == 200
    settings.WAGTAIL_GUESTPAY_RECEIPT_LINK_MAX_AGE = timedelta(seconds=-1)
    assert Client().get(f"/guestpay/receipt/{good}/").status_code == 404


def test_the_link_stops_working_when_the_orders_email_is_corrected(paid):
    order = paid("mistyped@example.com")
    token = receipt_link_token(order.receipt)
    assert receipt_from_token(token) == order.receipt
    order.email = "right@example.com"
    order.save(update_fields=["email"])
    assert receipt_from_token(token) is None
    assert Client().get(f"/guestpay/receipt/{token}/").status_code == 404


def test_the_token_carries_no_address(paid):
    order = paid("buyer@example.com")
    token = receipt_link_token(order.receipt)
    payload = signing.loads(token, salt=LINK_SALT)
    assert "buyer" not in str(payload) and "@" not in str(payload)


def test_only_get_is_answered(paid, client):
    order = paid()
    client.force_login(order.user)
    url = reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])
    assert client.post(url).status_code == 405


def test_a_buyer_from_another_account_with_the_link_sees_only_the_receipt(paid, outbox):
    order = paid("buyer@example.com")
    [message] = [m for m in outbox if m.to == ["buyer@example.com"]]
    stranger = Client()
    stranger.force_login(UserFactory(email="stranger@example.com"))
    response = stranger.get(path_of(receipt_link_in(message)))
    assert response.status_code == 200
    assert order.receipt.number in response.content.decode()
    # The link opened the receipt, not the buyer's account.
    assert stranger.get(reverse("wagtail_guestpay:account")).context["account_email"] == (
        "stranger@example.com"
    )


def test_receipt_numbers_for_an_order_without_site_use_the_default_sites(paid, offer, testpay):
    _order, payment, _charge = testpay.start(offer, client=Client())
    payment.order.site = None
    payment.order.save(update_fields=["site"])
    first = paid()
    testpay.notify(payment, "paid", email="nosite@example.com")
    no_site = order_of(payment)
    assert no_site.receipt.series == first.receipt.series
    assert no_site.receipt.sequence == 2


def test_a_free_order_made_paid_directly_gets_a_receipt_too(db):
    """A free order (amount 0, no payment system) is paid without any payment: its path calls
    issue_receipt in its transaction."""
    offer = OfferFactory()
    order = Order(offer=offer, amount=Decimal("0"), currency="EUR", status=OrderStatus.PAID)
    order.new_token()
    order.save()
    with transaction.atomic():
        receipt = issue_receipt(order)
    assert receipt.sequence == 1 and receipt.amount == 0
    assert receipt.payment_system == "" and str(receipt.payment_system_display) == "None (free)"
    assert receipt_numbers.series_for(Site.objects.get(is_default_site=True)) == receipt.series


def test_staff_see_the_receipt_number_on_the_transaction(paid, client):
    order = paid()
    client.force_login(staff_user("viewer", "view_transactions"))
    url = reverse("guestpay_transactions_modeladmin_inspect", args=[order.pk])
    html = client.get(url).content.decode()
    assert order.receipt.number in html


def test_a_free_order_granted_through_the_free_path_gets_a_receipt(db, run_on_commit):
    """Runs once free offers (branch `free-offers`, fulfilment/free.py) are merged: their
    settle_free_order must issue the receipt in its transaction, as sync_order_status does."""
    free = pytest.importorskip("wagtail_guestpay.fulfilment.free")
    offer = OfferFactory(price=Decimal("0"), guest_payment=True)
    paid_before = Receipt.objects.count()

    grant = free.grant_free_order(offer, "free@example.com", key="receipt-test")

    receipt = Receipt.objects.get(order=grant.order)
    assert receipt.sequence == paid_before + 1 and receipt.amount == 0
    assert receipt.payment_system == ""


def test_a_coupon_on_the_receipt_shows_the_price_the_code_and_the_discount(paid, client):
    order = paid()
    Receipt.objects.filter(pk=order.receipt.pk).update(
        coupon_code="WELCOME10", discount=Decimal("4.90"), amount=Decimal("44.10")
    )
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])).content
    html = html.decode()
    assert "49.00 EUR" in html  # the offer's price
    assert "Coupon WELCOME10" in html and "−4.90 EUR" in html
    assert "44.10 EUR" in html  # what was paid


def test_an_order_paid_with_a_coupon_has_it_on_its_receipt(offer, testpay, run_on_commit):
    """Runs once coupons (branch `coupons`, models/coupons.py) are merged: the order's
    redemption is copied on the receipt when it is issued."""
    coupons = pytest.importorskip("wagtail_guestpay.models.coupons")
    coupons.Coupon.objects.create(code="WELCOME10", kind="percent", percent_off=Decimal("10"))
    assert testpay.client.get(f"{offer.get_pay_path()}?coupon=WELCOME10").status_code == 303
    payment = Payment.objects.order_by("-pk").first()
    testpay.notify(payment, "paid", email="coupon@example.com")

    receipt = Receipt.objects.get(order_id=payment.order_id)
    assert receipt.coupon_code == "WELCOME10"
    assert receipt.discount == Decimal("4.90") and receipt.amount == Decimal("44.10")


def test_a_receipt_issued_before_any_details_were_filled_shows_todays(paid, client):
    order = paid()
    assert not any(order.receipt.merchant.values())
    ReceiptSettings.objects.create(
        site=Site.objects.get(is_default_site=True), legal_name="Filled Later SAS", tax_id="X1"
    )
    client.force_login(order.user)
    html = client.get(reverse("wagtail_guestpay:receipt", args=[order.receipt.pk])).content
    assert b"Filled Later SAS" in html and b"X1" in html

"""A buyer's receipt in Chromium (paid with the demo's WELCOME10 coupon): the access e-mail's
receipt link opens it without signing in, it fits 1280 and 390 px (screenshots in
tests/browser/screenshots/), printed it leaves out the site's header, menus and buttons, and the
owner, signed in, opens it from "My purchases"."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_buyer_accounts import SHOTS, shoot
from tests.browser.test_guest_flow import pay_on_testpay

pytestmark = pytest.mark.browser


def test_the_receipt_link_of_the_access_email_shows_a_printable_receipt(sandbox, page):
    email = f"receipt-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(sandbox.url + "/guestpay/pay/demo-course/?coupon=WELCOME10")  # 10 % off
    pay_on_testpay(page, "Pay (card, e-mail returned)", email)
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    message = sandbox.wait_for_mail(email)[0]
    assert "Receipt:" in sandbox.text_of(message)
    link = sandbox.link_in(message, "/guestpay/receipt/")

    reader = page.context.browser.new_context().new_page()  # not signed in: a forwarded e-mail
    reader.goto(link)

    receipt = reader.locator(".guestpay-receipt")
    expect(reader.get_by_role("heading", name="Receipt ")).to_be_visible()
    for text in (
        "Guestpay Sandbox Academy SAS",
        "FR00 123456789",
        email,
        "Demo course",
        "49.00 EUR",  # the price
        "Coupon WELCOME10",
        "−4.90 EUR",
        "44.10 EUR",  # paid
    ):
        expect(receipt.get_by_text(text, exact=False).first).to_be_visible()
    expect(receipt.get_by_text("Demo receipt: no real money was taken.")).to_be_visible()
    print_button = reader.get_by_role("button", name="Print")
    expect(print_button).to_be_visible()
    expect(reader.get_by_role("banner")).to_be_visible()  # the site's header, on screen
    shoot(reader, "receipt")

    reader.emulate_media(media="print")
    expect(receipt).to_be_visible()
    expect(reader.get_by_role("heading", name="Receipt ")).to_be_visible()
    expect(reader.get_by_role("banner")).to_be_hidden()
    expect(print_button).to_be_hidden()
    reader.screenshot(path=str(SHOTS / "receipt-print.png"), full_page=True)
    reader.context.close()

    # The owner, once the account is open, finds it in "My purchases".
    page.goto(sandbox.link_in(message, "/guestpay/access/"))
    page.get_by_role("button", name="Continue to my account").click()
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password again").fill("a-long-passphrase-9")
    page.get_by_label("Full name").fill("Receipt Owner")
    page.get_by_role("button", name="Open my personal area").click()
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    shoot(page, "personal-area-receipts")
    page.get_by_role("link", name="Receipt ").click()
    expect(page.get_by_role("heading", name="Receipt ")).to_be_visible()
    expect(page.get_by_role("link", name="Back to my purchases")).to_be_visible()
    expect(page.locator(".guestpay-receipt").get_by_text(email)).to_be_visible()

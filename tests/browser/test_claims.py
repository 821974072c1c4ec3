"""The wallet case in Chromium: paid with Google Pay / Apple Pay (no e-mail returned), the buyer
claims the order from the success page with a code e-mailed to them, then follows the access
e-mail to the personal area. No staff action anywhere."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_guest_flow import pay_on_testpay

pytestmark = pytest.mark.browser


def test_wallet_payment_is_claimed_from_the_success_page_with_a_code(sandbox, page):
    local = f"wallet-{uuid.uuid4().hex[:8]}"
    email = f"{local}@gmail.com"
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Pay with Google Pay / Apple Pay (no e-mail returned)")

    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_role("heading", name="Where should we send your access?")).to_be_visible()

    # A mistyped domain gets a hint as the buyer types (email-typo.js), in a live region.
    field = page.get_by_label("Your e-mail address")
    field.fill(f"{local}@gmial.com")
    field.blur()
    hint = page.locator(".guestpay-typo-hint[aria-live=polite]")
    expect(hint).to_contain_text(f"Did you mean {email}?")
    hint.get_by_role("button", name=f"Use {email}").click()
    expect(field).to_have_value(email)
    page.get_by_role("button", name="Send me a code").click()

    expect(page.get_by_role("heading", name="Enter the code we e-mailed you")).to_be_visible()
    message = sandbox.wait_for_mail(email)[0]
    code = re.search(r"Your code: (\d{6})", sandbox.text_of(message)).group(1)
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Address confirmed")).to_be_visible()
    expect(page.get_by_text(f"We sent a link to your purchase to {email}")).to_be_visible()

    access = sandbox.wait_for_mail(email, count=2)[1]
    page.goto(sandbox.link_in(access, "/guestpay/access/"))
    page.get_by_role("button", name="Continue to my account").click()
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password again").fill("a-long-passphrase-9")
    page.get_by_label("Full name").fill("Wallet Buyer")
    page.get_by_role("button", name="Open my personal area").click()

    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    expect(page.get_by_role("link", name="Open Demo course")).to_be_visible()
    assert sandbox.messages_to(f"{local}@gmial.com") == []


def test_mistyped_email_is_corrected_from_the_success_page(sandbox, page):
    local = f"typo-{uuid.uuid4().hex[:8]}"
    wrong, right = f"{local}@example.con", f"{local}@example.com"
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Pay (card, e-mail returned)", wrong)
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    sandbox.wait_for_mail(wrong)

    page.get_by_text("Not your address? Change it").click()
    page.get_by_label("Your e-mail address").fill(right)
    page.get_by_role("button", name="Send me a code").click()
    code = re.search(r"Your code: (\d{6})", sandbox.text_of(sandbox.wait_for_mail(right)[0]))
    page.get_by_label("Code from the e-mail").fill(code.group(1))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Address confirmed")).to_be_visible()
    access = sandbox.wait_for_mail(right, count=2)[1]
    assert "/guestpay/access/" in sandbox.text_of(access)
    assert len(sandbox.messages_to(wrong)) == 1  # the first access e-mail, nothing more
    # The wrong address's link no longer opens anything.
    page.goto(sandbox.link_in(sandbox.messages_to(wrong)[0], "/guestpay/access/"))
    expect(page.get_by_role("heading", name="This link cannot be used any more")).to_be_visible()

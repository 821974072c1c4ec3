"""A visitor gets the demo's free guide (price 0, no payment system) in Chromium, as a person
would: home page's pay block "Get it free" -> e-mail form -> e-mailed code -> order page ->
access e-mail's link -> password -> personal area. Screenshots at 1280 and 390 px go to
tests/browser/screenshots/."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_buyer_accounts import code_of, shoot

pytestmark = pytest.mark.browser


def test_a_guest_gets_the_free_guide_from_the_pay_block_to_the_personal_area(sandbox, page):
    email = f"free-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(sandbox.url + "/")
    page.get_by_role("link", name="Get it free").click()
    expect(page).to_have_url(sandbox.url + "/guestpay/pay/free-guide/")
    expect(page.get_by_role("heading", name="Get Free guide free")).to_be_visible()
    shoot(page, "free-offer-email")

    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_role("button", name="Send me the code").click()
    expect(
        page.get_by_role("heading", name=f"Enter the code we e-mailed to {email}")
    ).to_be_visible()
    code = code_of(sandbox, sandbox.wait_for_mail(email)[0])
    page.get_by_label("Code from the e-mail").fill(code)
    shoot(page, "free-offer-code")
    page.get_by_role("button", name="Get it free").click()

    expect(page.get_by_role("heading", name="It is yours, thank you!")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    shoot(page, "free-offer-done")

    access = sandbox.wait_for_mail(email, count=2)[1]
    assert "Here is Free guide, free." in sandbox.text_of(access)
    page.goto(sandbox.link_in(access, "/guestpay/access/"))
    page.get_by_role("button", name="Continue to my account").click()
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password again").fill("a-long-passphrase-9")
    page.get_by_label("Full name").fill("Free Reader")
    page.get_by_role("button", name="Open my personal area").click()

    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    expect(page.get_by_role("cell", name="Free", exact=True)).to_be_visible()
    shoot(page, "free-offer-personal-area")
    page.get_by_role("link", name="Open Free guide").click()
    expect(page.get_by_text("Why buyers hate registration forms.")).to_be_visible()

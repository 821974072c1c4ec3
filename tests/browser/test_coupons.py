"""A buyer follows a newsletter's link with a coupon, in Chromium: /guestpay/pay/demo-course/
?coupon=WELCOME10 -> TestPay for 44.10 EUR -> paid. A mistyped code shows why beside the full
price, and another code typed there goes on to the payment. Screenshots at 1280 and 390 px go to
tests/browser/screenshots/ (git-ignored)."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_buyer_accounts import shoot
from tests.browser.test_guest_flow import pay_on_testpay

pytestmark = pytest.mark.browser


def test_the_direct_link_with_welcome10_pays_44_10_eur(sandbox, page):
    email = f"coupon-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(sandbox.url + "/guestpay/pay/demo-course/?coupon=WELCOME10")
    expect(page.get_by_role("heading", name="44.10 EUR")).to_be_visible()
    shoot(page, "coupon-testpay")

    pay_on_testpay(page, "Pay (card, e-mail returned)", email)
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    assert len(sandbox.wait_for_mail(email)) == 1


def test_a_mistyped_code_shows_why_and_the_full_price_then_another_code_works(sandbox, page):
    page.goto(sandbox.url + "/guestpay/pay/demo-course/?coupon=WELCOME1")
    expect(page.get_by_role("alert")).to_have_text("“WELCOME1” is not a valid coupon code.")
    expect(page.get_by_text("Full price:")).to_contain_text("49.00")
    pay_full = page.get_by_role("link", name="Pay 49.00 EUR")
    expect(pay_full).to_have_attribute("href", "/guestpay/pay/demo-course/")
    shoot(page, "coupon-refused")

    page.get_by_label("Another coupon code").fill("welcome10")
    page.get_by_role("button", name="Apply and pay").click()
    expect(page.get_by_role("heading", name="44.10 EUR")).to_be_visible()


def test_the_offer_pages_coupon_field(sandbox, page):
    """With the gear's "Coupon code field" on, the offer page asks for a code beside Pay."""
    toggle = "from wagtail_guestpay.models import Offer; Offer.objects.filter(slug='demo-course')"
    sandbox.manage("shell", "-c", f"{toggle}.update(coupon_field=True)")
    try:
        page.goto(sandbox.url + "/demo-course/")
        field = page.get_by_label("Coupon code (optional)")
        expect(field).to_be_visible()
        field.fill("WELCOME10")
        shoot(page, "coupon-offer-page")
        page.get_by_role("button", name="Pay 49.00 EUR").click()
        expect(page.get_by_role("heading", name="44.10 EUR")).to_be_visible()
    finally:
        sandbox.manage("shell", "-c", f"{toggle}.update(coupon_field=False)")

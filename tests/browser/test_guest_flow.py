"""A visitor buys the demo course without an account, as a person would, in Chromium: offer page
-> Pay -> TestPay -> result page -> e-mailed link -> button -> password -> personal area."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def unique_email(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def pay_on_testpay(page, outcome_label, email=""):
    expect(page.get_by_text("TestPay: a test payment system")).to_be_visible()
    if email:
        page.get_by_label("E-mail for the receipt").fill(email)
    page.get_by_role("button", name=outcome_label).click()


def test_guest_buys_the_demo_course_and_reaches_the_personal_area(sandbox, page):
    email = unique_email("guest")
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()

    pay_on_testpay(page, "Pay (card, e-mail returned)", email)

    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_text(email)).to_be_visible()
    expect(page.get_by_text("help@localhost").first).to_be_visible()

    message = sandbox.wait_for_mail(email)[0]
    link = sandbox.link_in(message, "/guestpay/access/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Open your account")).to_be_visible()
    page.get_by_role("button", name="Continue to my account").click()

    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password again").fill("a-long-passphrase-9")
    page.get_by_label("Full name").fill("Browser Buyer")
    page.get_by_role("button", name="Open my personal area").click()

    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    page.get_by_role("link", name="Open Demo course").click()
    expect(page.get_by_text("Welcome to the course!")).to_be_visible()

    # The link was single-use: a second visit offers a new one instead.
    second = page.context.browser.new_context().new_page()
    second.goto(link)
    expect(second.get_by_role("heading", name="This link cannot be used any more")).to_be_visible()


def test_pending_payment_page_updates_itself_when_confirmed_later(sandbox, page, admin_password):
    email = unique_email("pending")
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Pay, the bank confirms later (pending)", email)
    expect(page.get_by_role("heading", name="Your payment is being confirmed")).to_be_visible()
    assert sandbox.messages_to(email) == []

    staff = page.context.browser.new_context().new_page()
    staff.goto(sandbox.url + "/admin/login/")
    staff.get_by_label("Username").fill("admin")
    staff.get_by_label("Password").fill(admin_password)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(sandbox.url + "/guestpay/test-provider/")
    row = staff.get_by_role("row").filter(has_text=email)
    row.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=30_000
    )
    assert len(sandbox.wait_for_mail(email)) == 1


def test_members_only_link_is_404_for_anonymous_visitors_and_asks_to_register(sandbox, page):
    assert httpx.get(sandbox.url + "/guestpay/pay/members-only/").status_code == 404
    page.goto(sandbox.url + "/members-only/")
    page.get_by_role("link", name="Pay 19.00 EUR").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    email = unique_email("member")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill("a-long-passphrase-9")
    page.get_by_label("Password again").fill("a-long-passphrase-9")
    page.get_by_label("Full name").fill("Member Buyer")
    page.get_by_role("button", name="Continue").click()
    # The address is confirmed with a code e-mailed to it (the worker sends it).
    expect(
        page.get_by_role("heading", name=f"Enter the code we e-mailed to {email}")
    ).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Log in")).to_have_attribute(
        "href", "/guestpay/login/?next=%2Fguestpay%2Fpay%2Fmembers-only%2F"
    )
    message = sandbox.wait_for_mail(email)[0]
    code = re.search(r"Your code: (\d{6})", sandbox.text_of(message)).group(1)
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Create my account and pay").click()
    pay_on_testpay(page, "Pay (card, e-mail returned)", email)
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    # Logged in now (they registered) and holding what it sells, the direct link no longer asks
    # for a payment: it opens what they bought.
    page.goto(sandbox.url + "/guestpay/pay/members-only/")
    expect(page.get_by_text("You have this:")).to_be_visible()
    expect(page.get_by_text("TestPay: a test payment system")).to_have_count(0)


def test_a_declined_card_says_the_payment_did_not_go_through(sandbox, page):
    """Declined is not "you left the payment page" (issue 13): the payment system's answer."""
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Card declined")
    expect(page.get_by_role("heading", name="The payment did not go through")).to_be_visible(
        timeout=20_000
    )
    expect(page.get_by_text("Nothing was charged for this attempt.")).to_be_visible()
    expect(page.get_by_text("You left the payment page")).to_have_count(0)
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_leaving_the_payment_page_says_so(sandbox, page):
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Cancel and return to the shop")
    expect(page.get_by_role("heading", name="The payment was not completed")).to_be_visible()
    expect(page.get_by_text("You left the payment page before paying.")).to_be_visible()

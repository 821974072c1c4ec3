"""A returning buyer in Chromium: signs in with an e-mailed code (and with the one-click link),
signs out, resets a forgotten password, and signs in with it. Screenshots of the account pages at
1280 and 390 px go to tests/browser/screenshots/ (git-ignored: look at them), and no public page
of the demo scrolls sideways on a 390 px phone."""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_guest_flow import pay_on_testpay

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


def shoot(page, name):
    """Screenshots at both widths; at 390 px the page must not scroll sideways."""
    SHOTS.mkdir(exist_ok=True)
    for label, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    assert_no_sideways_scroll(page, name)
    page.set_viewport_size(DESKTOP)


def assert_no_sideways_scroll(page, name):
    page.set_viewport_size(PHONE)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name} scrolls sideways at 390 px: {widths}"


def code_of(sandbox, message):
    return re.search(r"Your code: (\d{6})", sandbox.text_of(message)).group(1)


def test_a_buyer_signs_in_with_a_code_resets_the_password_and_pages_fit_a_phone(sandbox, page):
    email = f"returning-{uuid.uuid4().hex[:8]}@example.com"
    page.set_viewport_size(DESKTOP)
    page.goto(sandbox.url + "/demo-course/")
    assert_no_sideways_scroll(page, "offer page")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Pay (card, e-mail returned)", email)
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=20_000
    )
    assert_no_sideways_scroll(page, "result page")
    sandbox.wait_for_mail(email)  # the access e-mail: the buyer never sets a password from it
    page.goto(sandbox.url + "/thank-you/")
    expect(page.get_by_text("This page is shown after a payment")).to_be_visible()
    assert_no_sideways_scroll(page, "result page opened directly")

    # The header's "Log in" comes back to the page it was pressed on.
    page.set_viewport_size(DESKTOP)
    page.goto(sandbox.url + "/demo-course-lessons/")
    page.get_by_role("banner").get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    shoot(page, "login")
    by_code = page.get_by_role("region", name="With a code by e-mail")
    by_code.get_by_label("E-mail").fill(email)
    by_code.get_by_role("button", name="E-mail me a sign-in code").click()
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    shoot(page, "login-code")
    message = sandbox.wait_for_mail(email, count=2)[1]
    page.get_by_label("Code from the e-mail").fill(code_of(sandbox, message))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Welcome to the course!")).to_be_visible()  # back where it started

    page.goto(sandbox.url + "/guestpay/account/")
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    expect(page.get_by_role("link", name="Open Demo course")).to_be_visible()
    shoot(page, "personal-area")
    page.get_by_role("link", name="Set a password").click()
    shoot(page, "password-set")
    page.goto(sandbox.url + "/guestpay/account/email/")
    shoot(page, "email-change")

    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()

    # The one-click link: the GET shows a button, the POST signs in.
    page.goto(sandbox.url + "/guestpay/login/")
    by_code = page.get_by_role("region", name="With a code by e-mail")
    by_code.get_by_label("E-mail").fill(email)
    by_code.get_by_role("button", name="E-mail me a sign-in code").click()
    link = sandbox.link_in(sandbox.wait_for_mail(email, count=3)[2], "/guestpay/login/link/")
    page.goto(link)
    shoot(page, "login-link")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    page.goto(link)
    expect(
        page.get_by_role("heading", name="This sign-in link cannot be used any more")
    ).to_be_visible()

    # Forgot the password (never set one): reset, then sign in with it.
    page.goto(sandbox.url + "/guestpay/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    shoot(page, "password-reset")
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    shoot(page, "password-reset-done")
    reset = sandbox.link_in(sandbox.wait_for_mail(email, count=4)[3], "/guestpay/password-reset/")
    page.goto(reset)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    shoot(page, "password-reset-confirm")
    page.get_by_label("New password", exact=True).fill("a-fresh-passphrase-4")
    page.get_by_label("New password confirmation").fill("a-fresh-passphrase-4")
    page.get_by_role("button", name="Save my password").click()
    expect(page.get_by_role("heading", name="Your new password is saved")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    by_password = page.get_by_role("region", name="With your password")
    by_password.get_by_label("E-mail").fill(email)
    by_password.get_by_label("Password").fill("a-fresh-passphrase-4")
    by_password.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    assert_no_sideways_scroll(page, "personal area")


def test_the_claim_page_fits_a_phone(sandbox, page):
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    pay_on_testpay(page, "Pay with Google Pay / Apple Pay (no e-mail returned)")
    expect(page.get_by_role("heading", name="Where should we send your access?")).to_be_visible(
        timeout=20_000
    )
    shoot(page, "claim")

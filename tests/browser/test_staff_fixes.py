"""Staff fix a wallet payment that came without an e-mail, in Chromium, from the buyer's click to
the access e-mail in the sandbox's mail folder: TestPay "Google Pay / Apple Pay" -> the order is
found in Transactions and in the dashboard's "Needs attention" panel -> Correct the e-mail ->
the buyer's access e-mail exists."""

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in_as_admin(page, sandbox, password):
    page.goto(sandbox.url + "/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()


def test_staff_correct_a_wallet_payment_without_email(sandbox, page, admin_password):
    marker = uuid.uuid4().hex[:8]
    payer = f"Wallet Buyer {marker}"
    real_email = f"wallet-{marker}@example.com"

    # The buyer pays with a wallet that passes no e-mail.
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    expect(page.get_by_text("TestPay: a test payment system")).to_be_visible()
    page.get_by_label("Name on the card").fill(payer)
    page.get_by_role("button", name="Pay with Google Pay / Apple Pay (no e-mail returned)").click()
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=30_000
    )

    # Staff find the order in Transactions by the payer's name.
    staff = page.context.browser.new_context(locale="en-US").new_page()
    staff.set_default_timeout(15_000)
    log_in_as_admin(staff, sandbox, admin_password)
    staff.goto(sandbox.url + "/admin/guestpay/transactions/?q=" + marker)
    rows = staff.locator("table.listing tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("placeholder")
    number = re.search(r"GP-\d{6}", rows.first.inner_text()).group(0)
    rows.first.get_by_role("link", name=number).click()
    expect(staff.get_by_text("No e-mail from the payment system").first).to_be_visible()
    placeholder = re.search(r"[0-9a-f]{16}@[\w.-]+", staff.content()).group(0)

    # The same order waits in the dashboard panel, whose line links to the fix.
    staff.goto(sandbox.url + "/admin/")
    panel = staff.locator("#guestpay-needs-attention-content")
    expect(
        panel.get_by_role("heading", name=re.compile("No e-mail from the payment system"))
    ).to_be_visible()
    fix_link = panel.get_by_role("link", name=re.compile(re.escape(number)))
    if fix_link.count():
        expect(fix_link).to_have_text(re.compile("^Correct the e-mail"))
        fix_link.click()
    else:  # more than five cases wait: the panel shows the oldest and links to all of them
        expect(panel.get_by_role("link", name=re.compile("See all"))).to_be_visible()
        staff.goto(sandbox.url + f"/admin/guestpay/orders/{int(number[3:])}/correct-email/")

    # Correct the e-mail, with a reason.
    expect(staff.locator("#header-title")).to_have_text("Correct the buyer's e-mail")
    expect(staff.get_by_text(placeholder)).to_be_visible()
    staff.get_by_label("The buyer's real e-mail").fill(real_email)
    staff.get_by_label("Reason").fill("The buyer sent the receipt from Google Pay to support")
    staff.get_by_role("button", name="Correct the e-mail").click()

    expect(staff.get_by_text(f"E-mail corrected to {real_email}")).to_be_visible()
    history = staff.locator("#guestpay-history").locator("xpath=..")
    expect(history).to_contain_text("E-mail corrected")
    expect(history).to_contain_text("The buyer sent the receipt from Google Pay to support")

    # The buyer's access e-mail, with the link to open the new account, is in the mail folder.
    message = sandbox.wait_for_mail(real_email)[0]
    assert "/guestpay/access/" in sandbox.text_of(message)
    assert sandbox.messages_to(placeholder) == []

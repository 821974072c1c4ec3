"""Staff refund in Chromium: a guest pays twice for the demo course with the same e-mail; staff
refund the second order from the dashboard's "Bought twice" line, then the first one from its
inspect page; the buyer gets the refund e-mails."""

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def pay_demo_course(page, sandbox, email):
    page.goto(sandbox.url + "/demo-course/")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    expect(page.get_by_text("TestPay: a test payment system")).to_be_visible()
    page.get_by_label("E-mail for the receipt").fill(email)
    page.get_by_role("button", name="Pay (card, e-mail returned)").click()
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=30_000
    )


def log_in_as_admin(page, sandbox, password):
    page.goto(sandbox.url + "/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()


def refund_with_reason(staff, reason):
    expect(staff.locator("#header-title")).to_have_text("Refund the order")
    expect(staff.get_by_text("The buyer gets an e-mail about the refund.")).to_be_visible()
    staff.get_by_label("Reason").fill(reason)
    staff.get_by_role("button", name="Refund").click()
    expect(staff.get_by_text("Refunded: 49.00 EUR")).to_be_visible()


def test_staff_refund_from_the_bought_twice_line_and_the_inspect_page(
    sandbox, page, admin_password
):
    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    pay_demo_course(page, sandbox, email)
    sandbox.wait_for_mail(email)
    pay_demo_course(page, sandbox, email)  # the same guest, again: bought twice
    sandbox.wait_for_mail(email, count=2)

    staff = page.context.browser.new_context(locale="en-US").new_page()
    staff.set_default_timeout(15_000)
    log_in_as_admin(staff, sandbox, admin_password)
    staff.goto(sandbox.url + "/admin/guestpay/transactions/?q=" + email)
    rows = staff.locator("table.listing tbody tr")
    expect(rows).to_have_count(2)
    numbers = [re.search(r"GP-\d{6}", rows.nth(i).inner_text()).group(0) for i in range(2)]
    second, first = sorted(numbers, reverse=True)

    # The dashboard's "Bought twice" line refunds in one click.
    staff.goto(sandbox.url + "/admin/")
    panel = staff.locator("#guestpay-needs-attention-content")
    expect(panel.get_by_role("heading", name=re.compile("Bought twice"))).to_be_visible()
    line = panel.get_by_role("link", name=re.compile(re.escape(second)))
    if line.count():
        expect(line).to_have_text(re.compile("^Refund"))
        line.click()
    else:  # more than five cases wait: the panel shows the oldest ones
        staff.goto(sandbox.url + f"/admin/guestpay/orders/{int(second[3:])}/refund/")
    refund_with_reason(staff, "Paid twice for the same course")
    expect(staff.get_by_text("Refunded", exact=True).first).to_be_visible()
    history = staff.locator("#guestpay-history").locator("xpath=..")
    expect(history).to_contain_text("Refund asked of the payment system")
    expect(history).to_contain_text("Paid twice for the same course")

    # The first order, from its inspect page.
    staff.goto(sandbox.url + "/admin/guestpay/transactions/?q=" + email)
    staff.get_by_role("link", name=first).click()
    staff.get_by_role("link", name="Refund", exact=True).click()
    refund_with_reason(staff, "The buyer changed their mind")

    staff.goto(sandbox.url + "/admin/guestpay/transactions/?q=" + email)
    rows = staff.locator("table.listing tbody tr")
    for i in range(2):
        expect(rows.nth(i)).to_contain_text("Refunded")

    # Two access e-mails, then two refund e-mails.
    messages = sandbox.wait_for_mail(email, count=4)
    refunds = [m for m in messages if "refunded" in str(m["Subject"]).lower()]
    assert len(refunds) == 2
    assert "49.00 EUR" in sandbox.text_of(refunds[0])

"""Staff export and erase a buyer's data in Chromium: a guest pays for the demo course; staff find
the contact, download its JSON, then erase it after the confirmation page (screenshots of it at
1280 and 390 px go to tests/browser/screenshots/); the contact and the order keep no address."""

import json
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_refunds import log_in_as_admin, pay_demo_course

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent / "screenshots"


def shoot(page, name):
    SHOTS.mkdir(exist_ok=True)
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_staff_export_then_erase_a_buyers_data(sandbox, page, admin_password):
    email = f"forget-me-{uuid.uuid4().hex[:8]}@example.com"
    pay_demo_course(page, sandbox, email)
    sandbox.wait_for_mail(email)

    staff = page.context.browser.new_context(locale="en-US", accept_downloads=True).new_page()
    staff.set_default_timeout(15_000)
    log_in_as_admin(staff, sandbox, admin_password)
    staff.goto(sandbox.url + "/admin/guestpay/contacts/?q=" + email)
    staff.locator("table.listing tbody tr").first.get_by_role("link").first.click()
    expect(staff.get_by_text(email).first).to_be_visible()

    with staff.expect_download() as download:
        staff.get_by_role("button", name="Export the buyer's data (JSON)").click()
    document = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename.startswith("buyer-data-")
    assert document["email"] == email and len(document["orders"]) == 1

    staff.get_by_role("link", name="Erase the buyer's data").click()
    expect(staff.locator("#header-title")).to_have_text("Erase the buyer's data")
    expect(staff.get_by_text("This cannot be undone.")).to_be_visible()
    shoot(staff, "staff-erase-buyer-data")
    staff.get_by_label("Reason").fill("The buyer asked to be forgotten")
    staff.get_by_role("button", name="Erase the data").click()
    expect(staff.get_by_text("This field is required.").first).to_be_visible()  # the tick
    staff.get_by_label("I understand that the buyer's data is erased for good").check()
    staff.get_by_role("button", name="Erase the data").click()

    expect(staff.get_by_text("The buyer's data was erased.")).to_be_visible()
    expect(staff.get_by_text("This buyer's data was erased on")).to_be_visible()
    assert email not in staff.content()
    history = staff.locator("#guestpay-history").locator("xpath=..")
    expect(history).to_contain_text("Buyer data erased")
    expect(history).to_contain_text("The buyer asked to be forgotten")
    shoot(staff, "staff-erased-contact")
    staff.goto(sandbox.url + "/admin/guestpay/transactions/?q=" + email)
    expect(staff.locator("table.listing tbody tr")).to_have_count(0)

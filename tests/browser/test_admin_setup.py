"""An editor sets payments up in the Wagtail admin, in Chromium against the real sandbox: adds a
payment system, opens an offer's gear, switches payment without login on, chooses the result
pages and copies the direct payment link."""

import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def log_in(page, sandbox, password):
    page.goto(sandbox.url + "/admin/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Guestpay Sandbox")).to_be_visible()


def new_offer(sandbox, *, guest):
    """A members-style offer of the demo course, made with the ORM (the offer form itself is
    Wagtail's), so that this test changes no offer another test relies on."""
    slug = f"browser-{uuid.uuid4().hex[:8]}"
    code = (
        "from wagtail_guestpay.models import Offer, OfferProduct, ProviderAccount\n"
        "from home.models import CoursePage\n"
        f"offer = Offer.objects.create(title='Browser offer {slug}', slug='{slug}', price=12, "
        f"currency='EUR', provider_account=ProviderAccount.objects.get(kind='test', "
        f"name='TestPay (offline)'), guest_payment={guest})\n"
        "OfferProduct.objects.create(offer=offer, page=CoursePage.objects.get("
        "slug='demo-course-lessons', locale__language_code='en'))\n"
        "print(offer.pk)\n"
    )
    result = sandbox.manage("shell", "-c", code)
    return slug, int(result.stdout.strip().splitlines()[-1])


def test_editor_adds_a_payment_system_and_checks_its_credentials(sandbox, page, admin_password):
    log_in(page, sandbox, admin_password)
    page.get_by_role("button", name="Payments").click()
    page.get_by_role("link", name="Payment systems").click()
    page.get_by_role("link", name="Add payment system").click()
    page.get_by_role("link", name="Test provider (offline)").click()

    # The webhook URL is there before the account exists, to register it with the provider.
    webhook_before = page.get_by_label("Webhook URL").input_value()
    secret = f"browser-secret-{uuid.uuid4().hex}"
    name = f"Browser TestPay {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Signing secret", exact=True).fill(secret)
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_text(f"Payment system “{name}")).to_be_visible()
    webhook = page.get_by_label("Webhook URL")
    expect(webhook).to_have_value(webhook_before)
    assert re.fullmatch(rf"{sandbox.url}/guestpay/notify/[0-9a-f-]{{36}}/", webhook_before)
    expect(page.get_by_text("Set", exact=True)).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("button", name="Check credentials").click()
    expect(page.get_by_text("Credentials work: The signing secret is set.")).to_be_visible()
    assert secret not in page.content()

    # The webhook URL answers: an unsigned notification is refused, not a 404.
    assert httpx.post(webhook.input_value(), content=b"{}").status_code == 400


def test_editor_switches_guest_payment_on_in_the_gear_and_copies_the_direct_link(
    sandbox, page, admin_password
):
    slug, pk = new_offer(sandbox, guest=False)
    direct_link = f"{sandbox.url}/guestpay/pay/{slug}/"
    assert httpx.get(direct_link).status_code == 404  # guest payment off: 404 to anonymous

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=sandbox.url)
    log_in(page, sandbox, admin_password)
    page.goto(f"{sandbox.url}/admin/snippets/wagtail_guestpay/offer/edit/{pk}/")

    gear = page.get_by_role("button", name="Payment settings")
    expect(gear).to_be_visible()
    # The gear follows the payment system chosen in the form, before any save.
    account = page.get_by_label("Payment system", exact=True)
    account.select_option(label="---------")
    expect(gear).to_be_hidden()
    account.select_option(label="TestPay (offline) (Test provider (offline), Test)")
    expect(gear).to_be_visible()

    gear.click()
    dialog = page.get_by_role("dialog", name="Payment settings")
    expect(dialog).to_be_visible()
    switch = dialog.get_by_label("Payment without login")
    expect(switch).not_to_be_checked()
    switch.check()

    # The success page through Wagtail's page chooser, opened from the dialog.
    dialog.locator("#id_success_page-chooser").get_by_role("button", name="Choose a page").click()
    chooser = page.locator(".modal")
    # The demo's content is in three languages: the chooser lists the three home pages (English
    # first); the result pages are under them.
    chooser.get_by_role("link", name="Explore").first.click()
    chooser.get_by_role("link", name="Thank you").click()
    expect(dialog.locator("#id_success_page-chooser")).to_contain_text("Thank you")

    dialog.get_by_role("link", name="Create a new result page")  # offered, opens a new tab

    # The direct link, copied with the button; the live region says so.
    link = dialog.get_by_label("Direct payment link")
    expect(link).to_have_value(direct_link)
    dialog.get_by_role("button", name="Copy link").click()
    expect(dialog.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == direct_link
    widget = dialog.get_by_label("Widget HTML (a Pay button for another site)")
    expect(widget).to_have_value(re.compile(rf'^<a href="{direct_link}"'))

    dialog.get_by_role("button", name="Save payment settings").click()
    expect(dialog).to_be_hidden()
    summary = page.locator("#guestpay-gear-summary")
    expect(summary).to_contain_text("Payment without login: On")
    expect(summary).to_contain_text("Page after a successful payment: Thank you")

    # Saved without saving the offer's form: the direct link now takes anonymous buyers.
    response = httpx.get(direct_link)
    assert response.status_code == 303, response.text

    page.goto(f"{sandbox.url}/admin/snippets/wagtail_guestpay/offer/history/{pk}/")
    expect(page.get_by_text("Payment without login: on").first).to_be_visible()

    page.goto(f"{sandbox.url}/admin/snippets/wagtail_guestpay/offer/?q={slug}")
    row = page.get_by_role("row").filter(has_text=f"Browser offer {slug}")
    expect(row).to_contain_text("On")

"""The auto-submitted payment form (WayForPay's Purchase) in a real browser: Chromium loads the
page the Pay link renders, its script submits the form at once, and the fake WayForPay receives
the fields a browser really sends (``productName[]`` names, UTF-8 values) with a signature that
verifies."""

import hashlib
import hmac
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug import Response

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.factories import OfferFactory
from tests.providers.test_wayforpay import ACCOUNT, DOMAIN, SECRET, wfp_account

pytestmark = pytest.mark.browser
AUTOSUBMIT = (
    Path(__file__).resolve().parents[2]
    / "wagtail_guestpay"
    / "static"
    / "wagtail_guestpay"
    / "autosubmit.js"
)


@pytest.mark.django_db
def test_the_purchase_form_submits_itself_with_utf8_fields(client, httpserver, settings):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    settings.WAGTAIL_GUESTPAY_PROVIDER_URLS = {"wayforpay": {"pay": httpserver.url_for("/pay")}}
    title = "Курс «Основи» & <Co> — ünïcödé"
    offer = OfferFactory(
        provider_account=wfp_account(), title=title, price=Decimal("1547.36"), currency="UAH"
    )
    html = client.get(offer.get_pay_path()).content  # all database work happens before Chromium

    received = []
    arrived = threading.Event()

    def wayforpay_page(request):
        received.append((request.headers.get("Content-Type", ""), request.form))
        arrived.set()
        return Response("<h1>WayForPay</h1>", content_type="text/html; charset=utf-8")

    httpserver.expect_request("/checkout").respond_with_data(
        html, content_type="text/html; charset=utf-8"
    )
    httpserver.expect_request("/static/wagtail_guestpay/autosubmit.js").respond_with_data(
        AUTOSUBMIT.read_bytes(), content_type="text/javascript"
    )
    httpserver.expect_request("/pay", method="POST").respond_with_handler(wayforpay_page)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(httpserver.url_for("/checkout"))  # nobody clicks anything
            page.wait_for_url(httpserver.url_for("/pay"), timeout=15_000)
        finally:
            browser.close()

    assert arrived.wait(5)
    content_type, form = received[0]
    assert content_type.startswith("application/x-www-form-urlencoded")
    assert form.getlist("productName[]") == [title]
    assert form.getlist("productPrice[]") == ["1547.36"]
    assert form.getlist("productCount[]") == ["1"]
    assert (form["merchantAccount"], form["merchantDomainName"]) == (ACCOUNT, DOMAIN)
    message = ";".join(
        [
            ACCOUNT,
            DOMAIN,
            form["orderReference"],
            form["orderDate"],
            "1547.36",
            "UAH",
            title,
            "1",
            "1547.36",
        ]
    )
    expected = hmac.new(SECRET.encode(), message.encode("utf-8"), hashlib.md5).hexdigest()
    assert form["merchantSignature"] == expected

"""The dashboard's "Needs attention" panel: what waits for staff, each line linking to its fix,
in a fixed number of queries."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_guestpay.models import AccessGrant, Payment

pytestmark = pytest.mark.django_db


def fix(name, *args):
    return reverse(f"wagtail_guestpay_staff:{name}", args=args)


def panel(client):
    """The HTML of the panel's content (up to the end of the dashboard)."""
    page = client.get("/admin/").content.decode()
    start = page.find('id="guestpay-needs-attention-content"')
    assert start != -1, "no Needs attention panel"
    return page[start : page.find("</main>", start)]


@pytest.fixture
def queue(pay, offer, testpay):
    """One case of each kind the panel lists."""
    wallet = pay("")
    _order, held, _charge = testpay.start(offer)
    testpay.notify(held, "paid", email="short@example.com", amount=Decimal("1.00"))
    revoked = pay("revoked@example.com")
    AccessGrant.objects.filter(order=revoked).update(revoked_at=timezone.now())  # on purpose
    never = pay("never@example.com")
    AccessGrant.objects.filter(order=never).delete()  # paid, access never granted
    _order, pending, _charge = testpay.start(offer)
    testpay.notify(pending, "pending", email="slow@example.com")
    Payment.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(hours=2))
    body = json.loads(testpay.body(pending, "paid", event_id="evt_stranger"))
    body["data"].update(reference="ELSEWHERE", id="ch_elsewhere")
    testpay.post(pending, json.dumps(body).encode())
    return {"wallet": wallet, "held": held, "revoked": revoked, "never": never, "pending": pending}


def test_each_case_links_to_its_fix(queue, granter, login):
    html = panel(login(granter))
    assert fix("correct_email", queue["wallet"].pk) in html
    assert fix("review_hold", queue["held"].pk) in html
    assert fix("grant_order_access", queue["never"].pk) in html
    assert fix("grant_order_access", queue["wallet"].pk) not in html  # listed by its reason
    assert queue["revoked"].number not in html  # revoked on purpose: nothing to do
    assert fix("check_payment", queue["pending"].pk) in html
    assert "Notifications to review (1)" in html
    assert "No e-mail from the payment system (1)" in html


def test_viewers_get_links_to_inspect_not_to_fixes(queue, viewer, login):
    html = panel(login(viewer))
    assert "/admin/guestpay/orders/" not in html and "/admin/guestpay/payments/" not in html
    inspect = reverse("guestpay_transactions_modeladmin_inspect", args=[queue["wallet"].pk])
    assert inspect in html


def test_the_pending_delay_is_a_setting(queue, fixer, login, settings):
    settings.WAGTAIL_GUESTPAY_ATTENTION_PENDING_AFTER = timedelta(hours=3)
    assert fix("check_payment", queue["pending"].pk) not in panel(login(fixer))
    settings.WAGTAIL_GUESTPAY_ATTENTION_PENDING_AFTER = 3600  # seconds work too
    assert fix("check_payment", queue["pending"].pk) in panel(login(fixer))


def test_a_fixed_case_leaves_the_panel(queue, fixer, login):
    from wagtail_guestpay.staff.fixes import correct_email

    correct_email(queue["wallet"], "real@example.com", by=fixer, reason="found it")
    assert fix("correct_email", queue["wallet"].pk) not in panel(login(fixer))


def test_nothing_to_do_says_so(fixer, login):
    assert "Nothing waits for staff." in panel(login(fixer))


def test_the_panel_costs_the_same_queries_for_many_cases(pay, fixer, login):
    client = login(fixer)
    pay("")
    client.get("/admin/")  # warm caches (content types, site)
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/")
    for _ in range(8):
        pay("")
    with CaptureQueriesContext(connection) as many:
        html = client.get("/admin/").content.decode()
    assert "No e-mail from the payment system (9)" in html
    assert "See all 9 cases" in html
    assert len(many) <= len(few) + 1  # one more: the total, once there are more than 5 lines

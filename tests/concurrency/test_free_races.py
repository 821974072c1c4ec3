"""Free offers on PostgreSQL: the same code typed in 12 tabs at once, and the grant function
called 12 times at once with one key, grant once (one order, one access grant, one access
e-mail). Each request runs in its own thread and connection and commits for real."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from tests.factories import OfferFactory
from wagtail_guestpay.emails import ACCESS
from wagtail_guestpay.fulfilment.free import grant_free_order
from wagtail_guestpay.models import AccessGrant, Order, OutboundEmail

from .helpers import needs_postgres, storm

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
TABS = 12


@pytest.fixture
def free_offer():
    return OfferFactory(slug="free-guide", price=Decimal("0"), provider_account=None)


def test_the_same_code_typed_in_12_tabs_at_once_grants_once(free_offer, settings):
    settings.WAGTAIL_GUESTPAY_REGISTRATION_RATE_LIMITS = {
        "verify_client": (100, 600),
        "verify_registration": (100, 600),
    }
    browser = Client()
    assert browser.post(free_offer.get_pay_path(), {"email": "tabs@example.com"}).status_code == 303
    code = re.search(r"Your code: (\d{6})", mail.outbox[-1].body).group(1)
    cookies = browser.cookies

    def tab():
        client = Client()
        client.cookies = cookies
        response = client.post("/guestpay/free/free-guide/code/", {"code": code})
        return response.status_code, response["Location"].startswith("/guestpay/order/")

    answers = storm([tab] * TABS, threads=TABS)
    assert all(status == 303 for status, _granted in answers)
    assert sum(granted for _status, granted in answers) == 1
    order = Order.objects.get()
    assert order.is_free and order.status == "paid"
    assert AccessGrant.objects.filter(order=order).count() == 1
    assert OutboundEmail.objects.filter(order=order, kind=ACCESS).count() == 1


def test_one_key_granted_12_times_at_once_makes_one_order(free_offer):
    def grant():
        return grant_free_order(free_offer, "same@example.com", key="race:1").created

    assert sorted(storm([grant] * TABS, threads=TABS)) == [False] * (TABS - 1) + [True]
    order = Order.objects.get()
    assert AccessGrant.objects.filter(order=order).count() == 1
    assert OutboundEmail.objects.filter(order=order, kind=ACCESS).count() == 1

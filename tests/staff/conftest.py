"""Fixtures of the staff admin tests: staff users with and without the guestpay permissions,
clients that commit like real requests, paid orders made through the real pipeline."""

import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.conftest import committing, order_of
from tests.factories import UserFactory


def staff_user(username, *codenames):
    """An admin user (may open Wagtail's admin) with the given guestpay permissions."""
    user = UserFactory(username=username, email=f"{username}@staff.example")
    perms = [
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    ]
    perms += Permission.objects.filter(
        content_type__app_label="wagtail_guestpay", codename__in=codenames
    )
    assert len(perms) == 1 + len(codenames)
    user.user_permissions.add(*perms)
    return user


@pytest.fixture
def editor(db):
    """Admin access, no guestpay permission."""
    return staff_user("editor")


@pytest.fixture
def viewer(db):
    return staff_user("viewer", "view_transactions")


@pytest.fixture
def fixer(db):
    return staff_user("fixer", "view_transactions", "fix_orders")


@pytest.fixture
def granter(db):
    return staff_user("granter", "view_transactions", "fix_orders", "manage_access")


@pytest.fixture
def refunder(db):
    """May see transactions and refund orders; may not fix them otherwise."""
    return staff_user("refunder", "view_transactions", "refund_orders")


@pytest.fixture
def login(db):
    """``login(user)``: a client logged in as ``user`` whose requests commit (on-commit
    callbacks run: tasks, e-mails), as in production."""

    def make(user):
        client = Client()
        client.force_login(user)
        return committing(client)

    return make


@pytest.fixture
def pay(offer, testpay, run_on_commit):
    """``pay(email, status="paid", **notify_kwargs)``: a buyer pays the offer without an
    account; the provider notifies ``status`` with ``email`` (empty: a wallet gave none)."""

    def make(email="", status="paid", **kwargs):
        _order, payment, _charge = testpay.start(offer)
        testpay.notify(payment, status, email=email, **kwargs)
        return order_of(payment)

    return make


def form_token(response):
    match = re.search(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert match, "no form token in the page"
    return html.unescape(match.group(1))


def confirm(client, url, **data):
    """Open a fix's confirmation page and submit it; returns (response, token)."""
    page = client.get(url)
    assert page.status_code == 200, page
    token = form_token(page)
    return client.post(url, {"form_token": token, **data}), token


def messages_of(response):
    return [str(message) for message in response.wsgi_request._messages]

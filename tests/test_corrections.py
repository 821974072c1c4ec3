"""Corrections shared by staff fixes and buyer claims: the right e-mail, the right account."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from wagtail.models import ModelLogEntry

from tests.conftest import order_of
from tests.factories import UserFactory
from wagtail_guestpay.buyers.corrections import (
    UnusedAccount,
    correct_order_email,
    move_order_access,
)
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import AccessLink, Attention, Contact

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def paid_order(offer, testpay, run_on_commit):
    def pay(email):
        _order, payment, _charge = testpay.start(offer)
        testpay.notify(payment, "paid", email=email)
        return order_of(payment)

    return pay


def test_placeholder_order_gets_the_real_email_account_access_and_mail(
    paid_order, offer, run_on_commit, outbox, admin_user
):
    order = paid_order("")
    placeholder = order.email
    outbox.clear()

    correction = correct_order_email(
        order, "Real@Example.com", by=admin_user, reason="found in the provider's dashboard"
    )
    run_on_commit()

    order.refresh_from_db()
    assert order.email == "real@example.com" and not order.email_is_placeholder
    assert order.attention == ""
    assert correction.account_created
    assert has_access(correction.user, offer.get_products()[0])
    assert [m.to for m in outbox] == [["real@example.com"]]
    assert not Contact.objects.filter(email=placeholder).exists()
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.email_corrected")
    assert entry.user == admin_user and entry.data["to"] == "real@example.com"
    assert entry.data["reason"] == "found in the provider's dashboard"


def test_typo_moves_access_and_retires_the_unused_wrong_account(
    paid_order, offer, run_on_commit, outbox
):
    order = paid_order("buyer@gmial.com")
    wrong = order.user
    outbox.clear()

    correction = correct_order_email(
        order, "buyer@gmail.com", via="claim", unused_account=UnusedAccount.DEACTIVATE
    )
    run_on_commit()

    wrong.refresh_from_db()
    product = offer.get_products()[0]
    assert not wrong.is_active and not has_access(wrong, product)
    assert correction.previous_account == "deactivated"
    assert has_access(correction.user, product)
    assert [m.to for m in outbox] == [["buyer@gmail.com"]]
    assert not AccessLink.objects.usable().filter(user=wrong).exists()


def test_wrong_account_that_was_used_is_kept(paid_order, run_on_commit):
    order = paid_order("used@example.com")
    wrong = order.user
    wrong.set_password("owner-chose-this-1")
    wrong.save()
    correction = correct_order_email(
        order, "right@example.com", unused_account=UnusedAccount.DELETE
    )
    assert correction.previous_account == "kept"
    assert User.objects.filter(pk=wrong.pk, is_active=True).exists()


def test_unused_wrong_account_can_be_deleted(paid_order, run_on_commit):
    order = paid_order("delete.me@example.com")
    wrong_pk = order.user.pk
    correction = correct_order_email(
        order, "keep.me@example.com", unused_account=UnusedAccount.DELETE
    )
    assert correction.previous_account == "deleted"
    assert not User.objects.filter(pk=wrong_pk).exists()


def test_correcting_to_an_existing_account_logs_nobody_in_and_says_log_in(
    paid_order, run_on_commit, outbox, client
):
    owner = UserFactory(email="owner@example.com")
    order = paid_order("")
    outbox.clear()
    correction = correct_order_email(order, "owner@example.com")
    run_on_commit()
    assert correction.user == owner and not correction.account_created
    assert "/guestpay/login/" in outbox[0].body
    assert "_auth_user_id" not in client.session


def test_placeholders_and_invalid_addresses_are_refused(paid_order, settings):
    order = paid_order("")
    with pytest.raises(ValidationError):
        correct_order_email(order, "not-an-email")
    with pytest.raises(ValidationError):
        correct_order_email(order, f"x@{settings.WAGTAIL_GUESTPAY_PLACEHOLDER_EMAIL_DOMAIN}")
    order.refresh_from_db()
    assert order.attention == Attention.PLACEHOLDER_EMAIL


def test_move_access_between_accounts(paid_order, offer, run_on_commit, outbox, admin_user):
    order = paid_order("first@example.com")
    first = order.user
    other = UserFactory(email="second@example.com")
    outbox.clear()
    move_order_access(order, other, by=admin_user, reason="buyer asked")
    run_on_commit()
    product = offer.get_products()[0]
    assert has_access(other, product) and not has_access(first, product)
    order.refresh_from_db()
    assert order.user == other
    assert [m.to for m in outbox] == [["second@example.com"]]
    assert ModelLogEntry.objects.filter(action="wagtail_guestpay.access_moved").count() == 1

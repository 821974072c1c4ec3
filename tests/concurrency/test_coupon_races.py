"""Coupons on PostgreSQL: the last use of a coupon clicked by many buyers at the same instant,
and one address using a once-per-e-mail coupon from several browsers at once. Every request
runs in its own thread with its own connection and commits for real."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import OfferFactory, UserFactory
from wagtail_guestpay.models import Coupon, Order, Redemption, RedemptionStatus

from .helpers import needs_postgres, storm

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
User = get_user_model()

BUYERS = 12


@pytest.fixture(autouse=True)
def _budgets(settings):
    """Every buyer clicks from 127.0.0.1: lift the per-client budgets."""
    settings.WAGTAIL_GUESTPAY_PAY_RATE_LIMITS = {"client_offer": (1000, 600)}
    settings.WAGTAIL_GUESTPAY_COUPON_RATE_LIMITS = {"client": (1000, 600)}


def click(path, user=None):
    def job():
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(path)
        return response.status_code, response.content.decode()

    return job


@pytest.mark.parametrize("limit", [1, 5])
def test_the_last_use_clicked_by_many_buyers_at_once_goes_to_one(limit):
    offer = OfferFactory(guest_payment=True, price=Decimal("49.00"))
    coupon = Coupon.objects.create(
        code="LAST", percent_off=Decimal("10"), max_redemptions=limit, taken=limit - 1
    )
    path = f"{offer.get_pay_path()}?coupon=LAST"

    results = storm([click(path) for _ in range(BUYERS)], threads=BUYERS)

    codes = sorted(code for code, _page in results)
    assert codes == [200] * (BUYERS - 1) + [303]
    refused = [page for code, page in results if code == 200]
    assert all("has been used up" in page for page in refused)
    coupon.refresh_from_db()
    assert coupon.taken == limit
    use = Redemption.objects.get()
    assert use.status == RedemptionStatus.RESERVED
    assert Order.objects.get().amount == Decimal("44.10")


def test_one_address_with_a_once_per_email_coupon_in_many_browsers_at_once():
    offer = OfferFactory(guest_payment=False)
    user = UserFactory(email="one@example.com")
    coupon = Coupon.objects.create(code="ONCE", percent_off=Decimal("20"), once_per_email=True)
    path = f"{offer.get_pay_path()}?coupon=ONCE"

    results = storm([click(path, user) for _ in range(BUYERS)], threads=BUYERS)

    assert sorted(code for code, _page in results) == [200] * (BUYERS - 1) + [303]
    assert all("already used" in page for code, page in results if code == 200)
    assert Redemption.objects.filter(coupon=coupon, email="one@example.com").count() == 1
    coupon.refresh_from_db()
    assert coupon.taken == 1  # the refused ones gave their use back (rolled back)
    assert Order.objects.count() == 1


def test_the_last_use_of_a_free_coupon_granted_to_many_accounts_at_once_goes_to_one():
    from wagtail_guestpay.fulfilment.coupon_codes import CouponRefused, quote
    from wagtail_guestpay.fulfilment.free_coupons import grant_with_coupon
    from wagtail_guestpay.models import AccessGrant

    offer = OfferFactory(guest_payment=True)
    coupon = Coupon.objects.create(code="ALL", percent_off=Decimal("100"), max_redemptions=1)
    users = [UserFactory(email=f"free{i}@example.com") for i in range(BUYERS)]
    terms = quote(offer, "ALL")  # each buyer saw the coupon with its use left

    def grant(user):
        def job():
            try:
                return grant_with_coupon(offer, terms, key=f"coupon:{user.pk}:x", user=user).created
            except CouponRefused as refusal:
                return refusal.reason

        return job

    results = storm([grant(user) for user in users], threads=BUYERS)

    assert sorted(map(str, results)) == ["True"] + ["used_up"] * (BUYERS - 1)
    coupon.refresh_from_db()
    assert coupon.taken == 1
    assert Order.objects.count() == 1 and AccessGrant.objects.count() == 1
    assert Redemption.objects.get().status == RedemptionStatus.CONFIRMED

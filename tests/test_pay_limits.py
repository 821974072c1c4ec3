"""Pay links under abuse: the budget of new orders per client and offer, the same browser sent
back to its open order, and never-started payments checked last and expired early."""

from datetime import timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.factories import OfferFactory
from tests.providers.test_wayforpay import PostForm, wfp_account
from wagtail_guestpay.fulfilment import pay_limits
from wagtail_guestpay.fulfilment.follow_up import check_payment, open_payments_due
from wagtail_guestpay.models import Order, OrderStatus, Payment, PaymentStatus
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db

BUDGET = 10


def click(offer, *, client=None, ip="203.0.113.7"):
    return (client or Client()).get(offer.get_pay_path(), REMOTE_ADDR=ip)


def test_a_hundred_clicks_from_one_client_create_at_most_the_budget(offer, settings):
    """Each click from a browser that keeps no cookie (a script, a crawler)."""
    settings.WAGTAIL_GUESTPAY_PAY_RATE_LIMITS = {"client_offer": (BUDGET, 600)}
    statuses = [click(offer).status_code for _ in range(100)]
    assert statuses == [303] * BUDGET + [429] * (100 - BUDGET)
    assert Order.objects.count() == Payment.objects.count() == BUDGET
    assert TestCharge.objects.count() == BUDGET  # no provider call past the budget
    limited = click(offer)
    assert b"Too many attempts" in limited.content
    assert "no-store" in limited["Cache-Control"] and int(limited["Retry-After"]) > 0


def test_the_default_budget_is_ten_orders_per_ten_minutes(offer):
    assert [click(offer).status_code for _ in range(11)] == [303] * 10 + [429]


def test_the_budget_is_per_client_and_per_offer(offer, account):
    other_offer = OfferFactory(provider_account=account, slug="other-offer")
    for _ in range(BUDGET):
        assert click(offer).status_code == 303
    assert click(offer).status_code == 429
    assert click(offer, ip="198.51.100.9").status_code == 303  # another client
    assert click(other_offer).status_code == 303  # another offer


def test_a_logged_in_buyer_has_a_budget_of_their_own_behind_a_shared_address(
    offer, user, django_user_model
):
    for _ in range(BUDGET):
        click(offer)
    assert click(offer).status_code == 429
    browser = Client()
    browser.force_login(user)
    assert click(offer, client=browser).status_code == 303


def test_the_same_browser_clicking_twice_gets_the_same_order(offer):
    browser = Client()
    first, second = click(offer, client=browser), click(offer, client=browser)
    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]  # the payment system's page kept
    assert Order.objects.count() == Payment.objects.count() == TestCharge.objects.count() == 1
    for _ in range(BUDGET + 5):  # reusing spends no budget
        assert click(offer, client=browser).status_code == 303
    assert Order.objects.count() == 1


def test_another_browser_gets_its_own_order(offer):
    click(offer, client=Client())
    click(offer, client=Client())
    assert Order.objects.count() == 2


@pytest.mark.parametrize("change", ["paid", "expired_page", "window", "forged_cookie", "price"])
def test_an_order_that_cannot_be_resumed_gives_a_new_one(offer, change, settings):
    browser = Client()
    click(offer, client=browser)
    payment = Payment.objects.get()
    if change == "paid":
        Payment.objects.update(status=PaymentStatus.PENDING)
        Order.objects.update(status=OrderStatus.PENDING)
    elif change == "expired_page":
        Payment.objects.update(checkout_expires_at=timezone.now() + timedelta(minutes=1))
    elif change == "window":
        settings.WAGTAIL_GUESTPAY_PAY_REUSE_WINDOW = timedelta(seconds=-1)
    elif change == "forged_cookie":
        value = browser.cookies["guestpay_orders"].value
        browser.cookies["guestpay_orders"] = value.replace(
            value[2], "x" if value[2] != "x" else "y"
        )
    elif change == "price":
        offer.price += 1
        offer.save()
    click(offer, client=browser)
    assert Order.objects.count() == 2
    assert Payment.objects.exclude(pk=payment.pk).get().order_id != payment.order_id


def test_the_cookie_is_signed_http_only_and_names_no_more_than_a_few_offers(offer, account):
    browser = Client()
    response = click(offer, client=browser)
    cookie = response.cookies["guestpay_orders"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    offers = [OfferFactory(provider_account=account, slug=f"offer-{n}") for n in range(8)]
    for other in offers:
        click(other, client=browser)
    request = RequestFactory().get("/")
    request.COOKIES["guestpay_orders"] = browser.cookies["guestpay_orders"].value
    entries = pay_limits._remembered(request)
    assert list(entries) == [str(other.pk) for other in offers[-5:]]  # the newest five
    assert Order.objects.by_token(entries[str(offers[-1].pk)][0]).get().offer == offers[-1]


def test_try_again_goes_back_to_the_abandoned_page_then_counts_new_attempts(offer):
    browser = Client()
    first = click(offer, client=browser)
    payment = Payment.objects.get()
    order = payment.order
    token = first.cookies["guestpay_orders"]  # (set)
    assert token
    order_url = TestCharge.objects.get().cancel_url.replace("http://testserver", "")
    retry_url = order_url.split("?")[0] + "retry/"
    # Cancelled on the provider's page: "try again" sends the buyer back to the same page.
    again = browser.post(retry_url, REMOTE_ADDR="203.0.113.7")
    assert again.status_code == 303 and again["Location"] == first["Location"]
    assert Payment.objects.count() == 1
    # Failed: each new attempt counts against the budget.
    statuses = []
    for _ in range(BUDGET + 2):
        Payment.objects.filter(order=order).update(status=PaymentStatus.FAILED)
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED)
        statuses.append(browser.post(retry_url, REMOTE_ADDR="203.0.113.7").status_code)
    assert statuses.count(429) >= 2 and statuses[: BUDGET - 1] == [303] * (BUDGET - 1)
    assert Payment.objects.count() <= BUDGET + 1


# Junk payments do not delay real ones ---------------------------------------------------------
def test_a_never_started_payment_is_first_checked_when_its_page_has_expired(db, settings):
    """WayForPay's form is built without calling WayForPay: its ``orderLifetime`` is ours."""
    settings.WAGTAIL_GUESTPAY_CHECKOUT_LIFETIME = timedelta(minutes=40)
    offer = OfferFactory(provider_account=wfp_account(), slug="wfp")
    response = click(offer)
    assert response.status_code == 200 and b'name="orderLifetime" value="2400"' in response.content
    payment = Payment.objects.get()
    lifetime = payment.checkout_expires_at - payment.created_at
    assert timedelta(minutes=40) - timedelta(seconds=1) <= lifetime <= timedelta(minutes=40)
    assert payment.next_check_at >= payment.checkout_expires_at + timedelta(minutes=15)


def test_the_same_browser_gets_the_same_wayforpay_form_again(db):
    offer = OfferFactory(provider_account=wfp_account(), slug="wfp")
    browser = Client()
    first, second = click(offer, client=browser), click(offer, client=browser)
    fields = [
        [
            field
            for field in PostForm(page.content.decode()).fields
            if field[0] != "csrfmiddlewaretoken"
        ]
        for page in (first, second)
    ]
    assert fields[0] == fields[1]  # same orderReference, orderDate and signature
    assert Payment.objects.count() == 1


def test_likely_payments_are_checked_before_never_started_ones(offer):
    now = timezone.now()
    for _ in range(5):
        click(offer)
    junk = list(Payment.objects.order_by("pk"))
    returned, pending = junk[3], junk[4]
    Payment.objects.filter(pk=returned.pk).update(returned_at=now)
    Payment.objects.filter(pk=pending.pk).update(status=PaymentStatus.PENDING)
    # The junk ones have been due the longest.
    Payment.objects.filter(pk__in=[p.pk for p in junk[:3]]).update(
        next_check_at=now - timedelta(hours=1)
    )
    Payment.objects.filter(pk__in=[returned.pk, pending.pk]).update(
        next_check_at=now - timedelta(minutes=1)
    )
    assert set(open_payments_due(now, 2)) == {returned.pk, pending.pk}
    assert open_payments_due(now, 5)[2:] == [p.pk for p in junk[:3]]


def test_a_never_started_payment_is_expired_once_its_page_stopped_working(offer):
    click(offer)
    payment = Payment.objects.get()
    Payment.objects.update(checkout_expires_at=timezone.now() - timedelta(minutes=20))
    check_payment(payment.pk)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.order.status == OrderStatus.EXPIRED


def test_a_payment_whose_page_still_works_is_not_expired(offer):
    click(offer)
    payment = Payment.objects.get()
    Payment.objects.update(checkout_expires_at=timezone.now() + timedelta(minutes=20))
    check_payment(payment.pk)
    assert Payment.objects.get().status == PaymentStatus.CREATED


def test_the_buyer_coming_back_is_recorded(offer):
    browser = Client()
    click(offer, client=browser)
    charge = TestCharge.objects.get()
    browser.get(charge.return_url.replace("http://testserver", ""))
    assert Payment.objects.get().returned_at is not None

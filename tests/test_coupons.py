"""Coupons: the direct link with ?coupon=CODE, refusals beside the full price, the reservation's
life (reserved, confirmed, released), late payments honoured and flagged, the amount check
against the discounted amount, the registration flow, the coupon field of the pay button."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import code_in, refreshed
from tests.factories import OfferFactory, UserFactory
from wagtail_guestpay.fulfilment.checkout import create_order
from wagtail_guestpay.fulfilment.coupon_codes import CouponRefused, quote
from wagtail_guestpay.fulfilment.follow_up import expire_stale_payments
from wagtail_guestpay.models import (
    AccessGrant,
    Attention,
    Coupon,
    Order,
    OrderStatus,
    Payment,
    PaymentEvent,
    Redemption,
    RedemptionStatus,
)
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db
R = RedemptionStatus


def make_coupon(code="WELCOME10", offers=(), **fields):
    fields.setdefault("kind", Coupon.Kind.PERCENT)
    if fields["kind"] == Coupon.Kind.PERCENT:
        fields.setdefault("percent_off", Decimal("10"))
    coupon = Coupon.objects.create(code=code, **fields)
    coupon.offers.set(offers)
    return coupon


@pytest.fixture
def welcome(offer):
    return make_coupon(offers=[offer])


def pay_with(client, offer, code):
    return client.get(offer.get_pay_path(), {"coupon": code})


def the_order():
    return Order.objects.select_related("redemption").get()


# The direct link ---------------------------------------------------------------------------
def test_welcome10_on_the_direct_link_leads_to_testpay_for_44_10_eur(client, offer, welcome):
    response = pay_with(client, offer, "WELCOME10")

    assert response.status_code == 303
    charge = TestCharge.objects.get()
    assert response["Location"] == f"/guestpay/test-provider/pay/{charge.public_id}/"
    order = the_order()
    payment = Payment.objects.get()
    assert order.amount == payment.amount == charge.amount == Decimal("44.10")
    assert (order.currency, payment.currency) == ("EUR", "EUR")
    assert order.redemption.status == R.RESERVED
    assert order.redemption.discount == Decimal("4.90")
    assert order.redemption.full_price == Decimal("49.00")
    assert refreshed(welcome).taken == 1
    page = client.get(response["Location"]).content.decode()
    assert "44.10" in page and "49.00" not in page


def test_capitals_and_spaces_do_not_matter(client, offer, welcome):
    assert pay_with(client, offer, "  welcome10 ").status_code == 303
    assert the_order().amount == Decimal("44.10")


def test_a_fixed_amount_in_the_offers_currency(client, offer):
    make_coupon("TENOFF", kind=Coupon.Kind.FIXED, amount_off=Decimal("10"), currency="EUR")
    assert pay_with(client, offer, "TENOFF").status_code == 303
    assert the_order().amount == Decimal("39.00")


def test_without_a_coupon_nothing_is_reserved(client, offer, welcome):
    assert client.get(offer.get_pay_path()).status_code == 303
    assert the_order().amount == Decimal("49.00")
    assert not Redemption.objects.exists() and refreshed(welcome).taken == 0


# Codes that cannot be used -----------------------------------------------------------------
def _refused(response, offer):
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Full price: <strong>" in page and "49.00" in page
    assert f'href="{offer.get_pay_path()}"' in page  # the Pay button at the full price
    assert not Order.objects.exists() and not TestCharge.objects.exists()
    assert not Redemption.objects.exists()
    return page


@pytest.mark.parametrize(
    "setup, code, message",
    [
        (lambda offer, other: None, "NOPE", "is not a valid coupon code"),
        (
            lambda offer, other: make_coupon("OFF", is_active=False),
            "OFF",
            "is not a valid coupon code",
        ),
        (
            lambda offer, other: make_coupon(
                "OLD", valid_until=timezone.now() - timedelta(minutes=1)
            ),
            "OLD",
            "has expired",
        ),
        (
            lambda offer, other: make_coupon("SOON", valid_from=timezone.now() + timedelta(days=1)),
            "SOON",
            "cannot be used yet",
        ),
        (
            lambda offer, other: make_coupon("GONE", max_redemptions=2, taken=2),
            "GONE",
            "has been used up",
        ),
        (
            lambda offer, other: make_coupon("ELSEWHERE", offers=[other]),
            "ELSEWHERE",
            "does not apply to this offer",
        ),
        (
            lambda offer, other: make_coupon(
                "DOLLARS", kind=Coupon.Kind.FIXED, amount_off=Decimal("5"), currency="USD"
            ),
            "DOLLARS",
            "does not apply to this offer",
        ),
        (lambda offer, other: None, "x" * 500, "is not a valid coupon code"),
        (lambda offer, other: None, "'; DROP TABLE x; --", "is not a valid coupon code"),
        (lambda offer, other: None, "ŴĘĹĆÖMĘ", "is not a valid coupon code"),
    ],
)
def test_a_code_that_cannot_be_used_shows_why_and_the_full_price(
    client, offer, account, setup, code, message
):
    other = OfferFactory(provider_account=account)
    setup(offer, other)
    page = _refused(pay_with(client, offer, code), offer)
    assert message in page


def test_the_refusal_page_escapes_what_was_typed(client, offer):
    page = _refused(pay_with(client, offer, "<script>alert(1)</script>"), offer)
    assert "<script>alert(1)" not in page


# A coupon that makes the offer free -----------------------------------------------------------
def _free_order():
    order = the_order()
    assert (order.amount, order.source, order.status) == (Decimal("0"), "free", OrderStatus.PAID)
    assert not Payment.objects.exists() and not TestCharge.objects.exists()
    assert AccessGrant.objects.filter(order=order).exists()
    assert order.redemption.status == R.CONFIRMED
    return order


def test_a_guest_with_a_full_discount_confirms_the_address_and_gets_it_free(
    client, offer, outbox, run_on_commit
):
    coupon = make_coupon("ALL", offers=[offer], percent_off=Decimal("100"), max_redemptions=5)
    form = pay_with(client, offer, "ALL")
    assert form.status_code == 200 and 'name="email"' in form.content.decode()
    assert "<strong>ALL</strong> takes the whole price" in form.content.decode()
    assert not Order.objects.exists()

    sent = client.post(f"{offer.get_pay_path()}?coupon=ALL", {"email": "Guest@Example.com"})
    assert sent.status_code == 303 and not Order.objects.exists()
    code_page = sent["Location"]
    done = client.post(code_page, {"code": code_in(outbox[-1])})

    assert done.status_code == 303 and done["Location"].startswith("/guestpay/order/")
    order = _free_order()
    assert order.email == "guest@example.com" and order.user.email == "guest@example.com"
    assert refreshed(coupon).taken == 1
    assert "_auth_user_id" not in client.session  # nobody is logged in by it


def test_a_fixed_amount_as_large_as_the_price_makes_it_free_for_a_signed_in_buyer(
    client, offer, user, run_on_commit
):
    make_coupon("GIFT", kind=Coupon.Kind.FIXED, amount_off=Decimal("60"), currency="EUR")
    client.force_login(user)
    page = pay_with(client, offer, "GIFT")
    html = page.content.decode()
    assert page.status_code == 200 and "Get it free" in html and not Order.objects.exists()
    nonce = re.search(r'name="nonce" value="([^"]+)"', html).group(1)
    action = f"{offer.get_pay_path()}?coupon=GIFT"
    assert client.post(action, {"nonce": nonce}).status_code == 303
    order = _free_order()
    assert order.user == user and order.paid_as_user
    assert order.redemption.discount == Decimal("49.00")
    # The same form sent twice grants once.
    client.post(action, {"nonce": nonce})
    assert Order.objects.count() == 1 and Redemption.objects.count() == 1


def test_a_full_discount_after_registration_grants_the_new_account(
    client, members_offer, outbox, run_on_commit
):
    make_coupon("ALL", percent_off=Decimal("100"))
    checkout = f"{members_offer.get_checkout_path()}?coupon=ALL"
    client.post(
        checkout,
        {
            "email": "new@example.com",
            "password1": "a sturdy passphrase 42",
            "password2": "a sturdy passphrase 42",
        },
    )
    done = client.post(f"{members_offer.get_checkout_path()}code/", {"code": code_in(outbox[-1])})
    assert done.status_code == 303 and done["Location"].startswith("/guestpay/order/")
    assert _free_order().user.email == "new@example.com"


def test_the_last_free_use_taken_before_the_code_is_typed_leaves_the_full_price(
    client, offer, outbox, run_on_commit
):
    coupon = make_coupon("ALL", offers=[offer], percent_off=Decimal("100"), max_redemptions=1)
    client.post(f"{offer.get_pay_path()}?coupon=ALL", {"email": "late@example.com"})
    code = code_in(outbox[-1])
    Coupon.objects.filter(pk=coupon.pk).update(taken=1)  # someone else got the last one
    page = client.post("/guestpay/free/demo-course/code/", {"code": code})
    assert page.status_code == 200 and "has been used up" in page.content.decode()
    assert not Order.objects.exists() and not Redemption.objects.exists()


def test_a_post_to_the_pay_link_with_a_partial_discount_is_refused(client, offer, welcome):
    assert pay_with(client, offer, "WELCOME10").status_code == 303
    response = client.post(f"{offer.get_pay_path()}?coupon=WELCOME10", {"email": "a@b.cd"})
    assert response.status_code == 405
    assert client.post(offer.get_pay_path(), {"email": "a@b.cd"}).status_code == 405


def test_too_many_codes_tried_from_one_client(client, offer, settings):
    settings.WAGTAIL_GUESTPAY_COUPON_RATE_LIMITS = {"client": (3, 600)}
    make_coupon("GOOD", offers=[offer])
    for guess in ("A1", "A2", "A3"):
        assert "is not a valid" in _refused(pay_with(client, offer, guess), offer)
    page = _refused(pay_with(client, offer, "GOOD"), offer)
    assert "Too many coupon codes" in page


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(code=st.text(max_size=120))
def test_fuzzed_codes_never_fail(offer, welcome, code):
    from django.core.cache import cache

    cache.clear()
    response = Client().get(offer.get_pay_path(), {"coupon": code})
    assert response.status_code in (200, 303)
    if response.status_code == 200:
        assert not Order.objects.exists()
    Order.objects.all().delete()
    Coupon.objects.filter(pk=welcome.pk).update(taken=0)


def test_forged_query_shapes_never_fail(client, offer, welcome):
    for query in ("coupon", "coupon=&coupon=WELCOME10", "coupon=%00", "coupon=%ff%fe"):
        response = client.get(f"{offer.get_pay_path()}?{query}")
        assert response.status_code in (200, 303), query


# The reservation's life --------------------------------------------------------------------
def test_paid_confirms_the_use_and_the_amount_check_uses_the_discounted_amount(
    client, offer, welcome, testpay, run_on_commit
):
    pay_with(client, offer, "WELCOME10")
    payment = Payment.objects.get()
    testpay.notify(payment, "paid", email="buyer@example.com")
    order = the_order()
    assert order.status == OrderStatus.PAID and order.redemption.status == R.CONFIRMED
    assert refreshed(welcome).taken == 1
    assert AccessGrant.objects.filter(order=order).exists()


def test_the_full_price_paid_for_a_discounted_order_is_an_amount_mismatch(
    client, offer, welcome, testpay, run_on_commit
):
    pay_with(client, offer, "WELCOME10")
    payment = Payment.objects.get()
    testpay.notify(payment, "paid", email="buyer@example.com", amount="49.00")
    order = the_order()
    assert order.status == OrderStatus.ON_HOLD and order.attention == Attention.AMOUNT_MISMATCH
    assert PaymentEvent.objects.get().outcome == PaymentEvent.Outcome.AMOUNT_MISMATCH
    assert order.redemption.status == R.RESERVED  # a held payment keeps its use


def test_failure_releases_the_use(client, offer, welcome, testpay, run_on_commit):
    pay_with(client, offer, "WELCOME10")
    testpay.notify(Payment.objects.get(), "declined")
    assert the_order().redemption.status == R.RELEASED
    assert refreshed(welcome).taken == 0


def test_expiry_releases_the_use(client, offer, welcome, run_on_commit):
    pay_with(client, offer, "WELCOME10")
    Payment.objects.update(created_at=timezone.now() - timedelta(days=30))
    assert expire_stale_payments() == 1
    assert the_order().status == OrderStatus.EXPIRED
    assert the_order().redemption.status == R.RELEASED
    assert refreshed(welcome).taken == 0


def test_the_last_use_goes_to_one_buyer_and_comes_back_when_their_payment_fails(
    offer, testpay, run_on_commit
):
    make_coupon("LAST", offers=[offer], max_redemptions=1)
    first, second = Client(), Client()
    assert pay_with(first, offer, "LAST").status_code == 303
    assert "has been used up" in pay_with(second, offer, "LAST").content.decode()
    testpay.notify(Payment.objects.get(), "declined")
    assert pay_with(second, offer, "LAST").status_code == 303
    assert Redemption.objects.filter(status=R.RESERVED).count() == 1


def test_the_same_browser_clicking_again_resumes_its_discounted_order(client, offer):
    make_coupon("ONE", offers=[offer], max_redemptions=1)
    assert pay_with(client, offer, "ONE").status_code == 303
    assert pay_with(client, offer, "one").status_code == 303  # its own use, not used up
    assert Order.objects.count() == 1 and Coupon.objects.get().taken == 1
    # Without the code it is another price: a new order at the full price.
    assert client.get(offer.get_pay_path()).status_code == 303
    assert sorted(Order.objects.values_list("amount", flat=True)) == [
        Decimal("44.10"),
        Decimal("49.00"),
    ]


def test_a_late_payment_after_release_is_honoured_and_flagged_when_the_coupon_ran_out(
    offer, testpay, run_on_commit, outbox
):
    coupon = make_coupon("LAST", offers=[offer], max_redemptions=1)
    pay_with(Client(), offer, "LAST")
    late = Payment.objects.get()
    testpay.notify(late, "declined")  # released...
    pay_with(Client(), offer, "LAST")  # ...and taken by another buyer
    other = Payment.objects.exclude(pk=late.pk).get()
    testpay.notify(other, "paid", email="second@example.com")

    # The first buyer's payment went through after all, at the discounted price.
    testpay.notify(late, "paid", email="first@example.com", event_id="evt_late_paid")

    order = Order.objects.get(pk=late.order_id)
    assert order.status == OrderStatus.PAID  # honoured: never refused to the buyer
    assert AccessGrant.objects.filter(order=order).exists()
    assert order.attention == Attention.COUPON_OVERSHOOT
    assert "LAST" in order.attention_note and "2 / 1" in order.attention_note
    use = Redemption.objects.get(order=order)
    assert (use.status, use.over_limit) == (R.CONFIRMED, True)
    assert refreshed(coupon).taken == 2

    from wagtail_guestpay.admin.attention import attention_sections

    staff = UserFactory(is_superuser=True, is_staff=True)
    other_lines = {s.key: s for s in attention_sections(staff)}["other"].lines
    assert [line.text for line in other_lines if order.number in line.text] == [
        f"{order.number} · {offer.title} · {order.amount_display} · first@example.com · "
        "Coupon used more often than its limit"
    ]


def test_a_late_payment_with_room_left_is_confirmed_without_a_flag(
    client, offer, welcome, testpay, run_on_commit
):
    pay_with(client, offer, "WELCOME10")
    payment = Payment.objects.get()
    testpay.notify(payment, "declined")
    testpay.notify(payment, "paid", email="late@example.com")
    order = the_order()
    assert order.status == OrderStatus.PAID and order.attention == ""
    assert (order.redemption.status, order.redemption.over_limit) == (R.CONFIRMED, False)
    assert refreshed(welcome).taken == 1


def test_an_expired_coupon_is_honoured_for_a_payment_already_made(
    client, offer, welcome, testpay, run_on_commit
):
    pay_with(client, offer, "WELCOME10")
    Coupon.objects.update(valid_until=timezone.now() - timedelta(minutes=1), is_active=False)
    testpay.notify(Payment.objects.get(), "paid", email="buyer@example.com")
    order = the_order()
    assert order.status == OrderStatus.PAID and order.redemption.status == R.CONFIRMED


def test_try_again_takes_the_use_again_or_says_the_coupon_ran_out(offer, testpay, run_on_commit):
    make_coupon("LAST", offers=[offer], max_redemptions=1)
    buyer = Client()
    pay_with(buyer, offer, "LAST")
    order = Order.objects.get()
    first = Payment.objects.get()
    testpay.notify(first, "declined")
    token_path = TestCharge.objects.get().return_url.split("testserver", 1)[1]
    retry = token_path.rstrip("/") + "/retry/"

    pay_with(Client(), offer, "LAST")  # another buyer took the released use
    page = buyer.post(retry)
    assert page.status_code == 200 and "has been used up" in page.content.decode()
    assert order.payments.count() == 1

    testpay.notify(Payment.objects.exclude(order=order).get(), "declined")  # it came back
    assert buyer.post(retry).status_code == 303
    assert order.payments.count() == 2
    assert Redemption.objects.get(order=order).status == R.RESERVED


# Once per e-mail ---------------------------------------------------------------------------
def test_once_per_email_for_a_logged_in_buyer(client, offer, account, user, testpay, run_on_commit):
    make_coupon("ONCE", once_per_email=True)  # every offer
    client.force_login(user)
    assert pay_with(client, offer, "ONCE").status_code == 303
    testpay.notify(Payment.objects.get(), "paid")
    assert Redemption.objects.get().email == user.email
    another = OfferFactory(provider_account=account)
    page = pay_with(client, another, "ONCE").content.decode()
    assert "You have already used the coupon “ONCE”." in page
    assert Order.objects.count() == 1
    # Another address may use it.
    client.force_login(UserFactory(email="other@example.com"))
    assert pay_with(client, another, "ONCE").status_code == 303


def test_once_per_email_is_held_by_the_database(rf, offer, user):
    coupon = make_coupon("ONCE", offers=[offer], once_per_email=True)
    request = rf.get("/")
    terms = quote(offer, "ONCE", email=user.email)
    create_order(request, offer, user=user, quote=terms)
    # A second order of the same address, with a quote made before the first reserved:
    with pytest.raises(CouponRefused) as refused:
        create_order(request, offer, user=user, quote=terms)
    assert refused.value.reason == CouponRefused.ALREADY_USED
    assert Order.objects.count() == 1 and refreshed(coupon).taken == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Redemption.objects.create(
            coupon=coupon, order=OrderFactoryless(offer), email=user.email, full_price=1, discount=1
        )


def OrderFactoryless(offer):  # noqa: N802 - reads as a factory
    order = Order(offer=offer, amount=offer.price, currency=offer.currency)
    order.new_token()
    order.save()
    return order


def test_once_per_email_in_the_registration_flow(client, members_offer, outbox, run_on_commit):
    make_coupon("ONCE", offers=[members_offer], once_per_email=True)
    checkout = f"{members_offer.get_checkout_path()}?coupon=ONCE"
    form = client.get(checkout).content.decode()
    assert "<strong>ONCE</strong>" in form
    response = client.post(
        checkout,
        {
            "email": "new@example.com",
            "password1": "a sturdy passphrase 42",
            "password2": "a sturdy passphrase 42",
        },
    )
    assert response.status_code == 303, response.content.decode()[:2000]
    code_page = response["Location"]
    response = client.post(code_page, {"code": code_in(outbox[-1])})
    assert response.status_code == 303
    order = the_order()
    assert order.amount == Decimal("44.10")
    assert order.redemption.email == "new@example.com"


# Pages and admin ---------------------------------------------------------------------------
def test_the_pay_button_has_a_coupon_field_when_the_offer_asks_for_one(rf, offer):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import get_template

    from wagtail_guestpay.blocks.button_html import pay_button_context, render_pay_button

    offer.coupon_field = True
    offer.save()
    request = rf.get("/")
    request.user = AnonymousUser()
    html = render_pay_button(request, offer, "", True)
    assert html == get_template("wagtail_guestpay/includes/pay_button.html").render(
        pay_button_context(request, offer, "", True)
    )
    assert '<form class="guestpay-pay guestpay-pay--coupon" method="get"' in html
    assert f'action="{offer.get_pay_path()}"' in html and 'name="coupon"' in html
    assert "<label" in html and "Coupon code (optional)" in html
    offer.coupon_field = False
    offer.save()
    assert 'name="coupon"' not in render_pay_button(request, offer, "", True)


def test_the_login_page_of_a_guest_off_offer_keeps_the_coupon(client, members_offer):
    page = client.get(members_offer.get_pay_path(), {"coupon": "ONCE"}).content.decode()
    assert f'href="{members_offer.get_checkout_path()}?coupon=ONCE"' in page
    assert "coupon%3DONCE" in page  # in the login link's next


def test_coupon_rules_are_validated():
    from django.core.exceptions import ValidationError

    make_coupon("TAKEN")
    for fields, field in [
        ({"code": "taken", "percent_off": 5}, "code"),
        ({"code": "has space", "percent_off": 5}, "code"),
        ({"code": "P", "kind": "percent"}, "percent_off"),
        ({"code": "F", "kind": "fixed", "amount_off": 5}, "currency"),
        (
            {
                "code": "D",
                "percent_off": 5,
                "valid_from": timezone.now(),
                "valid_until": timezone.now() - timedelta(days=1),
            },
            "valid_until",
        ),
    ]:
        with pytest.raises(ValidationError) as error:
            Coupon(**fields).full_clean()
        assert field in error.value.message_dict, fields
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(code="taken", percent_off=5)


def test_staff_see_a_coupons_uses(admin_client, offer, welcome, testpay, run_on_commit):
    pay_with(Client(), offer, "WELCOME10")
    testpay.notify(Payment.objects.get(), "paid", email="buyer@example.com")
    page = admin_client.get(f"/admin/snippets/wagtail_guestpay/coupon/edit/{welcome.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    order = the_order()
    assert order.number in html and "buyer@example.com" in html and "Confirmed" in html
    listing = admin_client.get("/admin/snippets/wagtail_guestpay/coupon/").content.decode()
    assert "WELCOME10" in listing and "10 %" in listing
    inspect = admin_client.get(f"/admin/guestpay/transactions/inspect/{order.pk}/")
    text = inspect.content.decode()
    assert inspect.status_code == 200
    assert ">WELCOME10</a>: −4.90 EUR (full price 49.00) · Confirmed (paid)" in text


def test_the_gear_saves_the_coupon_field(admin_client, offer):
    url = f"/admin/snippets/wagtail_guestpay/offer/gear/{offer.pk}/"
    response = admin_client.post(url, {"guest_payment": "on", "coupon_field": "on"})
    assert response.status_code == 200
    assert refreshed(offer).coupon_field is True and offer.guest_payment is True


@pytest.mark.parametrize(
    "language, words", [("fr", "pas un code promo valable"), ("uk", "недійсний код купона")]
)
def test_the_refusal_speaks_the_buyers_language(client, offer, language, words):
    response = client.get(offer.get_pay_path(), {"coupon": "NOPE"}, HTTP_ACCEPT_LANGUAGE=language)
    assert words in response.content.decode()


def test_the_demo_has_welcome10_for_the_demo_course(client, settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.VAR_DIR = tmp_path  # the admin password file
    call_command("load_demo", stdout=StringIO())
    call_command("load_demo", stdout=StringIO())  # safe to run again
    coupon = Coupon.objects.get(code="WELCOME10")
    assert (coupon.kind, coupon.percent_off, coupon.is_active) == ("percent", Decimal("10"), True)
    response = client.get("/guestpay/pay/demo-course/?coupon=WELCOME10")
    assert response.status_code == 303
    page = client.get(response["Location"]).content.decode()
    assert "44.10 EUR" in page
    refused = client.get("/guestpay/pay/members-only/?coupon=WELCOME10")
    assert refused.status_code == 404  # guest payment off: log in first, the code kept
    assert "coupon=WELCOME10" in refused.content.decode()

"""Already yours (issue 10, item 4): a signed-in buyer who holds every product of an offer is
shown the way to it instead of a Pay button; a guest who pays again for what their e-mail's
account holds is served, and the order is marked "bought twice" for staff."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from wagtail.models import Site

from tests.conftest import order_of
from tests.factories import OfferFactory, course_page
from wagtail_guestpay.fulfilment.access import grant_access, has_access
from wagtail_guestpay.models import AccessGrant, Attention, OfferPage, Order

pytestmark = pytest.mark.django_db


def give(user, *products):
    for product in products:
        grant_access(user, product, source=AccessGrant.Source.API)


def button(offer, user):
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load guestpay_tags %}{% guestpay_pay_button offer %}").render(
        Context({"offer": offer, "request": request})
    )


# The pipeline ----------------------------------------------------------------------------------
def test_a_guest_paying_again_is_served_and_the_order_is_marked_bought_twice(
    offer, testpay, run_on_commit, outbox, client
):
    _o, first, _c = testpay.start(offer)
    testpay.notify(first, "paid", email="twice@example.com")
    _o, second, _c = testpay.start(offer)
    testpay.notify(second, "paid", email="Twice@Example.com")

    first, second = order_of(first), order_of(second)
    assert not first.bought_twice and first.attention == ""
    assert second.bought_twice and second.attention == Attention.BOUGHT_TWICE
    assert f"Account {second.user_id} already had" in second.attention_note
    assert second.user == first.user
    assert AccessGrant.objects.filter(order=second).count() == 1  # the existing account gets it
    assert "_auth_user_id" not in client.session  # a payment logs nobody in
    buyers = [m for m in outbox if m.to == ["twice@example.com"]]
    assert len(buyers) == 2
    assert any("staff" in str(m.to) and second.number in m.body for m in outbox)


def test_holding_part_of_the_offer_is_not_bought_twice(account, testpay, run_on_commit, user):
    one, two = course_page("One"), course_page("Two")
    give(user, one)
    offer = OfferFactory(provider_account=account, products=[one, two])
    _o, payment, _c = testpay.start(offer)
    testpay.notify(payment, "paid", email=user.email)

    order = order_of(payment)
    assert not order.bought_twice and order.attention == ""
    assert has_access(user, two)


def test_a_revoked_grant_is_not_holding_it(offer, testpay, run_on_commit, user):
    give(user, *offer.get_products())
    AccessGrant.objects.filter(user=user).update(revoked_at=timezone.now())
    _o, payment, _c = testpay.start(offer)
    testpay.notify(payment, "paid", email=user.email)
    assert not order_of(payment).bought_twice


def test_an_earlier_reason_stays_the_one_to_act_on(offer, testpay, run_on_commit, user):
    from tests.factories import UserFactory

    UserFactory(email="EXISTING@example.com")  # two accounts with one address
    give(user, *offer.get_products())  # the one access goes to (never logged in, oldest)
    _o, payment, _c = testpay.start(offer)
    testpay.notify(payment, "paid", email=user.email)

    order = order_of(payment)
    assert order.bought_twice
    assert order.attention == Attention.SEVERAL_ACCOUNTS
    assert "already had" in order.attention_note


# What a signed-in holder sees ---------------------------------------------------------------------
def test_the_pay_button_becomes_open_it_for_a_holder_only(offer, user):
    product = offer.get_products()[0]
    assert "/guestpay/pay/demo-course/" in button(offer, user)
    give(user, product)
    html = button(offer, user)
    assert "You have this:" in html and f'href="{product.url}"' in html
    assert "/guestpay/pay/" not in html
    assert "/guestpay/pay/demo-course/" in button(offer, AnonymousUser())


def test_an_offer_of_several_products_opens_the_personal_area(account, user):
    pages = [course_page("One"), course_page("Two")]
    offer = OfferFactory(provider_account=account, products=pages)
    give(user, pages[0])
    assert "/guestpay/pay/" in button(offer, user)
    give(user, pages[1])
    assert 'href="/guestpay/account/"' in button(offer, user)


def test_the_offer_page_and_its_pay_blocks_say_you_have_this(client, offer, user):
    site = Site.objects.get(is_default_site=True)
    page = site.root_page.add_child(
        instance=OfferPage(
            title="Buy it",
            slug="buy-it",
            offer=offer,
            body=[("pay_button", {"offer": offer, "label": "", "show_price": True})],
        )
    )
    client.force_login(user)
    assert client.get(page.url).content.decode().count("/guestpay/pay/demo-course/") == 2
    give(user, *offer.get_products())
    html = client.get(page.url).content.decode()
    assert html.count("You have this:") == 2 and "/guestpay/pay/demo-course/" not in html


def test_the_direct_link_opens_it_and_charges_nothing(client, offer, user):
    give(user, *offer.get_products())
    client.force_login(user)
    response = client.get(offer.get_pay_path())
    assert response.status_code == 200
    assert b"You have this:" in response.content
    assert offer.get_products()[0].url.encode() in response.content
    assert Order.objects.count() == 0
    client.logout()  # a guest is never asked: the link goes to the payment system
    assert client.get(offer.get_pay_path()).status_code == 303
    assert Order.objects.count() == 1


def test_the_pay_blocks_direct_rendering_is_the_templates_markup(offer, user):
    from django.template.loader import get_template

    from wagtail_guestpay.blocks import PayButtonBlock
    from wagtail_guestpay.templatetags.guestpay_tags import pay_button_context

    give(user, *offer.get_products())
    request = RequestFactory().get("/")
    request.user = user
    block = PayButtonBlock()
    value = block.to_python({"offer": offer.pk, "label": "", "show_price": True})
    html = block.render(value, {"request": request})
    assert "You have this:" in html
    assert html == get_template("wagtail_guestpay/includes/pay_button.html").render(
        pay_button_context(request, value["offer"], "", True)
    )

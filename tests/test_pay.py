"""Pay button, direct payment link and the registration step of guest-off offers."""

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import code_in
from tests.factories import OfferFactory, TestProviderAccountFactory
from wagtail_guestpay.models import Order, Payment, PendingRegistration
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_guest_link_creates_order_and_payment_and_redirects_once_to_the_provider(client, offer):
    response = client.get("/guestpay/pay/demo-course/")

    assert response.status_code == 303
    payment = Payment.objects.get()
    charge = TestCharge.objects.get()
    assert response["Location"] == f"/guestpay/test-provider/pay/{charge.public_id}/"
    assert "no-store" in response["Cache-Control"]
    order = payment.order
    assert (order.amount, order.currency, order.user, order.paid_as_user) == (
        offer.price,
        offer.currency,
        None,
        False,
    )
    assert payment.reference.startswith("GP") and payment.provider_reference.startswith("ch_")
    assert charge.notify_url == f"http://testserver{payment.account.notification_path()}"
    assert charge.return_url.startswith("http://testserver/guestpay/order/")
    assert charge.amount == offer.price


def test_the_provider_page_shows_the_offer(client, offer):
    location = client.get(offer.get_pay_path())["Location"]
    page = client.get(location)
    assert page.status_code == 200
    assert offer.title.encode() in page.content and b"49.00" in page.content


def test_anonymous_direct_link_is_404_when_guest_payment_is_off(client, members_offer):
    response = client.get("/guestpay/pay/members-only/")
    assert response.status_code == 404
    assert not Order.objects.exists()
    # A page of the site that says what to do (not Django's technical 404 under DEBUG).
    page = response.content.decode()
    assert "<h1>Log in to buy this offer</h1>" in page and members_offer.title in page
    from django.utils.html import escape

    from wagtail_guestpay.adapter import get_adapter

    login = get_adapter().get_login_url("/guestpay/pay/members-only/")
    assert "next=%2Fguestpay%2Fpay%2Fmembers-only%2F" in login
    assert f'href="{escape(login)}"' in page
    assert f'href="{members_offer.get_checkout_path()}"' in page


def test_logged_in_direct_link_reaches_the_provider_when_guest_payment_is_off(
    client, members_offer, user
):
    client.force_login(user)
    response = client.get("/guestpay/pay/members-only/")
    assert response.status_code == 303
    order = Order.objects.get()
    assert order.user == user and order.paid_as_user and order.email == user.email


def test_unknown_or_not_on_sale_offers_are_404(client, account):
    assert client.get("/guestpay/pay/nothing-here/").status_code == 404
    OfferFactory(provider_account=account, slug="closed", is_active=False)
    assert client.get("/guestpay/pay/closed/").status_code == 404
    disabled = TestProviderAccountFactory(is_active=False)
    OfferFactory(provider_account=disabled, slug="disabled-provider")
    assert client.get("/guestpay/pay/disabled-provider/").status_code == 404
    assert not Order.objects.exists()


def test_head_and_prefetch_create_nothing(client, offer):
    assert client.head("/guestpay/pay/demo-course/").status_code == 204
    assert client.get("/guestpay/pay/demo-course/", HTTP_SEC_PURPOSE="prefetch").status_code == 204
    assert not Order.objects.exists()
    assert not TestCharge.objects.exists()


def test_post_to_the_pay_link_is_refused(client, offer):
    assert client.post("/guestpay/pay/demo-course/").status_code == 405


def test_provider_outage_fails_the_payment_and_says_so(client, offer, monkeypatch):
    from wagtail_guestpay.providers.exceptions import ProviderError
    from wagtail_guestpay.testprovider.provider import TestProvider

    def boom(self, payment, urls):
        raise ProviderError("timeout")

    monkeypatch.setattr(TestProvider, "start_payment", boom)
    response = client.get(offer.get_pay_path())
    assert response.status_code == 503
    assert b"not available right now" in response.content
    assert Payment.objects.get().status == "failed"


def test_pay_button_block_links_by_visitor_and_offer(client, offer, members_offer, user):
    from django.template import Context, Template
    from django.test import RequestFactory

    template = Template("{% load guestpay_tags %}{% guestpay_pay_button offer %}")
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert "/guestpay/pay/demo-course/" in template.render(
        Context({"offer": offer, "request": request})
    )
    assert "/guestpay/checkout/members-only/" in template.render(
        Context({"offer": members_offer, "request": request})
    )
    request.user = user
    assert "/guestpay/pay/members-only/" in template.render(
        Context({"offer": members_offer, "request": request})
    )


class TestRegistrationFirst:
    def test_form_shows_the_extra_registration_fields(self, client, members_offer):
        from wagtail.models import Site

        from wagtail_guestpay.models import RegistrationField, RegistrationSettings

        settings = RegistrationSettings.for_site(Site.objects.get(is_default_site=True))
        settings.save()
        RegistrationField.objects.create(settings=settings, label="Company", required=True)
        response = client.get(members_offer.get_checkout_path())
        assert response.status_code == 200
        assert b'name="reg_company"' in response.content
        assert b'name="password1"' in response.content

    def test_registering_confirms_the_address_then_logs_in_and_goes_to_the_provider(
        self, client, members_offer, run_on_commit, outbox
    ):
        """The whole flow is in tests/test_registration.py; here, its two steps in order."""
        response = client.post(
            members_offer.get_checkout_path(),
            {
                "email": "Member@Example.com",
                "password1": "a-long-passphrase-9",
                "password2": "a-long-passphrase-9",
            },
        )
        assert response.status_code == 303
        assert response["Location"] == "/guestpay/checkout/members-only/code/"
        assert not User.objects.exists() and not Order.objects.exists()
        code = code_in(outbox[0])
        response = client.post(response["Location"], {"code": code})
        assert response.status_code == 303
        assert "/guestpay/test-provider/pay/" in response["Location"]
        user = User.objects.get(email="member@example.com")
        assert user.check_password("a-long-passphrase-9")
        assert int(client.session["_auth_user_id"]) == user.pk
        order = Order.objects.get()
        assert order.user == user and order.paid_as_user

    def test_an_address_with_an_account_is_answered_alike_and_told_to_log_in_by_e_mail(
        self, client, members_offer, user, run_on_commit, outbox
    ):
        response = client.post(
            members_offer.get_checkout_path(),
            {
                "email": user.email,
                "password1": "a-long-passphrase-9",
                "password2": "a-long-passphrase-9",
            },
        )
        assert response.status_code == 303
        assert response["Location"] == "/guestpay/checkout/members-only/code/"
        page = client.get(response["Location"]).content.decode()
        assert f"Enter the code we e-mailed to {user.email}" in page
        [message] = outbox
        assert "log in to continue your purchase" in message.body
        assert "_auth_user_id" not in client.session
        assert not Order.objects.exists() and User.objects.count() == 1

    def test_weak_or_mismatched_passwords_are_refused(self, client, members_offer):
        response = client.post(
            members_offer.get_checkout_path(),
            {"email": "weak@example.com", "password1": "123", "password2": "123"},
        )
        assert response.status_code == 200 and not User.objects.exists()
        response = client.post(
            members_offer.get_checkout_path(),
            {
                "email": "weak@example.com",
                "password1": "a-long-passphrase-9",
                "password2": "another-long-passphrase",
            },
        )
        assert b"The two passwords differ" in response.content
        assert not User.objects.exists() and not PendingRegistration.objects.exists()

    def test_guest_offer_checkout_goes_to_the_pay_link(self, client, offer):
        response = client.get(offer.get_checkout_path())
        assert response.status_code == 302 and response["Location"] == offer.get_pay_path()

    def test_csrf_is_enforced(self, members_offer):
        from django.test import Client

        response = Client(enforce_csrf_checks=True).post(
            members_offer.get_checkout_path(),
            {
                "email": "csrf@example.com",
                "password1": "a-long-passphrase-9",
                "password2": "a-long-passphrase-9",
            },
        )
        assert response.status_code == 403
        assert not User.objects.exists() and not PendingRegistration.objects.exists()

"""Free offers (price 0, issue 11 item 3): the pay link asks for an e-mail address, a code
e-mailed to it is typed back, and the offer is granted through the paid orders' path (an Order
paid, amount 0, source "free"; the same access e-mail and account rules). No payment system is
ever asked; nobody is logged in by it; every address gets the same answer."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.conftest import code_in, other_than, run_pending_on_commit, to
from tests.factories import OfferFactory, UserFactory
from wagtail_guestpay.models import (
    AccessGrant,
    Contact,
    Offer,
    Order,
    OutboundEmail,
    Payment,
    PendingRegistration,
)
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db
User = get_user_model()
PAY = "/guestpay/pay/free-guide/"
CODE = "/guestpay/free/free-guide/code/"


@pytest.fixture
def free_offer():
    return OfferFactory(
        title="Free guide", slug="free-guide", price=Decimal("0"), provider_account=None
    )


def ask(client, email, **extra):
    response = client.post(PAY, {"email": email}, **extra)
    run_pending_on_commit()
    return response


def type_code(client, code, **extra):
    response = client.post(CODE, {"code": code}, **extra)
    run_pending_on_commit()
    return response


def logged_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def holds(user, offer):
    return AccessGrant.objects.filter(
        user=user, product=offer.get_products()[0], revoked_at=None
    ).exists()


def without_csrf(html, email=""):
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(email, "ADDRESS") if email else html


# The pay link --------------------------------------------------------------------------------
def test_the_pay_link_answers_with_an_e_mail_form_and_asks_no_payment_system(client, free_offer):
    response = client.get(PAY)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert 'type="email"' in text and 'name="email"' in text
    assert "<label" in text and "Send me the code" in text
    assert "Get Free guide free" in text
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert not TestCharge.objects.exists()


def test_the_code_grants_access_and_sends_the_access_e_mail_without_logging_in(
    client, free_offer, outbox
):
    asked = ask(client, "New@Example.com")
    assert asked.status_code == 303 and asked["Location"] == CODE
    assert not Order.objects.exists() and not User.objects.exists()
    [message] = outbox
    assert message.to == ["new@example.com"] and "Free guide" in message.subject
    page = client.get(CODE)
    assert "Enter the code we e-mailed to new@example.com" in page.content.decode()

    done = type_code(client, code_in(message))
    assert done.status_code == 303 and done["Location"].startswith("/guestpay/order/")
    order = Order.objects.get()
    assert (order.status, order.source, order.amount) == ("paid", "free", Decimal("0"))
    assert order.email == "new@example.com" and not order.payments.exists()
    assert holds(order.user, free_offer) and logged_in_user(client) is None
    assert Contact.objects.get(email="new@example.com").source == Contact.Source.FREE_OFFER
    [access] = to(outbox, "new@example.com")[1:]
    assert "Here is Free guide, free." in access.body
    assert "/guestpay/access/" in access.body  # the new account's set-up link
    assert "Free" in access.body and "0.00" not in access.body

    result = client.get(done["Location"])
    text = result.content.decode()
    assert result.status_code == 200 and "It is yours, thank you!" in text
    assert "new@example.com" in text and "Payment received" not in text
    assert "guestpay-claim" not in text  # the address was confirmed: nothing to correct
    assert PendingRegistration.objects.get().status == PendingRegistration.Status.USED


def test_an_existing_account_gets_it_and_nobody_is_logged_in(client, free_offer, outbox):
    user = UserFactory(email="known@example.com")
    ask(client, "known@example.com")
    type_code(client, code_in(outbox[0]))
    order = Order.objects.get()
    assert order.user == user and not order.paid_as_user and holds(user, free_offer)
    assert logged_in_user(client) is None and User.objects.count() == 1
    assert not order.attention and not order.bought_twice
    [access] = to(outbox, "known@example.com")[1:]
    assert "/guestpay/access/" not in access.body and "/guestpay/login/" in access.body


def test_a_known_and_an_unknown_address_get_the_same_answer(free_offer, outbox):
    UserFactory(email="known@example.com")
    pages = []
    for email in ("known@example.com", "unknown@example.com"):
        browser = Client()
        asked = ask(browser, email)
        page = browser.get(CODE)
        pages.append(
            (asked.status_code, asked["Location"], without_csrf(page.content.decode(), email))
        )
    assert pages[0] == pages[1]
    # Both get a code (an existing account gets the offer too): the mailbox tells nothing either.
    assert [len(to(outbox, email)) for email in ("known@example.com", "unknown@example.com")] == [
        1,
        1,
    ]
    assert {OutboundEmail.objects.values_list("kind", flat=True).distinct().get()} == {"free_code"}


# Codes that do not go through ---------------------------------------------------------------
def test_a_wrong_code_changes_nothing_and_says_so(client, free_offer, outbox):
    ask(client, "a@example.com")
    code = code_in(outbox[0])
    wrong = type_code(client, other_than(code))
    assert wrong.status_code == 303 and wrong["Location"] == CODE
    assert "This is not the code we sent. 4 tries left." in client.get(CODE).content.decode()
    assert not Order.objects.exists() and not User.objects.exists()
    assert type_code(client, "not a code").status_code == 400
    assert PendingRegistration.objects.get().attempts == 1
    assert type_code(client, code).status_code == 303 and Order.objects.count() == 1


def test_a_used_code_cannot_be_replayed_and_a_double_submit_grants_once(client, free_offer, outbox):
    ask(client, "twice@example.com")
    code = code_in(outbox[0])
    registration_token = client.session["wagtail_guestpay_free"]
    first = type_code(client, code)
    # The same form sent again (the session as it was when the page was shown).
    session = client.session
    session["wagtail_guestpay_free"] = registration_token
    session.save()
    second = type_code(client, code)
    assert first["Location"].startswith("/guestpay/order/")
    assert second.status_code == 303 and second["Location"] == CODE
    assert "This code was used" in client.get(CODE).content.decode()
    assert Order.objects.count() == 1 and len(to(outbox, "twice@example.com")) == 2
    assert AccessGrant.objects.count() == 1


def test_an_expired_code_grants_nothing_and_a_new_code_works(client, free_offer, outbox):
    ask(client, "late@example.com")
    code = code_in(outbox[0])
    PendingRegistration.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert type_code(client, code).status_code == 303
    assert "This code has expired" in client.get(CODE).content.decode()
    assert not Order.objects.exists()
    assert client.post(CODE + "new/").status_code == 303
    run_pending_on_commit()
    fresh = code_in(to(outbox, "late@example.com")[-1])
    assert fresh != code or True
    assert type_code(client, fresh)["Location"].startswith("/guestpay/order/")
    assert Order.objects.count() == 1


def test_a_code_from_another_browser_finds_nothing(client, free_offer, outbox):
    ask(client, "mine@example.com")
    stranger = Client()
    response = type_code(stranger, code_in(outbox[0]))
    assert response.status_code == 400 and not Order.objects.exists()
    assert stranger.get(CODE)["Location"] == PAY


def test_malformed_requests_answer_without_a_500(client, free_offer):
    assert client.post(PAY, {"email": "x" * 300}).status_code == 400
    assert client.post(CODE, {"code": "1" * 5000}).status_code == 400
    assert client.get(CODE)["Location"] == PAY
    assert client.post(CODE + "new/").status_code == 303
    assert client.put(PAY).status_code == 405
    assert client.post(PAY, {"email": ["a@example.com", "b@example.com"]}).status_code in (303, 400)
    assert not Order.objects.exists()


def test_csrf_is_enforced(free_offer):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(PAY, {"email": "a@example.com"}).status_code == 403
    assert not PendingRegistration.objects.exists()


# Rate limits ---------------------------------------------------------------------------------
class TestRateLimits:
    @pytest.fixture(autouse=True)
    def small_budgets(self, settings):
        settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (2, 600)
        settings.WAGTAIL_GUESTPAY_REGISTRATION_RATE_LIMITS = {
            "register_email": (2, 3600),
            "verify_client": (3, 600),
            "verify_registration": (2, 600),
            "resend_client": (1, 3600),
        }

    def test_per_client(self, client, free_offer, outbox):
        codes = [ask(client, f"c{number}@example.com").status_code for number in range(3)]
        assert codes == [303, 303, 429]
        assert PendingRegistration.objects.count() == 2 and len(outbox) == 2

    def test_per_address_across_clients(self, free_offer, outbox):
        codes = [
            ask(Client(REMOTE_ADDR=f"10.0.0.{number}"), "target@example.com").status_code
            for number in range(1, 4)
        ]
        assert codes == [303, 303, 429] and len(outbox) == 2

    def test_codes_typed_per_request(self, client, free_offer, outbox):
        ask(client, "typed@example.com")
        code = code_in(outbox[0])
        type_code(client, other_than(code), REMOTE_ADDR="10.0.0.1")
        type_code(client, other_than(code), REMOTE_ADDR="10.0.0.2")
        assert type_code(client, code, REMOTE_ADDR="10.0.0.3").status_code == 429
        assert not Order.objects.exists()

    def test_new_codes_per_client(self, client, free_offer, outbox):
        ask(client, "again@example.com")
        assert client.post(CODE + "new/").status_code == 303
        assert client.post(CODE + "new/").status_code == 429


# Signed-in buyers and offers without guest payment -----------------------------------------
def test_a_signed_in_buyer_gets_it_with_one_button_once(client, free_offer, outbox, settings):
    user = UserFactory(email="member@example.com")
    client.force_login(user)
    page = client.get(PAY)
    text = page.content.decode()
    assert page.status_code == 200 and "Get it free" in text and 'name="email"' not in text
    nonce = re.search(r'name="nonce" value="([^"]+)"', text).group(1)
    first = client.post(PAY, {"nonce": nonce})
    run_pending_on_commit()
    assert first["Location"].startswith("/guestpay/order/")
    order = Order.objects.get()
    assert order.user == user and order.paid_as_user and holds(user, free_offer)
    assert len(to(outbox, "member@example.com")) == 1
    # Holding it already, the same form sent again is answered "you have this".
    again = client.post(PAY, {"nonce": nonce})
    assert again.status_code == 200 and "You have this" in again.content.decode()
    # Even once it is no longer held, the same form grants nothing more (its nonce is spent).
    AccessGrant.objects.update(revoked_at=timezone.now())
    replay = client.post(PAY, {"nonce": nonce})
    run_pending_on_commit()
    assert replay.status_code == 302 and Order.objects.count() == 1
    assert client.post(PAY, {"nonce": "short"}).status_code == 303
    assert Order.objects.count() == 1 and len(outbox) == 1
    AccessGrant.objects.update(revoked_at=None)
    # Holding it already, the pay link says so instead of granting again.
    assert "You have this" in client.get(PAY).content.decode()


def test_without_guest_payment_the_registration_form_confirms_then_grants(client, outbox):
    offer = OfferFactory(
        slug="members-guide", price=Decimal("0"), provider_account=None, guest_payment=False
    )
    assert client.get(offer.get_pay_path()).status_code == 404
    form = client.get(offer.get_checkout_path()).content.decode()
    assert "free" in form and "payment page" not in form
    password = "a-long-passphrase-9"
    client.post(
        offer.get_checkout_path(),
        {"email": "reg@example.com", "password1": password, "password2": password},
    )
    run_pending_on_commit()
    done = client.post(f"/guestpay/checkout/{offer.slug}/code/", {"code": code_in(outbox[0])})
    run_pending_on_commit()
    assert done.status_code == 303 and done["Location"].startswith("/guestpay/order/")
    order = Order.objects.get()
    user = User.objects.get(email="reg@example.com")
    assert order.is_free and order.user == user and holds(user, offer)
    assert logged_in_user(client) == user  # the buyer's own registration logs in, as before
    assert not Payment.objects.exists() and not TestCharge.objects.exists()


def test_a_priced_offer_s_pay_link_takes_no_post(client, offer):
    assert client.post(offer.get_pay_path(), {"email": "a@example.com"}).status_code == 405
    assert not Order.objects.exists()


# The offer itself ---------------------------------------------------------------------------
def test_a_free_offer_needs_no_payment_system(free_offer):
    free_offer.guest_payment = True
    free_offer.full_clean()
    assert free_offer.can_take_payment and free_offer.takes_guest_payment
    free_offer.price = Decimal("-1")
    with pytest.raises(Exception, match="price"):
        free_offer.full_clean()


def test_the_pay_button_says_get_it_free(rf, free_offer):
    from django.contrib.auth.models import AnonymousUser

    from wagtail_guestpay.blocks.button_html import render_pay_button

    request = rf.get("/")
    request.user = AnonymousUser()
    html = render_pay_button(request, free_offer)
    assert "Get it free" in html and "Pay" not in html and PAY in html
    assert "Free" in render_pay_button(request, free_offer, label="Download", show_price=True)


def test_the_demo_has_the_free_guide_with_its_page_and_a_pay_block(client, settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.VAR_DIR = tmp_path  # the admin password file
    call_command("load_demo", stdout=StringIO())
    call_command("load_demo", stdout=StringIO())  # safe to run again
    offer = Offer.objects.get(slug="free-guide", locale__language_code="en")
    assert offer.is_free and offer.takes_guest_payment and offer.provider_account is None
    assert client.get(PAY).status_code == 200
    for path in ("/", "/free-guide/"):
        page = client.get(path).content.decode()
        assert f'href="{PAY}"' in page and "Get it free" in page

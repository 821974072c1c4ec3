"""Registration before payment (offers without guest payment), verified by an e-mailed code: the
form answers the same for every address; a free address gets a code, a taken one an e-mail that
says to log in; only the right code, typed in the browser that registered, creates the account,
logs it in and goes to the payment system."""

import json
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone, translation
from wagtail.models import Site

from tests.conftest import code_in, other_than, run_pending_on_commit, to
from tests.factories import UserFactory
from wagtail_guestpay.buyers import registrations
from wagtail_guestpay.buyers.codes import CodeCheck
from wagtail_guestpay.models import (
    Contact,
    GuestAccount,
    Order,
    OutboundEmail,
    PendingRegistration,
    RegistrationField,
    RegistrationSettings,
)
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db
User = get_user_model()
PASSWORD = "a-long-passphrase-9"
Status = PendingRegistration.Status


def register(client, offer, email, password=PASSWORD, **data):
    response = client.post(
        offer.get_checkout_path(),
        {"email": email, "password1": password, "password2": password, **data},
    )
    run_pending_on_commit()
    return response


def code_path(offer):
    return f"/guestpay/checkout/{offer.slug}/code/"


def type_code(client, offer, code, **extra):
    response = client.post(code_path(offer), {"code": code}, **extra)
    run_pending_on_commit()
    return response


def refused_code(client, offer, code, **extra):
    """Type a code that does not go through: the answer is a 303 back to the code page (never
    a page answering the POST, which a reload would post again); returns that page."""
    response = type_code(client, offer, code, **extra)
    assert response.status_code == 303 and response["Location"] == code_path(offer), response
    return client.get(response["Location"])


def to_payment(response):
    """The right code: a 303 to the payment system (here TestPay's hosted page)."""
    return response.status_code == 303 and "/guestpay/test-provider/" in response["Location"]


def new_code(client, offer, **extra):
    response = client.post(code_path(offer) + "new/", **extra)
    run_pending_on_commit()
    return response


def logged_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


@pytest.fixture
def company_field():
    settings = RegistrationSettings.for_site(Site.objects.get(is_default_site=True))
    settings.save()
    RegistrationField.objects.create(settings=settings, label="Company", required=True)


# A free address --------------------------------------------------------------------------------
def test_a_free_address_gets_a_code_and_the_right_code_creates_the_account_and_pays(
    client, members_offer, outbox, company_field
):
    response = register(client, members_offer, "Member@Example.com", reg_company="ACME")
    assert response.status_code == 303
    assert response["Location"] == code_path(members_offer)
    # Nothing exists yet but the pending registration, its password already hashed.
    assert not User.objects.exists() and not Contact.objects.exists()
    assert not Order.objects.exists() and logged_in_user(client) is None
    pending = PendingRegistration.objects.get()
    assert pending.email == "member@example.com" and pending.status == Status.PENDING
    assert PASSWORD not in pending.password and check_password(PASSWORD, pending.password)
    assert pending.registration_data == {"company": "ACME"}
    assert pending.offer == members_offer and pending.codes_sent == 1

    [message] = outbox
    assert message.to == ["member@example.com"]
    code = code_in(message)
    assert code not in pending.code_hash and len(pending.code_hash) == 64
    assert "to buy " + members_offer.title in message.body
    assert "It works for 15 minutes" in message.body

    page = client.get(code_path(members_offer))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert "Enter the code we e-mailed to member@example.com" in text
    login = f"/guestpay/login/?next={quote(members_offer.get_pay_path(), safe='')}"
    assert f'href="{login}"' in text.replace("&amp;", "&")
    assert 'autocomplete="one-time-code"' in text and "Send a new code" in text

    done = type_code(client, members_offer, code)
    assert done.status_code == 303
    assert "/guestpay/test-provider/pay/" in done["Location"]
    user = User.objects.get(email="member@example.com")
    assert user.check_password(PASSWORD) and user.is_active
    assert logged_in_user(client) == user
    assert not GuestAccount.objects.filter(user=user).exists()  # a registered account, not a guest
    contact = Contact.objects.get(email="member@example.com")
    assert contact.user == user and contact.source == Contact.Source.REGISTRATION
    assert contact.registration_data == {"company": "ACME"}
    order = Order.objects.get()
    assert order.user == user and order.paid_as_user and order.email == "member@example.com"
    pending.refresh_from_db()
    assert pending.status == Status.USED and pending.used_at and pending.password == ""
    assert "wagtail_guestpay_registration" not in client.session


def test_the_form_answers_before_any_account_is_looked_at(members_offer, outbox, user):
    """The request only records the registration; which e-mail goes out (code or log-in) is
    decided by the task queued after commit."""
    browser = Client()
    response = browser.post(
        members_offer.get_checkout_path(),
        {"email": user.email, "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 303
    pending = PendingRegistration.objects.get()
    assert (pending.codes_sent, pending.code_hash, OutboundEmail.objects.count()) == (0, "", 0)
    run_pending_on_commit()
    assert to(outbox, user.email) and PendingRegistration.objects.get().codes_sent == 1


def test_every_page_answers_the_same_for_a_taken_and_a_free_address(members_offer, outbox, user):
    """The form, the code page, a wrong code and "send a new code" read the same whether the
    address has an account or not (the address itself aside): only the e-mail, which goes to the
    address's owner, says which."""

    def normalized(response, email, typed=None):
        text = re.sub(
            r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", response.content.decode()
        )
        if typed:
            text = text.replace(f'value="{typed}"', 'value="TYPED"')
        return response.status_code, text.replace(email, "EMAIL")

    answers = []
    for email in (user.email, "free@example.com"):
        browser = Client()
        form = register(browser, members_offer, email)
        [mail] = to(outbox, email)
        wrong_code = other_than(code_in(mail)) if "Your code" in mail.body else "000000"
        page = browser.get(code_path(members_offer))
        wrong = refused_code(browser, members_offer, wrong_code)
        resend = new_code(browser, members_offer)
        answers.append(
            {
                "form": (form.status_code, form["Location"]),
                "page": normalized(page, email),
                "wrong": normalized(wrong, email, typed=wrong_code),
                "resend": (resend.status_code, resend["Location"]),
                "after": normalized(browser.get(resend["Location"]), email),
            }
        )
        assert len(to(outbox, email)) == 2  # the e-mail went out again, whatever it says
    assert "You already have an account" in to(outbox, user.email)[0].body
    assert "Your code" in to(outbox, "free@example.com")[0].body
    assert answers[0]["wrong"][0] == 200 and b"Send a new code" in page.content
    assert "This is not the code we sent." in answers[0]["wrong"][1]
    assert answers[0] == answers[1]


def test_the_code_e_mail_keeps_its_code_sealed_until_sent(client, members_offer, outbox):
    register(client, members_offer, "sealed@example.com")
    row = OutboundEmail.objects.get(kind="registration_code")
    assert row.sent_at is not None and "sealed" not in row.data
    assert code_in(outbox[0]) not in json.dumps(row.data)


# A taken address -------------------------------------------------------------------------------
def test_a_taken_address_gets_a_log_in_e_mail_and_no_code(client, members_offer, outbox, user):
    response = register(client, members_offer, user.email.upper())
    assert response.status_code == 303 and response["Location"] == code_path(members_offer)
    [message] = outbox
    assert message.to == [user.email]
    assert "You already have an account: log in to continue your purchase." in message.body
    login = "http://testserver/guestpay/login/?next=" + quote(members_offer.get_pay_path(), safe="")
    assert login in message.body
    assert "http://testserver/guestpay/password-reset/" in message.body
    assert "/guestpay/access/new-link/" not in message.body  # the account has a password
    assert not re.search(r"\b\d{6}\b", message.body)
    html = message.alternatives[0][0]
    assert f'href="{login}"' in html
    pending = PendingRegistration.objects.get()
    assert pending.code_hash == "" and pending.codes_sent == 1

    # No code works, and the page answers as to a wrong code: nobody is logged in.
    for guess in ("000000", "123456"):
        answer = refused_code(client, members_offer, guess)
        assert b"This is not the code we sent." in answer.content
    assert logged_in_user(client) is None
    assert User.objects.count() == 1 and not Order.objects.exists()
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery")  # the account's password is untouched


def test_an_account_retired_for_a_typo_is_taken_back_by_its_address_s_owner(
    client, members_offer, outbox
):
    """An account a correction retired (created for somebody else's typo, never used) does not
    hold the address: its owner gets a code and, typing it, that account with their password."""
    retired = UserFactory(email="member@example.com", is_active=False)
    retired.set_unusable_password()
    retired.save()
    GuestAccount.objects.create(user=retired, retired_at=timezone.now())

    register(client, members_offer, "member@example.com")
    [message] = outbox
    code = code_in(message)  # a code, not "you already have an account"
    assert to_payment(type_code(client, members_offer, code))

    retired.refresh_from_db()
    assert User.objects.filter(email__iexact="member@example.com").count() == 1
    assert retired.is_active and retired.check_password(PASSWORD)
    assert logged_in_user(client) == retired
    guest = GuestAccount.objects.get(user=retired)
    assert guest.retired_at is None and guest.activated_at is not None


@pytest.mark.parametrize("retired", [False, True])
def test_a_deactivated_account_still_holds_its_address(client, members_offer, outbox, retired):
    """Staff deactivated it, or a correction retired it but it was used since (here: it has a
    password): its owner is told to log in, and no second account is made."""
    user = UserFactory(email="member@example.com", is_active=False)
    if retired:
        GuestAccount.objects.create(user=user, retired_at=timezone.now())
    register(client, members_offer, "member@example.com")
    [message] = outbox
    assert "You already have an account" in message.body
    assert not re.search(r"\b\d{6}\b", message.body)


def test_an_account_a_payment_made_is_told_how_to_open_it(
    client, members_offer, offer, testpay, run_on_commit, outbox
):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="guest@example.com")
    outbox.clear()
    register(client, members_offer, "guest@example.com")
    [message] = outbox
    assert "You already have an account" in message.body
    assert "http://testserver/guestpay/access/new-link/" in message.body
    assert User.objects.filter(email="guest@example.com").count() == 1


def test_an_address_that_got_an_account_meanwhile_is_refused(client, members_offer, outbox):
    register(client, members_offer, "late@example.com")
    code = code_in(outbox[0])
    UserFactory(email="late@example.com")
    response = refused_code(client, members_offer, code)
    assert b"This address has an account now: log in to continue your purchase." in response.content
    assert logged_in_user(client) is None
    assert User.objects.count() == 1 and not Order.objects.exists()
    assert not Contact.objects.exists()  # the Contact made under the lock was rolled back
    pending = PendingRegistration.objects.get()
    assert pending.status == Status.CANCELLED and pending.password == ""


# Wrong codes, expiry, replay, other sessions ---------------------------------------------------
def test_wrong_codes_count_down_then_lock_the_registration(client, members_offer, outbox, settings):
    settings.WAGTAIL_GUESTPAY_REGISTRATION_CODE_MAX_ATTEMPTS = 3
    register(client, members_offer, "guess@example.com")
    code = code_in(outbox[0])
    first = refused_code(client, members_offer, other_than(code))
    assert b"2 tries left" in first.content
    assert b"1 try left" in refused_code(client, members_offer, other_than(code)).content
    locked = refused_code(client, members_offer, other_than(code))
    assert b"Too many wrong codes. Fill in the form again to get a new code." in locked.content
    assert b'name="code"' not in locked.content  # no form left to type into
    right_too_late = refused_code(client, members_offer, code)
    assert b"Too many wrong codes." in right_too_late.content
    assert not User.objects.exists() and logged_in_user(client) is None
    pending = PendingRegistration.objects.get()
    assert pending.status == Status.LOCKED and pending.attempts == 3 and pending.password == ""
    assert new_code(client, members_offer).status_code == 429  # no new code for it either
    later = client.get(code_path(members_offer))
    assert b"Too many wrong codes." in later.content and b'name="code"' not in later.content
    assert len(outbox) == 1


def test_reloading_the_page_after_a_wrong_code_spends_no_other_try(client, members_offer, outbox):
    """Redirect after POST: the wrong code is answered by a 303, its message shown once by GET;
    reloading that page posts nothing."""
    register(client, members_offer, "reload@example.com")
    wrong = other_than(code_in(outbox[0]))
    answer = type_code(client, members_offer, wrong)
    assert answer.status_code == 303 and answer["Location"] == code_path(members_offer)
    page = client.get(answer["Location"])
    assert page.status_code == 200 and b"4 tries left" in page.content
    assert b'name="code"' in page.content and wrong.encode() not in page.content
    reloaded = client.get(answer["Location"])
    assert b"tries left" not in reloaded.content and b'name="code"' in reloaded.content
    assert PendingRegistration.objects.get().attempts == 1


def test_a_malformed_code_uses_no_attempt(client, members_offer, outbox):
    register(client, members_offer, "format@example.com")
    response = type_code(client, members_offer, "12ab")
    assert response.status_code == 400 and b"Enter the 6-digit code" in response.content
    assert PendingRegistration.objects.get().attempts == 0
    assert to_payment(
        type_code(client, members_offer, code_in(outbox[0])[:3] + " " + code_in(outbox[0])[3:])
    )


def test_an_expired_code_creates_nothing_and_a_new_code_works(
    client, members_offer, outbox, settings, monkeypatch
):
    monkeypatch.setattr(registrations, "new_code", iter(["111111", "222222"]).__next__)
    settings.WAGTAIL_GUESTPAY_REGISTRATION_CODE_MAX_AGE = timedelta(minutes=5)
    register(client, members_offer, "slow@example.com")
    old = code_in(outbox[0])
    assert "It works for 5 minutes" in outbox[0].body
    PendingRegistration.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert b"This code has expired." in client.get(code_path(members_offer)).content
    expired = refused_code(client, members_offer, old)
    assert b"This code has expired. Ask for a new code below." in expired.content
    assert not User.objects.exists() and logged_in_user(client) is None

    again = new_code(client, members_offer)
    assert again.status_code == 303 and again["Location"] == code_path(members_offer) + "?sent=1"
    assert b"A new code is on its way." in client.get(again["Location"]).content
    assert len(outbox) == 2
    fresh = code_in(outbox[1])
    pending = PendingRegistration.objects.get()
    assert pending.expires_at > timezone.now() + timedelta(minutes=4)
    assert (old, fresh) == ("111111", "222222")
    assert b"This is not the code we sent" in refused_code(client, members_offer, old).content
    assert to_payment(type_code(client, members_offer, fresh))
    assert User.objects.get().email == "slow@example.com"


def test_a_used_code_cannot_be_replayed(client, members_offer, outbox):
    register(client, members_offer, "once@example.com")
    code = code_in(outbox[0])
    before_login = Client()  # the same session, as it was before the code
    before_login.cookies["sessionid"] = client.cookies["sessionid"].value
    assert to_payment(type_code(client, members_offer, code))
    replay = type_code(before_login, members_offer, code)  # login cycled that session away
    assert replay.status_code == 400
    assert b"No registration is waiting for a code in this browser." in replay.content
    # And the registration itself, reached directly, is over.
    result = registrations.confirm(PendingRegistration.objects.get(), code)
    assert result.result == CodeCheck.EXPIRED
    assert User.objects.count() == 1 and Order.objects.count() == 1


def test_another_browser_cannot_use_the_registration(client, members_offer, outbox):
    register(client, members_offer, "mine@example.com")
    code = code_in(outbox[0])
    stranger = Client()
    page = stranger.get(code_path(members_offer))
    assert page.status_code == 302 and page["Location"] == members_offer.get_checkout_path()
    response = type_code(stranger, members_offer, code)
    assert response.status_code == 400
    assert b"No registration is waiting for a code in this browser." in response.content
    assert b"mine@example.com" not in response.content
    assert new_code(stranger, members_offer)["Location"] == members_offer.get_checkout_path()
    # A browser with its own registration: the other one's code is just a wrong code.
    register(stranger, members_offer, "theirs@example.com")
    assert b"This is not the code we sent" in refused_code(stranger, members_offer, code).content
    assert not User.objects.exists() and logged_in_user(stranger) is None
    mine = PendingRegistration.objects.get(email="mine@example.com")
    assert mine.attempts == 0 and len(outbox) == 2
    assert to_payment(type_code(client, members_offer, code))
    assert logged_in_user(client).email == "mine@example.com"


def test_the_registration_belongs_to_its_offer(client, members_offer, account, outbox):
    from tests.factories import OfferFactory

    other = OfferFactory(provider_account=account, slug="other-members", guest_payment=False)
    register(client, members_offer, "offer@example.com")
    assert client.get(code_path(other)).status_code == 302
    assert type_code(client, other, code_in(outbox[0])).status_code == 400
    assert PendingRegistration.objects.get().attempts == 0


def test_registering_again_replaces_the_previous_registration(client, members_offer, outbox):
    register(client, members_offer, "first@example.com")
    first_code = code_in(outbox[0])
    register(client, members_offer, "second@example.com")
    first = PendingRegistration.objects.get(email="first@example.com")
    assert first.status == Status.REPLACED and first.password == ""
    page = client.get(code_path(members_offer)).content.decode()
    assert "second@example.com" in page and "first@example.com" not in page
    assert registrations.confirm(first, first_code).result == CodeCheck.EXPIRED
    assert to_payment(type_code(client, members_offer, code_in(outbox[1])))
    assert User.objects.get().email == "second@example.com"


def test_a_new_code_replaces_the_previous_one_and_there_are_few(
    client, members_offer, outbox, settings
):
    settings.WAGTAIL_GUESTPAY_REGISTRATION_MAX_CODES = 2
    register(client, members_offer, "resend@example.com")
    first = PendingRegistration.objects.get()
    assert new_code(client, members_offer).status_code == 303
    second = PendingRegistration.objects.get()
    assert (second.codes_sent, len(outbox)) == (2, 2)
    assert second.salt != first.salt and second.code_hash != first.code_hash
    over = new_code(client, members_offer)
    assert over.status_code == 429
    assert b"No more codes can be sent for this registration." in over.content
    assert len(outbox) == 2
    assert to_payment(type_code(client, members_offer, code_in(outbox[1])))


def test_the_e_mail_task_sends_each_e_mail_once(client, members_offer, outbox):
    register(client, members_offer, "twice@example.com")
    pending = PendingRegistration.objects.get()
    assert registrations.send_code(pending.pk, 1) is None  # a retried task: nothing new
    assert PendingRegistration.objects.get().code_hash == pending.code_hash
    assert len(outbox) == 1


# The rest of the page ------------------------------------------------------------------------
def test_the_code_page_keeps_the_log_in_link_and_the_merchant_contacts(
    client, members_offer, outbox
):
    from wagtail_guestpay.models import MerchantContacts

    contacts = MerchantContacts.for_site(Site.objects.get(is_default_site=True))
    contacts.email = "help@shop.example"
    contacts.save()
    register(client, members_offer, "page@example.com")
    page = client.get(code_path(members_offer))
    assert b"Already have an account?" in page.content
    assert b"help@shop.example" in page.content
    assert "no-store" in page["Cache-Control"] and page["X-Robots-Tag"] == "noindex, nofollow"


def test_logged_in_visitors_and_guest_offers_skip_the_code_page(client, members_offer, offer, user):
    assert client.get(code_path(offer))["Location"] == offer.get_pay_path()
    client.force_login(user)
    assert client.get(code_path(members_offer))["Location"] == members_offer.get_pay_path()


def test_csrf_is_enforced_on_every_step(members_offer, outbox):
    browser = Client(enforce_csrf_checks=True)
    browser.get(members_offer.get_checkout_path())
    data = {"email": "csrf@example.com", "password1": PASSWORD, "password2": PASSWORD}
    assert browser.post(members_offer.get_checkout_path(), data).status_code == 403
    assert not PendingRegistration.objects.exists()
    page = browser.get(members_offer.get_checkout_path()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert (
        browser.post(
            members_offer.get_checkout_path(), {**data, "csrfmiddlewaretoken": token}
        ).status_code
        == 303
    )
    run_pending_on_commit()
    code = code_in(outbox[0])
    assert browser.post(code_path(members_offer), {"code": code}).status_code == 403
    assert browser.post(code_path(members_offer) + "new/").status_code == 403
    pending = PendingRegistration.objects.get()
    assert (pending.attempts, pending.codes_requested, len(outbox)) == (0, 1, 1)
    assert not User.objects.exists()


def test_the_e_mails_follow_the_buyer_s_language(client, members_offer, outbox, user):
    with translation.override("fr"):
        client.post(
            members_offer.get_checkout_path(),
            {"email": "fr@example.com", "password1": PASSWORD, "password2": PASSWORD},
            HTTP_ACCEPT_LANGUAGE="fr",
        )
    run_pending_on_commit()
    assert PendingRegistration.objects.get().language == "fr"
    assert "Votre code" in outbox[0].body


def test_maintenance_deletes_long_expired_registrations(client, members_offer, outbox):
    register(client, members_offer, "old@example.com")
    register(Client(), members_offer, "recent@example.com")
    PendingRegistration.objects.filter(email="old@example.com").update(
        expires_at=timezone.now() - timedelta(days=2)
    )
    assert run_maintenance()["registrations_purged"] == 1
    assert list(PendingRegistration.objects.values_list("email", flat=True)) == [
        "recent@example.com"
    ]


# Rate limits -----------------------------------------------------------------------------------
class TestRateLimits:
    @pytest.fixture(autouse=True)
    def small_budgets(self, settings):
        settings.WAGTAIL_GUESTPAY_REGISTRATION_RATE_LIMITS = {
            "register_email": (2, 3600),
            "verify_client": (3, 600),
            "verify_registration": (2, 600),
            "resend_client": (1, 3600),
        }

    def test_registrations_per_address_across_clients(self, members_offer, outbox):
        codes = [
            register(
                Client(REMOTE_ADDR=f"10.0.0.{i}"), members_offer, "target@example.com"
            ).status_code
            for i in range(1, 4)
        ]
        assert codes == [303, 303, 429]
        assert PendingRegistration.objects.count() == 2 and len(outbox) == 2

    def test_codes_typed_per_registration(self, client, members_offer, outbox):
        register(client, members_offer, "typed@example.com")
        code = code_in(outbox[0])
        type_code(client, members_offer, other_than(code), REMOTE_ADDR="10.0.0.1")
        type_code(client, members_offer, other_than(code), REMOTE_ADDR="10.0.0.2")
        assert type_code(client, members_offer, code, REMOTE_ADDR="10.0.0.3").status_code == 429
        assert PendingRegistration.objects.get().attempts == 2  # the refused one did not count
        assert not User.objects.exists()

    def test_codes_typed_per_client(self, members_offer, outbox):
        browsers = [Client() for _ in range(2)]
        for number, browser in enumerate(browsers):
            register(browser, members_offer, f"client{number}@example.com")
        type_code(browsers[0], members_offer, "000000")
        type_code(browsers[0], members_offer, "000001")
        type_code(browsers[1], members_offer, "000000")
        right = code_in(to(outbox, "client1@example.com")[0])
        assert type_code(browsers[1], members_offer, right).status_code == 429
        assert to_payment(type_code(browsers[1], members_offer, right, REMOTE_ADDR="10.9.9.9"))

    def test_new_codes_per_client(self, client, members_offer, outbox):
        register(client, members_offer, "again@example.com")
        assert new_code(client, members_offer).status_code == 303
        assert new_code(client, members_offer).status_code == 429
        assert len(outbox) == 2

"""Buyers sign in with a password or an e-mailed code (or its one-click link), sign out, reset a
forgotten password, and change their password and address (docs/how-to/buyer-accounts.md)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.conftest import code_in, committing, other_than, to
from tests.factories import UserFactory
from wagtail_guestpay.models import SignInCode

pytestmark = pytest.mark.django_db
User = get_user_model()
LOGIN, CODE, ACCOUNT = "/guestpay/login/", "/guestpay/login/code/", "/guestpay/account/"


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com")


def ask_code(client, email, next_url=""):
    return client.post(LOGIN, {"action": "code", "email": email, "next": next_url})


def type_code(client, code):
    return client.post(CODE, {"code": code})


def signed_in(client):
    return client.session.get("_auth_user_id")


def link_in(message):
    url = re.search(r"http://testserver(/guestpay/login/link/\S+/)", message.body).group(1)
    return url


def without_tokens(content):
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


# Codes -----------------------------------------------------------------------------------------
def test_a_code_signs_in_a_buyer_who_never_set_a_password(client, buyer, run_on_commit, outbox):
    buyer.set_unusable_password()
    buyer.save()
    response = ask_code(client, "Buyer@Example.com")
    assert response.status_code == 302 and response["Location"] == CODE
    message = to(outbox, "buyer@example.com")[0]
    assert "Your code:" in message.body and SignInCode.objects.get().code_hash != code_in(message)
    assert code_in(message) not in str(SignInCode.objects.values().get())  # hashed at rest
    assert not signed_in(client)
    response = type_code(client, code_in(message))
    assert response.status_code == 302 and response["Location"] == ACCOUNT
    assert int(signed_in(client)) == buyer.pk


def test_known_and_unknown_addresses_get_the_same_answers(buyer, run_on_commit, outbox):
    answers = []
    for email in ("buyer@example.com", "nobody@example.com"):
        client = committing(Client())
        asked = ask_code(client, email)
        page = client.get(CODE)
        wrong = type_code(client, "123456")
        after = client.get(CODE)
        answers.append(
            (
                asked.status_code,
                asked["Location"],
                page.status_code,
                without_tokens(page.content).replace(email.encode(), b"EMAIL"),
                wrong.status_code,
                wrong["Location"],
                without_tokens(after.content).replace(email.encode(), b"EMAIL"),
            )
        )
    assert answers[0] == answers[1]
    assert b"This code is not right" in answers[0][-1]
    assert [m.to for m in outbox] == [["buyer@example.com"]]


def test_a_code_works_once(client, buyer, run_on_commit, outbox):
    ask_code(client, buyer.email)
    code = code_in(outbox[0])
    assert int(type_code(client, code) and signed_in(client)) == buyer.pk
    other = Client()
    ask_session = other.session
    ask_session["wagtail_guestpay_signin"] = {"email": buyer.email, "next": ""}
    ask_session.save()
    response = type_code(other, code)
    assert response["Location"] == CODE and not signed_in(other)
    assert SignInCode.objects.get().status == SignInCode.Status.USED


def test_an_expired_code_is_refused(client, buyer, run_on_commit, outbox):
    ask_code(client, buyer.email)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    type_code(client, code_in(outbox[0]))
    assert not signed_in(client)
    assert b"This code is not right, or it has expired" in client.get(CODE).content


def test_a_new_code_replaces_the_pending_one(client, buyer, run_on_commit, outbox):
    ask_code(client, buyer.email)
    ask_code(client, buyer.email)
    first, second = code_in(outbox[0]), code_in(outbox[1])
    if first != second:
        type_code(client, first)
        assert not signed_in(client)
    type_code(client, second)
    assert int(signed_in(client)) == buyer.pk


def test_wrong_codes_lock_the_code(client, buyer, run_on_commit, outbox, settings):
    settings.WAGTAIL_GUESTPAY_SIGNIN_CODE_MAX_ATTEMPTS = 3
    ask_code(client, buyer.email)
    code = code_in(outbox[0])
    for _ in range(3):
        response = type_code(client, other_than(code))
        assert response.status_code == 302 and response["Location"] == CODE
    type_code(client, code)
    assert not signed_in(client)
    assert SignInCode.objects.get().status == SignInCode.Status.LOCKED


def test_codes_typed_are_limited_per_client(client, buyer, run_on_commit, outbox, settings):
    settings.WAGTAIL_GUESTPAY_SIGNIN_RATE_LIMITS = {"verify_client": (2, 600)}
    ask_code(client, buyer.email)
    code = code_in(outbox[0])
    type_code(client, other_than(code))
    type_code(client, other_than(code))
    assert type_code(client, code).status_code == 429
    assert not signed_in(client)


def test_codes_typed_are_limited_per_address(buyer, run_on_commit, outbox, settings):
    settings.WAGTAIL_GUESTPAY_SIGNIN_RATE_LIMITS = {"verify_email": (2, 600)}
    clients = [committing(Client(REMOTE_ADDR=f"10.0.0.{n}")) for n in range(3)]
    for client in clients:
        ask_code(client, buyer.email)
    code = code_in(outbox[-1])
    type_code(clients[0], other_than(code))
    type_code(clients[1], other_than(code))
    assert type_code(clients[2], code).status_code == 429


def test_codes_sent_are_limited_per_address_and_per_client(buyer, run_on_commit, outbox, settings):
    settings.WAGTAIL_GUESTPAY_SIGNIN_RATE_LIMITS = {
        "send_email": (2, 3600),
        "send_client": (3, 3600),
    }
    for n in range(2):
        assert ask_code(Client(REMOTE_ADDR=f"10.0.1.{n}"), buyer.email).status_code == 302
    assert ask_code(Client(REMOTE_ADDR="10.0.1.9"), buyer.email).status_code == 429
    assert ask_code(Client(REMOTE_ADDR="10.0.1.9"), "nobody@example.com").status_code == 302
    client = Client(REMOTE_ADDR="10.0.2.1")
    for n in range(3):
        assert ask_code(client, f"someone{n}@example.com").status_code == 302
    assert ask_code(client, "someone9@example.com").status_code == 429
    run_on_commit()
    assert len(outbox) == 2


def test_staff_and_inactive_accounts_get_no_code(client, run_on_commit, outbox, settings):
    UserFactory(email="staff@example.com", is_staff=True)
    UserFactory(email="gone@example.com", is_active=False)
    for email in ("staff@example.com", "gone@example.com"):
        assert ask_code(client, email)["Location"] == CODE
    assert outbox == []
    settings.WAGTAIL_GUESTPAY_SIGNIN_EXCLUDE_STAFF = False
    ask_code(client, "staff@example.com")
    assert [m.to for m in outbox] == [["staff@example.com"]]


def test_an_account_made_staff_after_the_code_was_sent_is_refused(
    client, buyer, run_on_commit, outbox
):
    ask_code(client, buyer.email)
    User.objects.filter(pk=buyer.pk).update(is_staff=True)
    type_code(client, code_in(outbox[0]))
    assert not signed_in(client)


def test_malformed_codes_and_no_session_are_answered_without_errors(client, buyer):
    assert client.get(CODE)["Location"] == LOGIN
    assert client.post(CODE, {"code": "x" * 5000})["Location"] == LOGIN
    ask_code(client, buyer.email)
    for code in ("", "12", "abcdef", "1" * 500):
        assert type_code(client, code).status_code == 302
    assert client.post(LOGIN, {"action": "code", "email": "not an address"}).status_code == 200
    assert client.post(LOGIN, {"action": "nonsense"}).status_code == 400


# The one-click link ----------------------------------------------------------------------------
def test_the_link_signs_in_only_by_the_button(client, buyer, run_on_commit, outbox):
    ask_code(client, buyer.email, next_url="/some/page/")
    path = link_in(outbox[0])
    browser = Client()
    for _ in range(2):
        page = browser.get(path)
        assert page.status_code == 200 and b'<form method="post"' in page.content
    assert not signed_in(browser) and SignInCode.objects.get().used_at is None
    response = browser.post(path)
    assert response.status_code == 302 and response["Location"] == "/some/page/"
    assert int(signed_in(browser)) == buyer.pk
    again = Client().post(path)
    assert again.status_code == 410 and b'href="/guestpay/login/"' in again.content
    assert Client().get(path).status_code == 410
    # The code of a used link is used too.
    type_code(client, code_in(outbox[0]))
    assert not signed_in(client)


def test_forged_links_are_refused(client):
    for token in ("x", "a" * 43, "a" * 500):
        assert client.get(f"/guestpay/login/link/{token}/").status_code == 410
        assert client.post(f"/guestpay/login/link/{token}/").status_code == 410
    assert not signed_in(client)


# Password and next -----------------------------------------------------------------------------
def test_password_sign_in_and_same_site_next(client, buyer):
    data = {"action": "password", "email": "BUYER@example.com", "password": "correct-horse-battery"}
    response = client.post(LOGIN, {**data, "next": "/python-course/"})
    assert response.status_code == 302 and response["Location"] == "/python-course/"
    assert int(signed_in(client)) == buyer.pk


@pytest.mark.parametrize(
    "evil",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "http:evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_never_leaves_the_site(buyer, run_on_commit, outbox, evil):
    client = Client()
    data = {"action": "password", "email": buyer.email, "password": "correct-horse-battery"}
    response = client.post(f"{LOGIN}?next={evil}", {**data, "next": evil})
    assert response["Location"] == ACCOUNT
    client = committing(Client())
    ask_code(client, buyer.email, next_url=evil)
    assert type_code(client, code_in(outbox[-1]))["Location"] == ACCOUNT
    assert evil not in client.get(LOGIN, {"next": evil}).content.decode()


def test_a_wrong_password_and_an_unknown_address_get_one_answer(client, buyer):
    pages = []
    for email, password in (("buyer@example.com", "wrong"), ("nobody@example.com", "x")):
        response = client.post(LOGIN, {"action": "password", "email": email, "password": password})
        pages.append((response.status_code, b"Wrong e-mail or password." in response.content))
    assert pages == [(200, True), (200, True)] and not signed_in(client)


def test_logout_needs_a_post_and_lands_on_a_package_page(client, buyer):
    client.force_login(buyer)
    page = client.get("/guestpay/logout/")
    assert page.status_code == 200 and signed_in(client)
    response = client.post("/guestpay/logout/")
    assert response.status_code == 200 and not signed_in(client)
    assert b'href="/guestpay/login/"' in response.content


def test_a_payment_never_signs_in(client, offer, testpay, run_on_commit, outbox, buyer):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=buyer.email)
    assert not signed_in(client)
    assert "/guestpay/login/" in outbox[0].body


def test_password_tries_are_limited_per_address(buyer, settings):
    settings.WAGTAIL_GUESTPAY_SIGNIN_RATE_LIMITS = {"password_email": (2, 600)}
    data = {"action": "password", "email": buyer.email, "password": "wrong"}
    for n in range(2):
        assert Client(REMOTE_ADDR=f"10.0.3.{n}").post(LOGIN, data).status_code == 200
    client = Client(REMOTE_ADDR="10.0.3.9")
    right = {**data, "password": "correct-horse-battery"}
    assert client.post(LOGIN, right).status_code == 429 and not signed_in(client)

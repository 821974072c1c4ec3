"""Forgotten passwords, the personal area's password and e-mail settings, and the base template
buyer pages extend."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import Client
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Page

from tests.conftest import code_in, committing, other_than, to
from tests.factories import UserFactory
from wagtail_guestpay.models import GuestAccount

pytestmark = pytest.mark.django_db
User = get_user_model()
RESET = "/guestpay/password-reset/"


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com")


def signed_in(client):
    return client.session.get("_auth_user_id")


def reset_path(message):
    return re.search(r"http://testserver(/guestpay/password-reset/\S+/)", message.body).group(1)


def without_tokens(content):
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", content)


# Password reset ------------------------------------------------------------------------------
def test_reset_answers_the_same_for_known_and_unknown_addresses(buyer, run_on_commit, outbox):
    answers = []
    for email in ("buyer@example.com", "nobody@example.com"):
        client = committing(Client())
        response = client.post(RESET, {"email": email})
        done = client.get(response["Location"])
        answers.append(
            (
                response.status_code,
                response["Location"],
                done.status_code,
                without_tokens(done.content),
            )
        )
    assert answers[0] == answers[1]
    assert [m.to for m in outbox] == [["buyer@example.com"]]


def test_reset_flow_sets_a_new_password_once(client, buyer, run_on_commit, outbox):
    client.post(RESET, {"email": "Buyer@Example.com"})
    path = reset_path(outbox[0])
    form = client.get(path, follow=True)
    assert form.status_code == 200 and b'name="new_password1"' in form.content
    set_url = form.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "brand-new-passphrase-7", "new_password2": "brand-new-passphrase-7"},
    )
    assert done.status_code == 302 and done["Location"] == "/guestpay/password-reset/done/"
    complete = client.get(done["Location"])
    assert b'href="/guestpay/login/"' in complete.content and not signed_in(client)
    login = client.post(
        "/guestpay/login/",
        {"action": "password", "email": buyer.email, "password": "brand-new-passphrase-7"},
    )
    assert login.status_code == 302 and int(signed_in(client)) == buyer.pk
    again = Client().get(path, follow=True)
    assert b"This link cannot be used any more" in again.content
    assert b'href="/guestpay/password-reset/"' in again.content


def test_reset_skips_inactive_accounts_and_lets_a_payment_account_set_a_first_password(
    client, run_on_commit, outbox
):
    UserFactory(email="gone@example.com", is_active=False)
    fresh = UserFactory(email="fresh@example.com")
    fresh.set_unusable_password()
    fresh.save()
    GuestAccount.objects.create(user=fresh)
    client.post(RESET, {"email": "gone@example.com"})
    client.post(RESET, {"email": "fresh@example.com"})
    assert [m.to for m in outbox] == [["fresh@example.com"]]
    set_url = client.get(reset_path(outbox[0]), follow=True).redirect_chain[-1][0]
    client.post(
        set_url,
        {"new_password1": "brand-new-passphrase-7", "new_password2": "brand-new-passphrase-7"},
    )
    assert GuestAccount.objects.get(user=fresh).activated_at is not None


def test_a_reset_link_for_an_account_deactivated_since_is_refused(
    client, buyer, run_on_commit, outbox
):
    client.post(RESET, {"email": buyer.email})
    User.objects.filter(pk=buyer.pk).update(is_active=False)
    page = client.get(reset_path(outbox[0]), follow=True)
    assert b"This link cannot be used any more" in page.content


# Password change -------------------------------------------------------------------------------
def test_change_password_needs_the_old_one(client, buyer):
    client.force_login(buyer)
    wrong = client.post(
        "/guestpay/account/password/",
        {
            "old_password": "nope",
            "new_password1": "another-passphrase-8",
            "new_password2": "another-passphrase-8",
        },
    )
    assert wrong.status_code == 200
    done = client.post(
        "/guestpay/account/password/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-passphrase-8",
            "new_password2": "another-passphrase-8",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/guestpay/account/"
    assert signed_in(client)  # the session survives its own password change
    buyer.refresh_from_db()
    assert buyer.check_password("another-passphrase-8")


def test_a_buyer_without_a_password_sets_one(client, buyer):
    buyer.set_unusable_password()
    buyer.save()
    client.force_login(buyer)
    page = client.get("/guestpay/account/password/")
    assert b"old_password" not in page.content
    client.post(
        "/guestpay/account/password/",
        {"new_password1": "another-passphrase-8", "new_password2": "another-passphrase-8"},
    )
    buyer.refresh_from_db()
    assert buyer.check_password("another-passphrase-8")


def test_account_settings_need_a_sign_in(client):
    for path in (
        "/guestpay/account/password/",
        "/guestpay/account/email/",
        "/guestpay/account/email/confirm/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(
            "/guestpay/login/?next="
        )


# E-mail change ---------------------------------------------------------------------------------
def test_change_email_confirmed_by_a_code_to_the_new_address(client, buyer, run_on_commit, outbox):
    client.force_login(buyer)
    wrong_password = client.post(
        "/guestpay/account/email/", {"email": "new@example.com", "password": "nope"}
    )
    assert wrong_password.status_code == 200 and outbox == []
    response = client.post(
        "/guestpay/account/email/",
        {"email": "New@Example.com", "password": "correct-horse-battery"},
    )
    assert response["Location"] == "/guestpay/account/email/confirm/"
    code = code_in(to(outbox, "new@example.com")[0])
    client.post("/guestpay/account/email/confirm/", {"code": other_than(code)})
    buyer.refresh_from_db()
    assert buyer.email == "buyer@example.com"
    done = client.post("/guestpay/account/email/confirm/", {"code": code})
    assert done["Location"] == "/guestpay/account/"
    buyer.refresh_from_db()
    assert buyer.email == "new@example.com"
    told = to(outbox, "buyer@example.com")
    assert len(told) == 1 and "new@example.com" in told[0].body
    # The new address signs in; the old one does not.
    other = Client()
    for email, expected in (("buyer@example.com", False), ("new@example.com", True)):
        other.post(
            "/guestpay/login/",
            {"action": "password", "email": email, "password": "correct-horse-battery"},
        )
        assert bool(signed_in(other)) is expected


def test_an_address_another_account_holds_is_refused(client, buyer, run_on_commit, outbox):
    UserFactory(email="taken@example.com")
    client.force_login(buyer)
    client.post(
        "/guestpay/account/email/",
        {"email": "taken@example.com", "password": "correct-horse-battery"},
    )
    code = code_in(to(outbox, "taken@example.com")[0])
    client.post("/guestpay/account/email/confirm/", {"code": code})
    page = client.get("/guestpay/account/email/confirm/")
    assert b"Another account uses this address" in page.content
    buyer.refresh_from_db()
    assert buyer.email == "buyer@example.com"


# The library and the base template ------------------------------------------------------------
def test_personal_area_reads_as_a_library(client, offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="reader@example.com")
    user = User.objects.get(email="reader@example.com")
    product = offer.products.first().page.specific
    product.search_description = "Twelve lessons, at your pace."
    product.save()
    client.force_login(user)
    page = client.get("/guestpay/account/").content.decode()
    assert 'class="guestpay-card guestpay-product"' in page
    assert "Twelve lessons, at your pace." in page
    assert f'href="{product.url}" aria-label="Open {product.title}">Open</a>' in page
    assert (
        'href="/guestpay/account/email/"' in page and 'href="/guestpay/account/password/"' in page
    )


def test_buyer_pages_extend_the_site_base_and_keep_the_css(client, settings):
    page = client.get("/guestpay/login/").content.decode()
    assert "Guestpay Sandbox" in page  # the sandbox's base.html: its header
    assert "wagtail_guestpay/guestpay.css" in page.split('<main id="main">', 1)[1]
    settings.WAGTAIL_GUESTPAY_BASE_TEMPLATE = "wagtail_guestpay/layout/plain.html"
    plain = client.get("/guestpay/login/").content.decode()
    assert "Guestpay Sandbox" not in plain and "wagtail_guestpay/guestpay.css" in plain


def test_account_links_show_sign_in_or_my_purchases(client, buyer, settings):
    settings.WAGTAIL_GUESTPAY_ACCOUNT_LINKS = True
    settings.WAGTAIL_GUESTPAY_BASE_TEMPLATE = "wagtail_guestpay/layout/plain.html"
    page = client.get("/guestpay/access/new-link/").content.decode()
    assert 'href="/guestpay/login/?next=%2Fguestpay%2Faccess%2Fnew-link%2F"' in page
    client.force_login(buyer)
    page = client.get("/guestpay/account/").content.decode()
    assert 'action="/guestpay/logout/"' in page and "My purchases" in page


def test_the_login_url_setting_reaches_pages_and_emails(
    client, settings, offer, testpay, run_on_commit, outbox, buyer
):
    settings.WAGTAIL_GUESTPAY_LOGIN_URL = "/sso/login/"
    assert (
        client.get("/guestpay/account/")["Location"] == "/sso/login/?next=%2Fguestpay%2Faccount%2F"
    )
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=buyer.email)
    assert "http://testserver/sso/login/?next=" in outbox[0].body


def test_without_a_site_base_template_the_plain_one_is_used(client, settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]  # no sandbox/templates/base.html
    page = client.get("/guestpay/login/").content.decode()
    assert "Guestpay Sandbox" not in page and 'class="guestpay-plain"' in page
    assert "wagtail_guestpay/guestpay.css" in page


def test_a_product_card_shows_the_page_search_image_where_it_has_one(db):
    page = Page.objects.get(depth=1)
    tag = Template("{% load guestpay_tags %}{% guestpay_product_image page %}")
    assert tag.render(Context({"page": page})) == ""  # Page has no search_image
    page.search_image = Image.objects.create(title="Cover", file=get_test_image_file())
    html = tag.render(Context({"page": page}))
    assert html.startswith('<img src="') and 'width="640" height="360"' in html

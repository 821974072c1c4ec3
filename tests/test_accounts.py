"""A new account's first visit: access link -> button -> password -> personal area."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.conftest import order_of
from wagtail_guestpay.fulfilment.accounts import find_or_create_user, normalize_email
from wagtail_guestpay.models import AccessLink, Contact, GuestAccount

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def paid(offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="fresh@example.com")
    link = next(line for line in outbox[0].body.splitlines() if "/guestpay/access/" in line)
    return payment, link.strip().removeprefix("http://testserver")


def test_get_shows_a_button_and_consumes_nothing(client, paid):
    _payment, path = paid
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
        assert b"Continue to my account" in page.content
    assert AccessLink.objects.get().used_at is None
    assert "_auth_user_id" not in client.session


def test_full_first_visit_sets_password_fields_logs_in_and_lists_the_course(client, paid, offer):
    from wagtail.models import Site

    from wagtail_guestpay.models import RegistrationField, RegistrationSettings

    settings = RegistrationSettings.for_site(Site.objects.get(is_default_site=True))
    settings.save()
    RegistrationField.objects.create(settings=settings, label="Full name", required=True)
    _payment, path = paid

    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/guestpay/account/setup/"
    assert AccessLink.objects.get().used_at is not None
    assert "_auth_user_id" not in client.session

    form = client.get("/guestpay/account/setup/")
    assert b'name="reg_full_name"' in form.content
    missing = client.post(
        "/guestpay/account/setup/",
        {"password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"},
    )
    assert missing.status_code == 200 and "_auth_user_id" not in client.session

    done = client.post(
        "/guestpay/account/setup/",
        {
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "reg_full_name": "Fresh Buyer",
        },
    )
    assert done.status_code == 302 and done["Location"] == "/guestpay/account/"
    user = User.objects.get(email="fresh@example.com")
    assert user.check_password("a-long-passphrase-9")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert GuestAccount.objects.get(user=user).activated_at is not None
    assert Contact.objects.get(email="fresh@example.com").registration_data == {
        "full_name": "Fresh Buyer"
    }
    area = client.get("/guestpay/account/")
    product = offer.get_products()[0]
    assert product.title.encode() in area.content
    assert product.url.encode() in area.content
    assert client.get(product.url).status_code == 200


def test_link_is_single_use(client, paid):
    _payment, path = paid
    client.post(path)
    from django.test import Client

    other = Client()
    assert other.get(path).status_code == 410
    assert other.post(path).status_code == 410
    assert "_auth_user_id" not in other.session


def test_link_expires(client, paid):
    _payment, path = paid
    AccessLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410


def test_setup_session_expires(client, paid, settings):
    _payment, path = paid
    client.post(path)
    with mock.patch("wagtail_guestpay.views.accounts.time.time", return_value=10**11):
        assert client.get("/guestpay/account/setup/").status_code == 410


def test_setup_without_a_link_is_refused(client, db):
    assert client.get("/guestpay/account/setup/").status_code == 410


def test_link_cannot_open_an_account_that_has_a_password(client, paid):
    _payment, path = paid
    user = User.objects.get(email="fresh@example.com")
    user.set_password("owner-set-this-1")
    user.save()
    assert client.post(path).status_code == 410
    assert "_auth_user_id" not in client.session


def _without_csrf_tokens(content):
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


def test_link_request_answers_the_same_for_known_and_unknown_addresses(
    client, paid, run_on_commit, outbox
):
    sent_before = len(outbox)
    known = client.post("/guestpay/access/new-link/", {"email": "fresh@example.com"})
    unknown = client.post("/guestpay/access/new-link/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    # The same page but for the (masked, per-response) CSRF token of the site header's forms.
    assert _without_csrf_tokens(known.content) == _without_csrf_tokens(unknown.content)
    assert [m.to for m in outbox[sent_before:]] == [["fresh@example.com"]]
    new_path = (
        next(line for line in outbox[-1].body.splitlines() if "/guestpay/access/" in line)
        .strip()
        .removeprefix("http://testserver")
    )
    assert client.get(new_path).status_code == 200


def test_link_request_is_rate_limited(client, db, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (3, 600)
    codes = [
        client.post("/guestpay/access/new-link/", {"email": f"x{i}@example.com"}).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]


def test_personal_area_needs_login(client, db):
    response = client.get("/guestpay/account/")
    assert response.status_code == 302
    assert response["Location"] == "/guestpay/login/?next=%2Fguestpay%2Faccount%2F"


def test_buyers_log_in_with_their_email(client, paid):
    user = User.objects.get(email="fresh@example.com")
    user.set_password("a-long-passphrase-9")
    user.save()
    response = client.post(
        "/guestpay/login/",
        {"action": "password", "email": "FRESH@example.com", "password": "a-long-passphrase-9"},
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_normalize_email():
    assert normalize_email("  Foo.Bar@Example.COM ") == "foo.bar@example.com"
    assert normalize_email("not an email") == ""
    assert normalize_email("") == ""
    assert normalize_email(None) == ""
    assert normalize_email("a" * 250 + "@example.com") == ""


def test_find_or_create_user_is_case_insensitive(db):
    existing = User.objects.create_user("someone", "Some.One@Example.com")
    assert find_or_create_user("some.one@example.com").user == existing
    created = find_or_create_user("new.person@example.com")
    assert created.created and not created.user.has_usable_password()
    assert created.user.username == "new.person@example.com"
    again = find_or_create_user("new.person@example.com")
    assert not again.created and again.user == created.user and again.is_new


def test_usernames_do_not_collide(db):
    User.objects.create_user("sam@example.com", "other@example.com")
    first = find_or_create_user("sam@example.com").user
    second = find_or_create_user("odd!name@example.org").user
    assert first.username.startswith("sam@example.com-") and len(first.username) == 22
    assert second.username == "odd-name@example.org"


def test_order_links_contact_and_user(paid):
    payment, _path = paid
    order = order_of(payment)
    assert order.contact.user == order.user


@pytest.mark.parametrize(
    "typed",
    [
        "x@exa\u200bmple.com",  # a zero-width space: mail goes to x@example.com
        "x@fa\u00df.de",  # IDNA 2003 maps ß to ss: mail goes to x@fass.de
        "x@\uff45xample.com",  # a full-width letter: mail goes to x@example.com
        "x@exa\u00admple.com",  # a soft hyphen
        '"ann"@example.com',  # quoted: mail goes to ann@example.com
        '"\x01"@example.com',  # quoted control character: mail goes to \x01@example.com
    ],
)
def test_addresses_the_mail_would_deliver_elsewhere_are_not_addresses(typed):
    """Django sends mail to the IDNA form of the domain, and unquotes quoted local parts: an
    address that this changes would reach another mailbox than the string kept (a second
    account for one mailbox, and an "already registered" check that misses)."""
    assert smtp_envelope_recipient(typed) != typed  # (what the mail layer does)
    assert normalize_email(typed) == ""


def smtp_envelope_recipient(address):
    """The RCPT TO address Django's SMTP backend would use for ``address``, or None if it
    refuses it (Django 5.2 and 6.0 compute it differently: sanitize_address, prep_address)."""
    from django.core.mail import EmailMessage
    from django.core.mail.backends.smtp import EmailBackend

    class Connection:
        def sendmail(self, from_addr, to_addrs, message):
            self.to_addrs = to_addrs

    backend = EmailBackend()
    backend.connection = connection = Connection()  # already open: send_messages() uses it
    try:
        backend.send_messages([EmailMessage("s", "b", "shop@example.com", [address])])
    except ValueError:
        return None
    return connection.to_addrs[0]


def test_international_domains_are_addresses():
    assert normalize_email("X@B\u00dcCHER.de") == "x@b\u00fccher.de"
    assert normalize_email("x@xn--bcher-kva.de") == "x@xn--bcher-kva.de"
    assert smtp_envelope_recipient("x@xn--bcher-kva.de") == "x@xn--bcher-kva.de"  # unchanged

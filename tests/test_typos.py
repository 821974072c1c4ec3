"""Typo hints: "Did you mean ...?" before an address with a likely mistyped domain is used."""

import re

import pytest

from wagtail_guestpay.buyers.typos import distance, suggest_email
from wagtail_guestpay.models import EmailClaim, PendingRegistration


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("ann@gmial.com", "ann@gmail.com"),
        ("ann@gamil.com", "ann@gmail.com"),
        ("ann@gmail.co", "ann@gmail.com"),
        ("ann@gmail.con", "ann@gmail.com"),
        ("ann@gmaill.com", "ann@gmail.com"),
        ("ann@hotmial.com", "ann@hotmail.com"),
        ("ann@hotamil.com", "ann@hotmail.com"),
        ("ann@yaho.com", "ann@yahoo.com"),
        ("ann@outlok.com", "ann@outlook.com"),
        ("ann@iclod.com", "ann@icloud.com"),
        ("ann@hotmial.fr", "ann@hotmail.fr"),
        ("ann@example.con", "ann@example.com"),  # a top-level domain that does not exist
        ("ann@aol.con", "ann@aol.com"),
    ],
)
def test_likely_typos_get_a_suggestion(typed, expected):
    assert suggest_email(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "ann@gmail.com",
        "ann@mail.com",
        "ann@ymail.com",
        "ann@email.com",  # real, close to gmail
        "ann@hotmail.ca",
        "ann@yahoo.co.jp",  # another country's domain of the same provider
        "ann@example.org",
        "ann@company.de",
        "ann@aon.com",  # short domains need an exact match
        "not-an-address",
        "",
    ],
)
def test_real_or_unknown_domains_are_left_alone(typed):
    assert suggest_email(typed) == ""


def test_distance_counts_a_transposition_as_one_step():
    assert distance("gmial", "gmail") == 1
    assert distance("gmail", "gmail") == 0
    assert distance("abc", "xyz") == 3


def test_the_domain_list_is_a_setting(settings):
    settings.WAGTAIL_GUESTPAY_EMAIL_TYPO_DOMAINS = ["example-mail.org"]
    assert suggest_email("ann@exampel-mail.org") == "ann@example-mail.org"
    assert suggest_email("ann@gmial.com") == ""


# On the success page's claim form ----------------------------------------------------------------
@pytest.fixture
def placeholder_path(offer, testpay, run_on_commit):
    _order, payment, charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="")
    return charge.return_url.removeprefix("http://testserver")


@pytest.mark.django_db
def test_claim_form_asks_before_sending_a_code(client, placeholder_path, outbox):
    outbox.clear()
    response = client.post(placeholder_path + "claim/", {"email": "ann@gmial.com"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Did you mean <strong>ann@gmail.com</strong>?" in page
    assert 'role="alert" id="guestpay-claim-email_error"' in page
    assert 'aria-describedby="guestpay-claim-email_error"' in page
    assert 'name="use_suggestion" value="ann@gmail.com"' in page
    # Two answers to the question, two buttons: not a third "Send me a code" that asks it again.
    form = page[page.index('action="' + placeholder_path + 'claim/"') :]
    form = form[: form.index("</form>")]
    assert form.count("<button") == 2 and "Send me a code" not in form
    assert "Use ann@gmail.com" in form and "Keep ann@gmial.com" in form
    assert outbox == [] and not EmailClaim.objects.exists()


@pytest.mark.django_db
def test_a_suggestion_does_not_replace_an_address_edited_since(client, placeholder_path, outbox):
    """Enter in the edited field submits the first button, "Use ann@gmail.com": the address now
    in the field wins."""
    outbox.clear()
    response = client.post(
        placeholder_path + "claim/", {"email": "ann@example.com", "use_suggestion": "ann@gmail.com"}
    )
    assert response.status_code == 303
    assert [m.to for m in outbox] == [["ann@example.com"]]


@pytest.mark.django_db
def test_claim_form_takes_the_suggestion_in_one_click(client, placeholder_path, outbox):
    outbox.clear()
    response = client.post(
        placeholder_path + "claim/", {"email": "ann@gmial.com", "use_suggestion": "ann@gmail.com"}
    )
    assert response.status_code == 303
    assert [m.to for m in outbox] == [["ann@gmail.com"]]


@pytest.mark.django_db
def test_claim_form_keeps_the_address_as_typed_when_confirmed(client, placeholder_path, outbox):
    outbox.clear()
    response = client.post(
        placeholder_path + "claim/", {"email": "ann@gmial.com", "email_as_typed": "1"}
    )
    assert response.status_code == 303
    assert [m.to for m in outbox] == [["ann@gmial.com"]]


@pytest.mark.django_db
def test_claim_form_carries_the_progressive_hint(client, placeholder_path):
    page = client.get(placeholder_path).content.decode()
    assert "data-guestpay-typo=" in page and "email-typo.js" in page


# On the registration form of offers without guest payment, and the new-link form -------------
@pytest.mark.django_db
def test_registration_form_asks_then_accepts_the_address_as_typed(client, members_offer):
    path = members_offer.get_checkout_path()
    data = {
        "email": "member@hotmial.com",
        "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    }
    asked = client.post(path, data)
    assert asked.status_code == 200
    assert "Did you mean member@hotmail.com?" in asked.content.decode()
    assert re.search(r'<input type="checkbox" name="email_as_typed"', asked.content.decode())
    assert "_auth_user_id" not in client.session

    assert not PendingRegistration.objects.exists()

    kept = client.post(path, {**data, "email_as_typed": "on"})
    assert kept.status_code == 303 and kept["Location"] == path + "code/"
    assert PendingRegistration.objects.get().email == "member@hotmial.com"  # as typed


@pytest.mark.django_db
def test_new_link_form_asks_about_a_likely_typo(client, offer, testpay, run_on_commit, outbox):
    # A payment made with the mistyped address: its unused account may ask for a new link.
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="someone@outlok.com")
    outbox.clear()
    asked = client.post("/guestpay/access/new-link/", {"email": "someone@outlok.com"})
    assert asked.status_code == 200
    assert "Did you mean someone@outlook.com?" in asked.content.decode()
    assert b"Check your e-mail" not in asked.content
    assert outbox == []  # nothing goes out while the question is open

    kept = client.post(
        "/guestpay/access/new-link/", {"email": "someone@outlok.com", "email_as_typed": "on"}
    )
    assert b"Check your e-mail" in kept.content
    assert [m.to for m in outbox] == [["someone@outlok.com"]]
    assert "/guestpay/access/" in outbox[0].body
    outbox.clear()
    fixed = client.post("/guestpay/access/new-link/", {"email": "someone@outlook.com"})
    assert b"Check your e-mail" in fixed.content
    assert outbox == []  # no account there: the same answer, nothing sent


@pytest.mark.django_db
def test_new_link_form_takes_the_suggestion_in_one_click(
    client, offer, testpay, run_on_commit, outbox
):
    """ "Use someone@outlook.com" sends the link there, not to the address as first typed."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="someone@outlook.com")  # a new, unused account
    outbox.clear()
    response = client.post(
        "/guestpay/access/new-link/",
        {"email": "someone@outlok.com", "use_suggestion": "someone@outlook.com"},
    )
    run_on_commit()
    assert b"Check your e-mail" in response.content
    assert [m.to for m in outbox] == [["someone@outlook.com"]]

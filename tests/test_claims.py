"""Buyers fix their own e-mail from the success page, proven by a code e-mailed to the new address:
a wallet payment without e-mail is claimed, a mistyped address is corrected."""

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.test import Client
from django.utils import timezone
from wagtail.models import ModelLogEntry, Site

from tests.conftest import code_in, order_of, other_than, to
from tests.factories import UserFactory
from wagtail_guestpay.buyers import claims
from wagtail_guestpay.crypto import decrypt_json
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import (
    AccessLink,
    Attention,
    EmailClaim,
    GuestAccount,
    Order,
    OutboundEmail,
    PaymentResultPage,
)
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db
User = get_user_model()


# Helpers -------------------------------------------------------------------------------------
@pytest.fixture
def buy(offer, testpay, run_on_commit):
    """Pay for the offer; returns (order, path of its success page)."""

    def pay(email=""):
        _order, payment, charge = testpay.start(offer)
        testpay.notify(payment, "paid", email=email)
        return order_of(payment), charge.return_url.removeprefix("http://testserver")

    return pay


def send(client, path, email, **extra):
    return client.post(path + "claim/", {"email": email, **extra.pop("data", {})}, **extra)


def confirm(client, path, code, **extra):
    return client.post(path + "claim/confirm/", {"code": code}, **extra)


def refused(client, path, code):
    """Type a code that does not go through: the answer is a 303 back to the order page (never
    a page answering the POST, which a reload would post again); returns that page."""
    response = confirm(client, path, code)
    assert response.status_code == 303 and "claim=done" not in response["Location"], response
    return client.get(response["Location"])


def logged(order, action):
    return ModelLogEntry.objects.for_instance(order).filter(action=f"wagtail_guestpay.{action}")


# 1. Missing e-mail: the wallet case ------------------------------------------------------------
def test_wallet_order_is_claimed_with_a_code_then_gets_account_access_and_mail(
    client, buy, offer, outbox
):
    order, path = buy("")
    assert order.email_is_placeholder and order in Order.objects.needs_attention()
    page = client.get(path)
    assert b"Where should we send your access?" in page.content
    assert b'<label for="guestpay-claim-email">Your e-mail address</label>' in page.content
    outbox.clear()

    sent = send(client, path, "Buyer@Example.com")
    assert sent.status_code == 303 and sent["Location"].endswith("#guestpay-claim")
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    assert "/guestpay/" not in outbox[0].body  # a code to type, never a link
    step = client.get(path)
    assert b"Enter the code we e-mailed you" in step.content
    assert b"buyer@example.com" in step.content
    order.refresh_from_db()
    assert order.email_is_placeholder and order.user is None  # nothing moves before the code

    done = confirm(client, path, code_in(outbox[0]))
    assert done.status_code == 303 and "?claim=done" in done["Location"]
    order.refresh_from_db()
    assert order.email == "buyer@example.com" and not order.email_is_placeholder
    assert order.attention == "" and order not in Order.objects.needs_attention()
    buyer = User.objects.get(email="buyer@example.com")
    assert order.user == buyer and GuestAccount.objects.filter(user=buyer).exists()
    assert has_access(buyer, offer.get_products()[0])
    access = outbox[-1]
    assert access.to == ["buyer@example.com"] and "/guestpay/access/" in access.body
    assert "_auth_user_id" not in client.session  # nobody is logged in by a claim
    assert logged(order, "claim_code_sent").get().data["to"] == "buyer@example.com"
    corrected = logged(order, "email_corrected").get()
    assert corrected.data["via"] == "claim" and corrected.data["to"] == "buyer@example.com"
    assert b"Address confirmed" in client.get(done["Location"]).content


def test_claiming_an_address_that_has_an_account_grants_it_and_logs_nobody_in(
    client, buy, offer, outbox, user
):
    order, path = buy("")
    send(client, path, user.email)
    confirm(client, path, code_in(outbox[-1]))
    order.refresh_from_db()
    assert order.user == user and has_access(user, offer.get_products()[0])
    assert "/guestpay/login/" in outbox[-1].body and "/guestpay/access/" not in outbox[-1].body
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery") and user.is_active


def test_placeholder_orders_are_claimable_after_the_correction_window(client, buy, outbox):
    order, path = buy("")
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=30))
    assert b"Where should we send your access?" in client.get(path).content
    assert send(client, path, "late@example.com").status_code == 303
    assert to(outbox, "late@example.com")


def test_claim_form_shows_on_editor_built_result_pages(client, buy, offer):
    site = Site.objects.get(is_default_site=True)
    offer.success_page = site.root_page.add_child(
        instance=PaymentResultPage(
            title="Merci", slug="merci-claims", kind="success", body=[("order_status", None)]
        )
    )
    offer.save()
    _order, path = buy("")
    page = client.get(path).content.decode()
    assert "Merci" in page
    # The status box's heading is the page's h1 (the title is in <title>): the claim's is an h2.
    assert '<h1 id="guestpay-status-title">Payment received, thank you!</h1>' in page
    assert '<h2 id="guestpay-claim-title">Where should we send your access?</h2>' in page
    assert f'action="{path}claim/"' in page


def test_claim_is_not_offered_before_the_payment_is_confirmed(client, offer, testpay, outbox):
    _order, _payment, charge = testpay.start(offer)
    path = charge.return_url.removeprefix("http://testserver")
    assert b"guestpay-claim" not in client.get(path).content
    assert send(client, path, "early@example.com").status_code == 303
    assert not EmailClaim.objects.exists() and not to(outbox, "early@example.com")


# 2. Mistyped e-mail ----------------------------------------------------------------------------
def test_typo_fix_moves_access_and_the_unused_wrong_account_gets_nothing_more(
    client, buy, offer, outbox
):
    order, path = buy("buyer@gmial.com")
    wrong = order.user
    first_link = next(line for line in outbox[-1].body.splitlines() if "/guestpay/access/" in line)
    page = client.get(path)
    assert b"Not your address? Change it" in page.content
    outbox.clear()

    send(client, path, "buyer@gmail.com")
    assert [m.to for m in outbox] == [["buyer@gmail.com"]]  # the code goes to the new address only
    confirm(client, path, code_in(outbox[0]))

    order.refresh_from_db()
    wrong.refresh_from_db()
    right = User.objects.get(email="buyer@gmail.com")
    product = offer.get_products()[0]
    assert order.user == right and has_access(right, product)
    assert not wrong.is_active and not has_access(wrong, product)
    assert to(outbox, "buyer@gmail.com")[-1].subject.startswith("Your access")
    assert logged(order, "email_corrected").get().data["previous_account_action"] == "deactivated"
    # The wrong address gets nothing more: its link is dead, a new one is not sent.
    assert client.get(first_link.strip().removeprefix("http://testserver")).status_code == 410
    client.post("/guestpay/access/new-link/", {"email": "buyer@gmial.com"})
    assert not to(outbox, "buyer@gmial.com")
    assert "_auth_user_id" not in client.session


def test_an_account_retired_for_a_typo_is_its_address_s_again(client, buy, offer, outbox):
    """The mistyped address may be somebody else's: when they pay, the retired, never-used
    account is theirs (with a set-password link), not a deactivated account for staff."""
    order, path = buy("buyer@gmial.com")
    wrong = order.user
    send(client, path, "buyer@gmail.com")
    confirm(client, path, code_in(outbox[-1]))
    wrong.refresh_from_db()
    assert not wrong.is_active and GuestAccount.objects.get(user=wrong).retired_at
    outbox.clear()

    later, _path = buy("buyer@gmial.com")

    wrong.refresh_from_db()
    assert later.user == wrong and wrong.is_active and later.attention == ""
    assert has_access(wrong, offer.get_products()[0])
    order.refresh_from_db()
    assert order.user.email == "buyer@gmail.com"  # the corrected order stays where it went
    assert GuestAccount.objects.get(user=wrong).retired_at is None
    assert User.objects.filter(email__iexact="buyer@gmial.com").count() == 1
    [message] = to(outbox, "buyer@gmial.com")
    assert "/guestpay/access/" in message.body  # a new account's set-password link
    assert "_auth_user_id" not in client.session


def test_a_deactivated_account_that_was_used_stays_with_staff(client, buy, outbox):
    """Only a never-used account retired by a correction is taken back."""
    order, path = buy("buyer@gmial.com")
    wrong = order.user
    send(client, path, "buyer@gmail.com")
    confirm(client, path, code_in(outbox[-1]))
    wrong.refresh_from_db()
    wrong.set_password("somebody-used-it")  # e.g. staff set a password since
    wrong.save()

    later, _path = buy("buyer@gmial.com")

    wrong.refresh_from_db()
    assert not wrong.is_active
    assert later.attention == Attention.INACTIVE_ACCOUNT


def test_unsent_mail_to_the_wrong_address_is_dropped(client, buy, outbox):
    order, path = buy("slow@gmial.com")
    # As if the access e-mail had failed to send and waited for a retry.
    OutboundEmail.objects.filter(to_email="slow@gmial.com").update(
        sent_at=None, next_attempt_at=timezone.now()
    )
    outbox.clear()
    send(client, path, "slow@gmail.com")
    confirm(client, path, code_in(outbox[-1]))
    run_maintenance()
    assert not to(outbox, "slow@gmial.com")
    assert OutboundEmail.objects.get(to_email="slow@gmial.com").next_attempt_at is None


@pytest.mark.parametrize("use", ["password", "login", "activated"])
def test_typo_fix_is_refused_once_the_wrong_account_was_used(client, buy, outbox, use):
    order, path = buy("used@gmial.com")
    wrong = order.user
    if use == "password":
        wrong.set_password("the-owner-chose-this-9")
        wrong.save()
    elif use == "login":
        User.objects.filter(pk=wrong.pk).update(last_login=timezone.now())
    else:
        GuestAccount.objects.filter(user=wrong).update(activated_at=timezone.now())
    assert b"Change it" not in client.get(path).content
    outbox.clear()
    assert send(client, path, "used@gmail.com").status_code == 303
    assert outbox == [] and not EmailClaim.objects.exists()
    order.refresh_from_db()
    assert order.user == wrong


def test_wrong_account_used_between_the_code_and_its_confirmation_blocks_the_change(
    client, buy, outbox, offer
):
    order, path = buy("race@gmial.com")
    wrong = order.user
    send(client, path, "race@gmail.com")
    wrong.set_password("the-owner-chose-this-9")
    wrong.save()
    response = refused(client, path, code_in(outbox[-1]))
    assert b"cannot be changed here any more" in response.content
    order.refresh_from_db()
    wrong.refresh_from_db()
    assert order.user == wrong and wrong.is_active
    assert has_access(wrong, offer.get_products()[0])
    assert not User.objects.filter(email="race@gmail.com").exists()
    assert EmailClaim.objects.get().status == EmailClaim.Status.CANCELLED
    assert logged(order, "claim_refused").exists()


def test_typo_fix_only_within_the_window(client, buy, outbox, settings):
    order, path = buy("late@gmial.com")
    paid_at = timezone.now() - timedelta(hours=23)
    Order.objects.filter(pk=order.pk).update(paid_at=paid_at)
    assert b"Change it" in client.get(path).content

    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=25))
    assert b"Change it" not in client.get(path).content
    outbox.clear()
    send(client, path, "late@gmail.com")
    assert outbox == []

    settings.WAGTAIL_GUESTPAY_EMAIL_CORRECTION_WINDOW = timedelta(hours=48)
    assert b"Change it" in client.get(path).content


def test_window_closing_after_the_code_was_sent_refuses_the_change(client, buy, outbox):
    order, path = buy("edge@gmial.com")
    send(client, path, "edge@gmail.com")
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=25))
    refused(client, path, code_in(outbox[-1]))
    order.refresh_from_db()
    assert order.email == "edge@gmial.com"


def test_the_same_address_is_not_a_correction(client, buy, outbox):
    _order, path = buy("same@example.com")
    outbox.clear()
    response = send(client, path, "same@example.com")
    assert response.status_code == 400
    assert b"This is the address we already have" in response.content
    assert outbox == []


def test_an_address_staff_set_is_not_offered_for_correction(client, buy, admin_user):
    from wagtail_guestpay.buyers.corrections import correct_order_email

    order, path = buy("")
    correct_order_email(order, "staff.found@example.com", by=admin_user)
    page = client.get(path)
    assert b"Change it" not in page.content and b"Where should we send" not in page.content


# 3. Safety -------------------------------------------------------------------------------------
def test_an_order_is_claimed_once(client, buy, outbox):
    order, path = buy("")
    send(client, path, "first@example.com")
    confirm(client, path, code_in(outbox[-1]))
    page = client.get(path)
    # The new account is unused and within the window, but a claimed address is final.
    assert b"Where should we send" not in page.content and b"Change it" not in page.content
    outbox.clear()
    assert send(client, path, "second@example.com").status_code == 303
    assert outbox == []
    order.refresh_from_db()
    assert order.email == "first@example.com"
    with pytest.raises(IntegrityError):
        EmailClaim.objects.create(
            order=order,
            kind="claim",
            email="x@example.com",
            salt="s",
            code_hash="h",
            status="used",
            expires_at=timezone.now(),
        )


def test_expired_code_changes_nothing(client, buy, outbox):
    order, path = buy("")
    send(client, path, "expired@example.com")
    EmailClaim.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = refused(client, path, code_in(outbox[-1]))
    assert b"This code has expired" in response.content
    order.refresh_from_db()
    assert order.email_is_placeholder
    assert b"Where should we send your access?" in response.content  # ask again


def test_code_lifetime_follows_the_setting(client, buy, outbox, settings):
    settings.WAGTAIL_GUESTPAY_CLAIM_CODE_MAX_AGE = timedelta(minutes=5)
    _order, path = buy("")
    before = timezone.now()
    send(client, path, "five@example.com")
    claim = EmailClaim.objects.get()
    assert timedelta(minutes=4) < claim.expires_at - before <= timedelta(minutes=5, seconds=5)
    assert "5 minutes" in outbox[-1].body
    assert b"It works for 5 minutes" in client.get(path).content


def test_wrong_codes_count_down_then_lock_the_claim(client, buy, outbox):
    order, path = buy("")
    send(client, path, "guess@example.com")
    code = code_in(outbox[-1])
    for left in (4, 3, 2, 1):
        response = refused(client, path, other_than(code))
        assert f"{left} tr".encode() in response.content
    locked = refused(client, path, other_than(code))
    assert b"Too many wrong codes" in locked.content
    assert EmailClaim.objects.get().status == EmailClaim.Status.LOCKED
    refused(client, path, code)  # even the right code, now
    order.refresh_from_db()
    assert order.email_is_placeholder
    assert logged(order, "claim_locked").count() == 1


def test_reloading_the_page_after_a_wrong_code_spends_no_other_try(client, buy, outbox):
    """Redirect after POST: the wrong code's message is shown once, by GET."""
    _order, path = buy("")
    send(client, path, "reload@example.com")
    wrong = other_than(code_in(outbox[-1]))
    answer = confirm(client, path, wrong)
    assert answer.status_code == 303
    page = client.get(answer["Location"])
    assert page.status_code == 200 and b"4 tries left" in page.content
    assert b'name="code"' in page.content and wrong.encode() not in page.content
    reloaded = client.get(answer["Location"])
    assert b"tries left" not in reloaded.content
    assert EmailClaim.objects.get().attempts == 1
    # The message is for this order's page only.
    _other_order, other_path = buy("")
    confirm(client, path, wrong)
    assert b"tries left" not in client.get(other_path).content
    assert b"3 tries left" in client.get(path).content


def test_malformed_code_is_refused_without_using_an_attempt(client, buy, outbox):
    _order, path = buy("")
    send(client, path, "format@example.com")
    response = confirm(client, path, "12ab")
    assert response.status_code == 400 and b"6-digit code" in response.content
    assert EmailClaim.objects.get().attempts == 0
    assert (
        confirm(
            client, path, " " + code_in(outbox[-1])[:3] + " " + code_in(outbox[-1])[3:]
        ).status_code
        == 303
    )  # spaces are forgiven


def test_a_new_code_replaces_the_previous_one(client, buy, outbox, monkeypatch):
    monkeypatch.setattr(claims, "new_code", iter(["111111", "222222"]).__next__)  # two codes
    order, path = buy("")
    send(client, path, "old@example.com")
    old = code_in(outbox[-1])
    send(client, path, "new@example.com")
    new = code_in(outbox[-1])
    assert (old, new) == ("111111", "222222")
    refused(client, path, old)
    assert "claim=done" in confirm(client, path, new)["Location"]
    order.refresh_from_db()
    assert order.email == "new@example.com"
    assert list(EmailClaim.objects.order_by("pk").values_list("status", flat=True)) == [
        "replaced",
        "used",
    ]


def test_codes_are_stored_hashed_and_the_outbox_keeps_them_sealed(client, buy, outbox):
    order, _path = buy("")
    claim = claims.request_code(order, "sealed@example.com")  # queued, not sent yet
    queued = OutboundEmail.objects.get(dedupe_key=f"claim:{claim.pk}")
    assert set(queued.data) == {"kind", "max_age_minutes", "sealed"}
    code = decrypt_json(queued.data["sealed"])["code"]
    assert re.fullmatch(r"\d{6}", code)
    stored = EmailClaim.objects.filter(pk=claim.pk).values().get()
    assert all(code not in str(value) for value in stored.values())
    assert stored["code_hash"] == claims.code_hash(claim, code=code)
    assert stored["code_hash"] != hashlib.sha256(code.encode()).hexdigest()
    assert claims.code_hash(claim, code=code) != claims.code_hash(
        claim.salt + "0", claim.order_id, claim.email, code
    )  # salted per claim

    from tests.conftest import run_pending_on_commit

    run_pending_on_commit()  # the code e-mail is sent...
    assert code_in(to(outbox, "sealed@example.com")[-1]) == code
    queued.refresh_from_db()
    assert queued.sent_at is not None and "sealed" not in queued.data  # ...and forgotten
    assert code not in json.dumps(queued.data)


def test_enumeration_same_answers_for_addresses_with_and_without_an_account(
    client, buy, outbox, user
):
    def normalized(response, order, token, email):
        text = response.content.decode()
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
        return (
            response.status_code,
            text.replace(token, "TOKEN").replace(email, "EMAIL").replace(order.number, "NUMBER"),
        )

    answers = []
    for email in (user.email, "nobody@example.com"):
        order, path = buy("")
        token = path.rstrip("/").rsplit("/", 1)[1]
        sent = send(client, path, email)
        step = client.get(path)
        mail = to(outbox, email)[-1]
        done = confirm(client, path, code_in(mail))
        answers.append(
            {
                "sent": (sent.status_code, sent["Location"].replace(token, "TOKEN")),
                "step": normalized(step, order, token, email),
                "mail": (
                    mail.subject,
                    mail.body.replace(code_in(mail), "CODE").replace(order.number, "NUMBER"),
                ),
                "done": (done.status_code, done["Location"].replace(token, "TOKEN")),
                "page": normalized(client.get(done["Location"]), order, token, email),
            }
        )
    assert answers[0] == answers[1]


def test_csrf_is_enforced_on_both_steps(buy, outbox):
    _order, path = buy("")
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(path + "claim/", {"email": "csrf@example.com"}).status_code == 403
    assert browser.post(path + "claim/confirm/", {"code": "123456"}).status_code == 403
    assert not EmailClaim.objects.exists()
    page = browser.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    sent = browser.post(
        path + "claim/", {"email": "csrf@example.com", "csrfmiddlewaretoken": token}
    )
    assert sent.status_code == 303


def test_claims_need_the_order_token(client, buy):
    _order, path = buy("")
    assert send(client, "/guestpay/order/not-the-token/", "x@example.com").status_code == 404
    assert confirm(client, "/guestpay/order/not-the-token/", "123456").status_code == 404
    assert not EmailClaim.objects.exists()
    # Both steps take POST only, with or without the right token.
    for base in ("/guestpay/order/not-the-token/", path):
        assert client.get(base + "claim/").status_code == 405
        assert client.get(base + "claim/confirm/").status_code == 405


class TestRateLimits:
    @pytest.fixture(autouse=True)
    def small_budgets(self, settings):
        settings.WAGTAIL_GUESTPAY_CLAIM_RATE_LIMITS = {
            "send_order": (2, 3600),
            "send_email": (2, 3600),
            "send_client": (2, 3600),
            "verify_client": (2, 600),
        }

    def test_codes_per_order(self, client, buy, outbox):
        _order, path = buy("")
        assert send(client, path, "a@example.com", REMOTE_ADDR="10.0.0.1").status_code == 303
        assert send(client, path, "b@example.com", REMOTE_ADDR="10.0.0.2").status_code == 303
        outbox.clear()
        assert send(client, path, "c@example.com", REMOTE_ADDR="10.0.0.3").status_code == 429
        assert outbox == []

    def test_codes_per_address(self, client, buy, outbox):
        paths = [buy("")[1] for _ in range(3)]
        target = "target@example.com"
        assert send(client, paths[0], target, REMOTE_ADDR="10.0.0.1").status_code == 303
        assert send(client, paths[1], target, REMOTE_ADDR="10.0.0.2").status_code == 303
        outbox.clear()
        assert send(client, paths[2], target, REMOTE_ADDR="10.0.0.3").status_code == 429
        assert outbox == []

    def test_codes_per_client(self, client, buy, outbox):
        paths = [buy("")[1] for _ in range(3)]
        assert send(client, paths[0], "one@example.com").status_code == 303
        assert send(client, paths[1], "two@example.com").status_code == 303
        outbox.clear()
        assert send(client, paths[2], "three@example.com").status_code == 429
        assert outbox == []
        elsewhere = send(client, paths[2], "three@example.com", REMOTE_ADDR="10.9.9.9")
        assert elsewhere.status_code == 303

    def test_codes_typed_per_client(self, client, buy, outbox):
        _order, path = buy("")
        send(client, path, "typed@example.com")
        code = code_in(outbox[-1])
        confirm(client, path, other_than(code))
        confirm(client, path, other_than(code))
        assert confirm(client, path, code).status_code == 429
        assert EmailClaim.objects.get().attempts == 2  # the refused request was not counted
        assert confirm(client, path, code, REMOTE_ADDR="10.9.9.9").status_code == 303


def test_claim_for_an_address_whose_account_is_deactivated_goes_back_to_staff(client, buy, outbox):
    UserFactory(email="gone@example.com", is_active=False)
    order, path = buy("")
    send(client, path, "gone@example.com")
    assert confirm(client, path, code_in(outbox[-1])).status_code == 303
    order.refresh_from_db()
    assert order.attention == Attention.INACTIVE_ACCOUNT
    assert not AccessLink.objects.exists()


def test_a_code_e_mail_given_up_on_forgets_its_code(buy, settings):
    import socket

    order, _path = buy("")
    with socket.socket() as probe:  # a loopback port nobody listens on: the SMTP send fails
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.WAGTAIL_GUESTPAY_EMAIL_MAX_ATTEMPTS = 1
    claim = claims.request_code(order, "unreachable@example.com")

    from tests.conftest import run_pending_on_commit

    run_pending_on_commit()
    queued = OutboundEmail.objects.get(dedupe_key=f"claim:{claim.pk}")
    assert queued.sent_at is None and queued.next_attempt_at is None and queued.last_error
    assert "sealed" not in queued.data


def test_an_order_whose_claims_keep_getting_locked_is_left_to_staff(client, buy, outbox):
    order, path = buy("")
    for _claim in range(claims.MAX_LOCKED_CLAIMS):
        send(client, path, "brute@example.com", REMOTE_ADDR="10.1.0.1")
        code = code_in(outbox[-1])
        for _attempt in range(5):
            confirm(client, path, other_than(code), REMOTE_ADDR="10.1.0.2")
    assert EmailClaim.objects.filter(status="locked").count() == claims.MAX_LOCKED_CLAIMS
    outbox.clear()
    assert send(client, path, "brute@example.com", REMOTE_ADDR="10.1.0.3").status_code == 303
    assert outbox == []
    page = client.get(path)
    assert b"Where should we send" not in page.content and b"Contact us below" in page.content
    order.refresh_from_db()
    assert order in Order.objects.needs_attention()


def test_an_address_the_mail_would_deliver_elsewhere_is_refused(client, buy, outbox):
    """A zero-width space in the domain: the code would go to ann@example.com's mailbox while the
    order moved to another string."""
    _order, path = buy()
    outbox.clear()
    response = send(client, path, "ann@exa\u200bmple.com")
    assert response.status_code == 400
    assert not EmailClaim.objects.exists() and outbox == []

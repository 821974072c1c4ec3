"""The staff fixes, through their screens: confirmation page, required reason, the change itself,
the audit log entry (who, when, why) and safety against a second submission of the same form."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.factories import UserFactory
from tests.staff.conftest import confirm, form_token, messages_of
from wagtail_guestpay.emails import ACCESS, ACCESS_GRANTED
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import (
    AccessGrant,
    Attention,
    Contact,
    Order,
    OrderStatus,
    OutboundEmail,
    PaymentEvent,
    PaymentStatus,
)
from wagtail_guestpay.staff import fixes
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db
User = get_user_model()


def fix(name, *args):
    return reverse(f"wagtail_guestpay_staff:{name}", args=args)


def logs(action, obj=None):
    entries = ModelLogEntry.objects.filter(action=f"wagtail_guestpay.{action}")
    if obj is not None:
        entries = entries.filter(object_id=str(obj.pk))
    return list(entries)


def product_of(offer):
    return offer.get_products()[0]


# Correct the e-mail ---------------------------------------------------------------------------
def test_placeholder_order_is_corrected_and_the_buyer_gets_the_access_email(
    pay, offer, fixer, login, outbox
):
    order = pay("")
    placeholder = order.email
    assert order.attention == Attention.PLACEHOLDER_EMAIL
    client = login(fixer)
    page = client.get(fix("correct_email", order.pk))
    assert page.status_code == 200
    assert "What will happen" in page.content.decode() and placeholder in page.content.decode()
    outbox.clear()

    response, _token = confirm(
        client,
        fix("correct_email", order.pk),
        email="Real@Example.com",
        unused_account="keep",
        reason="Found in the TestPay dashboard",
    )

    assert response.status_code == 302
    assert response.url == reverse("guestpay_transactions_modeladmin_inspect", args=[order.pk])
    order.refresh_from_db()
    assert order.email == "real@example.com" and not order.email_is_placeholder
    assert order.attention == ""
    assert has_access(order.user, product_of(offer))
    assert [m.to for m in outbox] == [["real@example.com"]]
    assert "/guestpay/access/" in outbox[0].body  # a new account: the set-password link
    assert not Contact.objects.filter(email=placeholder).exists()
    [entry] = logs("email_corrected", order)
    assert entry.user == fixer
    assert entry.data["reason"] == "Found in the TestPay dashboard"
    assert entry.data["from"] == placeholder and entry.data["to"] == "real@example.com"


def test_correcting_twice_with_the_same_form_acts_once(pay, fixer, login, outbox):
    order = pay("")
    client = login(fixer)
    url = fix("correct_email", order.pk)
    data = {"email": "real@example.com", "unused_account": "keep", "reason": "dashboard"}
    first, token = confirm(client, url, **data)
    outbox.clear()

    second = client.post(url, {"form_token": token, **data})

    assert second.status_code == 302
    assert "already uses this e-mail" in " ".join(messages_of(second))
    assert outbox == []
    assert len(logs("email_corrected", order)) == 1
    assert OutboundEmail.objects.filter(order=order, kind=ACCESS).count() == 1


def test_typo_correction_can_delete_the_wrong_unused_account(pay, offer, fixer, login, outbox):
    order = pay("buyer@gmial.com")
    wrong = order.user
    outbox.clear()
    response, _ = confirm(
        login(fixer),
        fix("correct_email", order.pk),
        email="buyer@gmail.com",
        unused_account="delete",
        reason="the buyer wrote to support",
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=wrong.pk).exists()
    order.refresh_from_db()
    assert order.user.email == "buyer@gmail.com" and has_access(order.user, product_of(offer))
    assert [m.to for m in outbox] == [["buyer@gmail.com"]]
    assert logs("email_corrected", order)[0].data["previous_account_action"] == "deleted"


@pytest.mark.parametrize(
    "data, error",
    [
        ({"email": "not-an-email", "reason": "x"}, "Enter a valid email address."),
        (
            {"email": "x@placeholder.guestpay.invalid", "reason": "x"},
            "Enter a real e-mail address.",
        ),
        ({"email": "real@example.com", "reason": "   "}, "This field is required."),
    ],
)
def test_invalid_corrections_change_nothing(pay, fixer, login, data, error, settings):
    settings.WAGTAIL_GUESTPAY_PLACEHOLDER_EMAIL_DOMAIN = "placeholder.guestpay.invalid"
    order = pay("")
    response, _ = confirm(
        login(fixer), fix("correct_email", order.pk), unused_account="keep", **data
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    order.refresh_from_db()
    assert order.email_is_placeholder and order.attention == Attention.PLACEHOLDER_EMAIL
    assert logs("email_corrected") == []


def test_correcting_to_the_address_of_a_deactivated_account_is_refused(
    pay, offer, fixer, login, outbox
):
    """The access would leave the order's account for one that cannot use it, unseen."""
    order = pay("anne@gmial.com")
    typo_account = order.user
    UserFactory(username="gone", email="anne@gmail.com", is_active=False)
    outbox.clear()
    response, _ = confirm(
        login(fixer),
        fix("correct_email", order.pk),
        email="anne@gmail.com",
        unused_account="keep",
        reason="the buyer wrote",
    )
    assert response.status_code == 200
    assert "deactivated" in response.content.decode()
    order.refresh_from_db()
    assert order.user == typo_account and order.email == "anne@gmial.com"
    assert has_access(typo_account, product_of(offer))
    assert outbox == [] and logs("email_corrected") == []
    assert Contact.objects.filter(email="anne@gmail.com").count() == 0


def test_a_token_of_another_action_or_a_forged_one_is_refused(pay, fixer, login):
    order, other = pay(""), pay("")
    client = login(fixer)
    other_token = form_token(client.get(fix("correct_email", other.pk)))
    for token in (
        other_token,
        "forged",
        form_token(client.get(fix("resolve_attention", order.pk))),
    ):
        response = client.post(
            fix("correct_email", order.pk),
            {
                "form_token": token,
                "email": "real@example.com",
                "unused_account": "keep",
                "reason": "x",
            },
        )
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
    order.refresh_from_db()
    assert order.email_is_placeholder
    # The page re-rendered with a fresh token can be submitted.
    retry = client.post(
        fix("correct_email", order.pk),
        {
            "form_token": form_token(response),
            "email": "real@example.com",
            "unused_account": "keep",
            "reason": "x",
        },
    )
    assert retry.status_code == 302
    order.refresh_from_db()
    assert order.email == "real@example.com"


# Move access between accounts -----------------------------------------------------------------
def test_access_moves_to_another_account_of_the_buyer(pay, offer, fixer, login, outbox):
    old = UserFactory(username="old-account", email="shared@example.com")
    recent = UserFactory(username="recent-account", email="shared@example.com")
    User.objects.filter(pk=recent.pk).update(last_login="2026-01-01T00:00:00Z")
    order = pay("shared@example.com")
    assert order.user == recent and order.attention == Attention.SEVERAL_ACCOUNTS
    client = login(fixer)
    page = client.get(fix("move_access", order.pk)).content.decode()
    assert "old-account" in page
    outbox.clear()

    response, token = confirm(
        client,
        fix("move_access", order.pk),
        account=str(old.pk),
        reason="the buyer uses the old account",
    )

    assert response.status_code == 302
    product = product_of(offer)
    assert has_access(old, product) and not has_access(recent, product)
    order.refresh_from_db()
    assert order.user == old and order.attention == ""
    assert [m.to for m in outbox] == [["shared@example.com"]]
    [entry] = logs("access_moved", order)
    assert entry.user == fixer and entry.data["reason"] == "the buyer uses the old account"

    # Submitted again: the account is no longer a choice (the order is already with it).
    again = client.post(
        fix("move_access", order.pk), {"form_token": token, "account": str(old.pk), "reason": "x"}
    )
    assert again.status_code == 200 and "Select a valid choice" in again.content.decode()
    assert len(logs("access_moved", order)) == 1
    assert len(outbox) == 1
    # Behind the form, the state check holds too.
    with pytest.raises(fixes.NothingToDo):
        fixes.move_access(order, old, by=fixer, reason="again")


def test_access_moves_to_an_account_typed_by_username(pay, offer, fixer, login):
    order = pay("first@example.com")
    first = Contact.objects.get(email="first@example.com")
    other = UserFactory(username="elsewhere", email="elsewhere@example.com")
    client = login(fixer)
    response, _ = confirm(
        client, fix("move_access", order.pk), other="elsewhere", reason="same person"
    )
    assert response.status_code == 302
    assert has_access(other, product_of(offer))
    assert not has_access(first.user, product_of(offer))
    # The order's buyer e-mail is where its access now goes; the old one is in the history and
    # the payment keeps what the payment system returned.
    order.refresh_from_db()
    assert order.email == "elsewhere@example.com"
    assert order.contact.email == "elsewhere@example.com" and order.contact.user == other
    assert order.payments.get().payer_email == "first@example.com"
    [entry] = logs("access_moved", order)
    assert entry.data["from_email"] == "first@example.com"
    assert entry.data["to_email"] == "elsewhere@example.com"
    listing = client.get("/admin/guestpay/transactions/").content.decode()
    assert "elsewhere@example.com" in listing


# Grant and revoke -----------------------------------------------------------------------------
def test_grant_access_manually_to_a_new_email_creates_the_account_and_tells_it(
    offer, granter, login, outbox, run_on_commit
):
    product = product_of(offer)
    client = login(granter)
    url = fix("grant_access")
    page = client.get(url, {"email": "gift@example.com"}).content.decode()
    assert 'value="gift@example.com"' in page and product.title in page

    response, token = confirm(
        client,
        url,
        target="gift@example.com",
        products=[product.pk],
        reason="paid by bank transfer",
    )

    assert response.status_code == 302
    user = User.objects.get(email="gift@example.com")
    grant = AccessGrant.objects.get(user=user, product=product)
    assert grant.source == AccessGrant.Source.STAFF and grant.granted_by == granter
    assert grant.order is None and grant.note == "paid by bank transfer"
    [message] = outbox
    assert message.to == ["gift@example.com"] and product.title in message.body
    assert "/guestpay/access/" in message.body
    contact = Contact.objects.get(email="gift@example.com")
    assert contact.user == user and contact.source == Contact.Source.STAFF
    assert response.url == reverse("guestpay_contacts_modeladmin_inspect", args=[contact.pk])
    [entry] = logs("access_granted", contact)
    assert entry.user == granter and entry.data["reason"] == "paid by bank transfer"
    assert entry.data["products"] == [product.pk]

    again = client.post(
        url,
        {
            "form_token": token,
            "target": "gift@example.com",
            "products": [product.pk],
            "reason": "x",
        },
    )
    assert again.status_code == 302
    assert "already has access" in " ".join(messages_of(again))
    assert AccessGrant.objects.filter(user=user).count() == 1
    assert len(outbox) == 1 and len(logs("access_granted")) == 1


@pytest.mark.parametrize(
    "query",
    [
        "?contact=%C2%B2",
        "?contact=%D9%A3",
        "?contact=abc",
        "?contact=" + "9" * 30,
        "?contact=%00",
        "?email=%00",
    ],
)
def test_the_grant_form_ignores_a_malformed_contact_or_email(granter, login, query):
    response = login(granter).get(fix("grant_access") + query)
    assert response.status_code == 200
    assert 'name="target"' in response.content.decode()


@pytest.mark.parametrize("product", ["abc", "99999999999999999999999", "\x00"])
def test_a_forged_product_is_a_form_error(offer, granter, login, product):
    response, _ = confirm(
        login(granter),
        fix("grant_access"),
        target="gift@example.com",
        products=[product],
        reason="x",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["products"]
    assert not AccessGrant.objects.exists()


def test_grant_access_to_an_existing_username_says_log_in(offer, user, granter, login, outbox):
    product = product_of(offer)
    response, _ = confirm(
        login(granter),
        fix("grant_access"),
        target=user.username,
        products=[product.pk],
        reason="goodwill",
    )
    assert response.status_code == 302
    assert has_access(user, product)
    [message] = outbox
    assert message.to == [user.email] and "/guestpay/login/" in message.body
    assert OutboundEmail.objects.get().kind == ACCESS_GRANTED


def test_revoke_a_grant_and_grant_the_orders_access_again(pay, offer, granter, login, outbox):
    order = pay("buyer@example.com")
    product = product_of(offer)
    grant = order.grants.get()
    client = login(granter)

    response, token = confirm(client, fix("revoke_grant", grant.pk), reason="refund at bank")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at and grant.revoked_by == granter
    assert not has_access(order.user, product)
    [entry] = logs("access_revoked", order)
    assert entry.user == granter and entry.data["reason"] == "refund at bank"
    again = client.post(fix("revoke_grant", grant.pk), {"form_token": token, "reason": "x"})
    assert "already revoked" in " ".join(messages_of(again))
    assert len(logs("access_revoked")) == 1

    outbox.clear()
    response, token = confirm(client, fix("grant_order_access", order.pk), reason="mistake")
    assert response.status_code == 302
    assert has_access(order.user, product)
    new_grant = order.grants.active().get()
    assert new_grant.source == AccessGrant.Source.STAFF and new_grant.granted_by == granter
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    again = client.post(fix("grant_order_access", order.pk), {"form_token": token, "reason": "x"})
    assert "already granted" in " ".join(messages_of(again))
    assert len(outbox) == 1 and len(logs("access_granted", order)) == 1


def test_revoke_all_of_an_orders_access(pay, offer, granter, login):
    order = pay("buyer@example.com")
    response, _ = confirm(login(granter), fix("revoke_order_access", order.pk), reason="chargeback")
    assert response.status_code == 302
    assert not order.grants.active().exists()
    assert logs("access_revoked", order)[0].data["reason"] == "chargeback"


# Resend the access e-mail ---------------------------------------------------------------------
def test_resend_sends_one_new_email_per_form(pay, fixer, login, outbox):
    order = pay("buyer@example.com")
    client = login(fixer)
    outbox.clear()
    url = fix("resend_access_email", order.pk)

    response, token = confirm(client, url, reason="the buyer lost it")
    assert response.status_code == 302
    assert [m.to for m in outbox] == [["buyer@example.com"]]
    again = client.post(url, {"form_token": token, "reason": "the buyer lost it"})
    assert "already sent again" in " ".join(messages_of(again))
    assert len(outbox) == 1

    confirm(client, url, reason="lost it again")  # a new form: a new e-mail
    assert len(outbox) == 2
    assert [entry.data["reason"] for entry in logs("access_email_resent", order)] == [
        "lost it again",
        "the buyer lost it",
    ]


def test_resend_is_refused_for_a_placeholder_order(pay, fixer, login, outbox):
    order = pay("")
    outbox.clear()
    response, _ = confirm(login(fixer), fix("resend_access_email", order.pk), reason="x")
    assert "correct its e-mail first" in " ".join(messages_of(response))
    assert outbox == [] and logs("access_email_resent") == []


# Payments -------------------------------------------------------------------------------------
def test_check_a_pending_payment_now_grants_when_the_provider_says_paid(
    offer, testpay, run_on_commit, fixer, login, outbox
):
    _order, payment, charge = testpay.start(offer)
    testpay.notify(payment, "pending", email="late@example.com")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    # The provider confirmed, but its notification never arrived.
    TestCharge.objects.filter(pk=charge.pk).update(
        status=TestCharge.Status.PAID, email="late@example.com"
    )
    outbox.clear()

    response, _ = confirm(
        login(fixer), fix("check_payment", payment.pk), reason="the buyer says the bank confirmed"
    )

    assert response.status_code == 302
    assert "now “Paid”" in " ".join(messages_of(response))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    order = Order.objects.get(pk=payment.order_id)
    assert has_access(order.user, product_of(offer))
    assert [m.to for m in outbox] == [["late@example.com"]]
    [entry] = logs("payment_checked", order)
    assert entry.user == fixer and entry.data["to"] == "paid"


def test_a_check_sent_twice_asks_the_payment_system_once(
    offer, testpay, run_on_commit, fixer, login, monkeypatch
):
    from wagtail_guestpay.staff import payments as fixes_module

    _order, payment, _charge = testpay.start(offer)
    asked = []
    real = fixes_module.check_payment
    monkeypatch.setattr(
        fixes_module,
        "check_payment",
        lambda *args, **kwargs: asked.append(args) or real(*args, **kwargs),
    )
    client = login(fixer)
    response, token = confirm(client, fix("check_payment", payment.pk), reason="buyer asks")
    assert response.status_code == 302 and len(asked) == 1
    again = client.post(
        fix("check_payment", payment.pk), {"form_token": token, "reason": "x"}, follow=True
    )
    assert "already done" in " ".join(messages_of(again))
    assert len(asked) == 1
    assert len(logs("payment_checked", Order.objects.get(pk=payment.order_id))) == 1


def test_an_expired_payment_can_be_checked_again(offer, testpay, run_on_commit, fixer, login):
    from wagtail_guestpay.fulfilment.transitions import move_payment

    _order, payment, charge = testpay.start(offer)
    move_payment(payment, PaymentStatus.EXPIRED, reason="window passed")
    TestCharge.objects.filter(pk=charge.pk).update(
        status=TestCharge.Status.PAID, email="patient@example.com"
    )
    response, _ = confirm(login(fixer), fix("check_payment", payment.pk), reason="buyer paid")
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID


@pytest.fixture
def held(offer, testpay, run_on_commit):
    """A payment the provider reported paid with the wrong amount: held for review."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="short@example.com", amount=Decimal("4.90"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.ON_HOLD
    return payment


def test_accepting_a_held_payment_fulfils_the_order(held, offer, fixer, login, outbox):
    order = Order.objects.get(pk=held.order_id)
    assert order.attention == Attention.AMOUNT_MISMATCH
    client = login(fixer)
    assert "4.90" in client.get(fix("review_hold", held.pk)).content.decode()
    outbox.clear()

    response, token = confirm(
        client,
        fix("review_hold", held.pk),
        decision="accept",
        reason="the buyer paid the rest by transfer",
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.attention == ""
    assert has_access(order.user, product_of(offer)) and order.email == "short@example.com"
    assert [m.to for m in outbox] == [["short@example.com"]]
    [entry] = logs("hold_accepted", order)
    assert entry.user == fixer and "transfer" in entry.data["reason"]
    status_entry = [e for e in logs("payment_status", order) if e.data["to"] == "paid"][0]
    assert status_entry.user == fixer

    again = client.post(
        fix("review_hold", held.pk), {"form_token": token, "decision": "refuse", "reason": "x"}
    )
    assert "not held for review any more" in " ".join(messages_of(again))
    held.refresh_from_db()
    assert held.status == PaymentStatus.PAID and len(outbox) == 1


def test_refusing_a_held_payment_gives_no_access(held, offer, fixer, login, outbox):
    outbox.clear()
    response, _ = confirm(
        login(fixer),
        fix("review_hold", held.pk),
        decision="refuse",
        reason="amount too low, refunded in the dashboard",
    )
    assert response.status_code == 302
    held.refresh_from_db()
    order = Order.objects.get(pk=held.order_id)
    assert held.status == PaymentStatus.FAILED and order.status == OrderStatus.FAILED
    assert order.attention == "" and not order.grants.exists()
    assert outbox == []
    assert logs("hold_refused", order)[0].data["reason"].startswith("amount too low")


# The queues -----------------------------------------------------------------------------------
def test_mark_an_order_as_dealt_with(pay, fixer, login):
    old = UserFactory(email="two@example.com")
    UserFactory(email="two@example.com")
    order = pay("two@example.com")
    assert order.attention == Attention.SEVERAL_ACCOUNTS and old
    client = login(fixer)
    response, token = confirm(
        client,
        fix("resolve_attention", order.pk),
        attention=Attention.SEVERAL_ACCOUNTS,
        reason="checked with the buyer: right account",
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.attention == "" and "right account" in order.attention_note
    again = client.post(
        fix("resolve_attention", order.pk),
        {"form_token": token, "attention": Attention.SEVERAL_ACCOUNTS, "reason": "x"},
    )
    assert "no longer waits" in " ".join(messages_of(again))
    assert len(logs("attention_resolved", order)) == 1


def test_a_held_mismatch_cannot_be_waved_away(held, fixer, login):
    order = Order.objects.get(pk=held.order_id)
    response, _ = confirm(
        login(fixer),
        fix("resolve_attention", order.pk),
        attention=Attention.AMOUNT_MISMATCH,
        reason="x",
    )
    assert "accept or refuse it instead" in " ".join(messages_of(response))
    order.refresh_from_db()
    assert order.attention == Attention.AMOUNT_MISMATCH


def test_an_unknown_payment_notification_is_reviewed_once(
    offer, testpay, run_on_commit, fixer, login
):
    _order, payment, _charge = testpay.start(offer)
    body = json.loads(testpay.body(payment, "paid", event_id="evt_stranger"))
    body["data"].update(reference="ELSEWHERE-1", id="ch_stranger")
    testpay.post(payment, json.dumps(body).encode())
    event = PaymentEvent.objects.get(provider_event_id="evt_stranger")
    assert event.outcome == PaymentEvent.Outcome.UNKNOWN_PAYMENT
    client = login(fixer)
    page = client.get(reverse("guestpay_events_modeladmin_inspect", args=[event.pk]))
    assert fix("event_reviewed", event.pk) in page.content.decode()

    response, token = confirm(
        client, fix("event_reviewed", event.pk), reason="a payment of our other shop"
    )
    assert response.status_code == 302
    again = client.post(fix("event_reviewed", event.pk), {"form_token": token, "reason": "x"})
    assert "already reviewed" in " ".join(messages_of(again))
    [entry] = logs("event_reviewed", event)
    assert entry.user == fixer and entry.data["reason"] == "a payment of our other shop"
    page = client.get(reverse("guestpay_events_modeladmin_inspect", args=[event.pk]))
    assert fix("event_reviewed", event.pk) not in page.content.decode()

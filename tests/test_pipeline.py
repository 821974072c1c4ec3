"""The confirmation pipeline end to end, through the real views and task functions: Pay ->
test provider -> signed notification -> account, access and e-mail."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import order_of, refreshed
from tests.factories import OfferFactory, UserFactory, course_page
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import (
    AccessGrant,
    Attention,
    Contact,
    GuestAccount,
    OrderStatus,
    OutboundEmail,
    PaymentEvent,
    PaymentStatus,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_paid_with_a_new_email_creates_account_grants_and_sends_link(
    offer, testpay, run_on_commit, outbox
):
    order, payment, _charge = testpay.start(offer)
    response = testpay.notify(payment, "paid", email="New.Buyer@Example.com", payer_name="New B")

    assert response.status_code == 200
    order = order_of(payment)
    assert order.status == OrderStatus.PAID
    assert order.paid_at is not None
    assert refreshed(payment).status == PaymentStatus.PAID
    assert refreshed(payment).processed_at is not None
    user = User.objects.get(email__iexact="new.buyer@example.com")
    assert not user.has_usable_password()
    assert GuestAccount.objects.filter(user=user).exists()
    assert order.user == user and order.email == "new.buyer@example.com"
    assert Contact.objects.get(email="new.buyer@example.com").user == user
    product = offer.get_products()[0]
    assert has_access(user, product)
    assert [message.to for message in outbox] == [["new.buyer@example.com"]]
    assert "/guestpay/access/" in outbox[0].body
    assert order.attention == ""


def test_same_notification_five_times_grants_once_and_mails_once(
    offer, testpay, run_on_commit, outbox
):
    _order, payment, _charge = testpay.start(offer)
    body = testpay.body(payment, "paid", email="five@example.com")
    statuses = [testpay.post(payment, body).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert PaymentEvent.objects.filter(payment=payment).count() == 1
    assert AccessGrant.objects.filter(order=payment.order).count() == 1
    assert OutboundEmail.objects.filter(order=payment.order).count() == 1
    assert len(outbox) == 1
    assert User.objects.filter(email__iexact="five@example.com").count() == 1


def test_a_paid_event_writes_the_orders_history_with_registered_actions(
    offer, testpay, run_on_commit, outbox
):
    """transitions.audit() writes the entries without Wagtail's log() (and its full_clean()):
    they must still be what log() would write, with actions the registry knows."""
    from wagtail.log_actions import registry
    from wagtail.models import ModelLogEntry

    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="history@example.com")

    order = order_of(payment)
    entries = list(registry.get_logs_for_instance(order).order_by("pk"))
    assert [entry.action for entry in entries] == [
        "wagtail_guestpay.payment_status",
        "wagtail_guestpay.order_status",
    ]
    assert entries[0].data["to"] == "paid" and entries[1].data["to"] == "paid"
    for entry in entries:
        assert isinstance(entry, ModelLogEntry)
        assert registry.action_exists(entry.action)
        assert entry.label == str(order) and entry.object_id == str(order.pk)
        entry.full_clean()  # what log() would have checked


def test_distinct_events_for_the_same_payment_converge(offer, testpay, run_on_commit, outbox):
    """Two different events (ids) that both say "paid": one grant, one e-mail."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="twice@example.com", event_id="evt_a")
    testpay.notify(payment, "paid", email="twice@example.com", event_id="evt_b")

    assert AccessGrant.objects.filter(order=payment.order).count() == 1
    assert len(outbox) == 1
    outcomes = sorted(PaymentEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["applied", "no_change"]


def test_existing_account_gets_access_but_nobody_is_logged_in(
    offer, testpay, run_on_commit, outbox, client, user
):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="EXISTING@example.com")

    order = order_of(payment)
    assert order.user == user
    assert has_access(user, offer.get_products()[0])
    assert "_auth_user_id" not in client.session
    assert len(outbox) == 1
    assert "/guestpay/access/" not in outbox[0].body
    assert "/guestpay/login/" in outbox[0].body
    assert User.objects.count() == 1


def test_paying_again_while_logged_out_adds_no_account_and_logs_nobody_in(
    offer, testpay, run_on_commit, outbox, client
):
    _o, first, _c = testpay.start(offer)
    testpay.notify(first, "paid", email="again@example.com")
    _o, second, _c = testpay.start(offer)
    testpay.notify(second, "paid", email="again@example.com")

    assert User.objects.filter(email__iexact="again@example.com").count() == 1
    assert Contact.objects.filter(email="again@example.com").count() == 1
    assert "_auth_user_id" not in client.session
    assert AccessGrant.objects.filter(order=first.order).count() == 1
    assert AccessGrant.objects.filter(order=second.order).count() == 1
    assert len([m for m in outbox if m.to == ["again@example.com"]]) == 2
    assert order_of(second).bought_twice  # staff are told (tests/test_already_yours.py)


def test_no_email_from_the_wallet_leaves_a_flagged_placeholder_and_sends_nothing_to_it(
    offer, testpay, run_on_commit, outbox, settings
):
    settings.MANAGERS = [("Staff", "staff@example.com")]
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="")

    order = order_of(payment)
    assert order.status == OrderStatus.PAID
    assert order.email_is_placeholder
    assert order.email.endswith("@placeholder.guestpay.invalid")
    assert order.attention == Attention.PLACEHOLDER_EMAIL
    contact = Contact.objects.get(email=order.email)
    assert contact.is_placeholder and contact.user is None
    assert order.user is None
    assert not AccessGrant.objects.exists()
    assert [message.to for message in outbox] == [["staff@example.com"]]
    assert order.number in outbox[0].subject


def test_pending_then_confirmed_grants_only_on_confirmation(offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "pending", email="later@example.com")

    assert order_of(payment).status == OrderStatus.PENDING
    assert not AccessGrant.objects.exists()
    assert outbox == []

    testpay.notify(payment, "paid", email="later@example.com")
    assert order_of(payment).status == OrderStatus.PAID
    assert AccessGrant.objects.count() == 1
    assert len(outbox) == 1


def test_amount_mismatch_holds_the_payment_and_grants_nothing(
    offer, testpay, run_on_commit, outbox
):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="cheap@example.com", amount=Decimal("0.49"))

    order = order_of(payment)
    assert order.status == OrderStatus.ON_HOLD
    assert order.attention == Attention.AMOUNT_MISMATCH
    assert "0.49" in order.attention_note
    assert not AccessGrant.objects.exists()
    assert not User.objects.filter(email="cheap@example.com").exists()
    event = PaymentEvent.objects.get()
    assert event.outcome == PaymentEvent.Outcome.AMOUNT_MISMATCH


@pytest.mark.parametrize("amount", ["1e999999", "-1e30"])
def test_an_absurd_amount_is_an_amount_mismatch(offer, testpay, run_on_commit, amount):
    """A signed amount beyond Decimal's precision is held like any other wrong amount, not a
    task failure retried until it gives up."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="huge@example.com", amount=amount)

    order = order_of(payment)
    assert order.status == OrderStatus.ON_HOLD
    assert order.attention == Attention.AMOUNT_MISMATCH
    assert not AccessGrant.objects.exists()
    event = PaymentEvent.objects.get()
    assert event.outcome == PaymentEvent.Outcome.AMOUNT_MISMATCH
    assert event.error == ""


def test_currency_mismatch_is_an_amount_mismatch(offer, testpay, run_on_commit):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="usd@example.com", currency="USD")

    assert order_of(payment).attention == Attention.AMOUNT_MISMATCH
    assert not AccessGrant.objects.exists()


def test_refund_revokes_the_access_the_order_granted(offer, testpay, run_on_commit):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="refund@example.com")
    user = order_of(payment).user
    product = offer.get_products()[0]
    assert has_access(user, product)

    testpay.notify(payment, "refunded", email="refund@example.com")

    assert order_of(payment).status == OrderStatus.REFUNDED
    assert not has_access(user, product)
    grant = AccessGrant.objects.get()
    assert grant.revoked_at is not None


def test_refund_keeps_access_when_the_offer_says_so(account, testpay, run_on_commit):
    offer = OfferFactory(provider_account=account, revoke_on_refund=False)
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="keep@example.com")
    testpay.notify(payment, "refunded", email="keep@example.com")

    assert order_of(payment).status == OrderStatus.REFUNDED
    assert has_access(order_of(payment).user, offer.get_products()[0])


def test_refund_before_capture_ends_refunded_without_access(offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "refunded", email="ooo@example.com")
    testpay.notify(payment, "paid", email="ooo@example.com")

    assert order_of(payment).status == OrderStatus.REFUNDED
    assert not AccessGrant.objects.exists()
    assert not [m for m in outbox if "ooo@example.com" in m.to]


def test_pending_after_paid_changes_nothing(offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="order@example.com")
    testpay.notify(payment, "pending", email="order@example.com")

    assert order_of(payment).status == OrderStatus.PAID
    assert AccessGrant.objects.active().count() == 1
    assert len(outbox) == 1


def test_declined_then_paid_later_is_honoured(offer, testpay, run_on_commit, outbox):
    """A confirmed payment reported after a decline still counts: money was taken."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "declined")
    assert order_of(payment).status == OrderStatus.FAILED
    testpay.notify(payment, "paid", email="late@example.com")

    assert order_of(payment).status == OrderStatus.PAID
    assert AccessGrant.objects.count() == 1


def test_logged_in_buyer_pays_as_themselves_whatever_email_the_provider_returns(
    offer, testpay, run_on_commit, client, user, outbox
):
    client.force_login(user)
    _order, payment, _charge = testpay.start(offer)
    assert order_of(payment).paid_as_user
    testpay.notify(payment, "paid", email="someone.else@example.com")

    order = order_of(payment)
    assert order.user == user
    assert has_access(user, offer.get_products()[0])
    assert not User.objects.filter(email="someone.else@example.com").exists()
    assert [message.to for message in outbox] == [[user.email]]


def test_several_accounts_with_the_email_grants_to_the_most_recent_and_flags(
    offer, testpay, run_on_commit
):
    from django.utils import timezone

    UserFactory(email="twin@example.com", last_login=timezone.now() - timezone.timedelta(days=9))
    recent = UserFactory(email="Twin@example.com", last_login=timezone.now())
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="twin@example.com")

    order = order_of(payment)
    assert order.user == recent
    assert order.attention == Attention.SEVERAL_ACCOUNTS


def test_deactivated_account_gets_no_grant_and_is_flagged(offer, testpay, run_on_commit, outbox):
    UserFactory(email="gone@example.com", is_active=False)
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="gone@example.com")

    assert order_of(payment).attention == Attention.INACTIVE_ACCOUNT
    assert not AccessGrant.objects.exists()
    assert not [m for m in outbox if "gone@example.com" in m.to]


def test_an_offer_with_two_products_grants_both(account, testpay, run_on_commit, outbox):
    pages = [course_page("One"), course_page("Two")]
    offer = OfferFactory(provider_account=account, products=pages)
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="bundle@example.com")

    user = order_of(payment).user
    assert all(has_access(user, page) for page in pages)
    assert "One" in outbox[0].body and "Two" in outbox[0].body


def test_unknown_payment_reference_is_stored_and_flagged_not_lost(
    offer, testpay, run_on_commit, settings, outbox
):
    settings.MANAGERS = [("Staff", "staff@example.com")]
    _order, payment, _charge = testpay.start(offer)
    payment.reference = "GPUNKNOWN"
    payment.provider_reference = "ch_unknown"
    response = testpay.notify(payment, "paid", email="ghost@example.com")

    assert response.status_code == 200
    event = PaymentEvent.objects.get()
    assert event.outcome == PaymentEvent.Outcome.UNKNOWN_PAYMENT
    assert event.processed_at is not None
    assert not AccessGrant.objects.exists()
    assert [message.to for message in outbox] == [["staff@example.com"]]


def test_access_email_in_the_buyers_language(offer, testpay, run_on_commit, outbox, client):
    client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    response = client.get(offer.get_pay_path(), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 303
    from wagtail_guestpay.models import Payment

    payment = Payment.objects.get()
    assert payment.order.language == "fr"
    testpay.notify(payment, "paid", email="acheteur@example.com")  # carries no language

    [message] = outbox
    assert message.to == ["acheteur@example.com"]
    assert message.subject == f"Votre accès à {offer.title}"
    assert "Your access" not in message.subject

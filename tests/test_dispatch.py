"""Stored events are the queue: the notify request stores one row and wakes a drain (coalesced per
process); drains lease events so that each is taken by one drain, and the sweeper takes what no
drain did. The notify view keeps payment systems in memory, and never acts on stale credentials.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf

from tests.conftest import order_of
from wagtail_guestpay.fulfilment import dispatch, payment_systems
from wagtail_guestpay.fulfilment.drain import claim, drain
from wagtail_guestpay.models import OrderStatus, PaymentEvent
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_wake():
    with (
        mock.patch("wagtail_guestpay.fulfilment.dispatch.wake") as wake,
        mock.patch("wagtail_guestpay.fulfilment.intake.wake", wake),
    ):
        yield wake


def test_a_notification_is_one_waiting_row_and_a_drain_applies_it_once(
    offer, testpay, run_on_commit, outbox, no_wake
):
    _order, payment, _charge = testpay.start(offer)
    assert testpay.notify(payment, "paid", email="drained@example.com").status_code == 200
    assert testpay.notify(payment, "paid", email="drained@example.com").status_code == 200
    assert no_wake.call_count == 2  # woken each time; nothing processed in the request
    event = PaymentEvent.objects.get(signature_valid=True)  # the redelivery stored nothing
    assert event.processed_at is None and event.next_attempt_at is None
    assert order_of(payment).status == OrderStatus.CREATED

    assert drain(budget=60) == 1
    run_on_commit()  # the e-mail task
    assert drain(budget=60) == 0
    event.refresh_from_db()
    assert event.processed_at is not None and event.outcome == PaymentEvent.Outcome.APPLIED
    assert order_of(payment).status == OrderStatus.PAID
    assert [m.to for m in outbox] == [["drained@example.com"]]


def test_a_claimed_event_is_leased_to_one_drain_until_its_lease_passes(
    offer, testpay, run_on_commit, no_wake, settings
):
    settings.WAGTAIL_GUESTPAY_EVENT_TASK_GRACE = 120
    _order, payment, _charge = testpay.start(offer)
    for index in range(3):
        testpay.notify(payment, "pending", event_id=f"evt_lease_{index}")
    first = claim(batch=2)
    assert len(first) == 2
    second = claim(batch=2)
    assert len(second) == 1 and not set(first) & set(second)
    assert claim() == []  # all leased
    leased = PaymentEvent.objects.get(pk=first[0])
    assert leased.next_attempt_at > timezone.now() + timedelta(seconds=100)

    # the drain holding first[0] died: once its lease has passed, another drain takes it
    PaymentEvent.objects.filter(pk=first[0]).update(next_attempt_at=timezone.now())
    assert claim() == [first[0]]
    # an event that failed is the sweeper's (back-off), never a drain's
    PaymentEvent.objects.filter(pk=first[1]).update(attempts=1, next_attempt_at=timezone.now())
    assert claim() == []


def test_the_sweeper_takes_an_event_no_drain_took_after_the_grace(
    offer, testpay, run_on_commit, outbox, no_wake, settings
):
    settings.WAGTAIL_GUESTPAY_EVENT_TASK_GRACE = 120
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="swept@example.com")
    assert run_maintenance()["events"] == 0  # a drain may still take it
    PaymentEvent.objects.update(received_at=timezone.now() - timedelta(seconds=121))
    with mock.patch("wagtail_guestpay.queueing.enqueue"):
        assert run_maintenance()["events"] == 1
    assert order_of(payment).status == OrderStatus.PAID


@pytest.fixture
def queued():
    """A queue whose tasks are rows of the database (the ORM broker), not run in place."""
    dispatch._window["until"] = 0.0
    with (
        mock.patch.object(Conf, "SYNC", False),
        mock.patch("wagtail_guestpay.queueing.queue_shares_transaction", return_value=True),
        mock.patch("wagtail_guestpay.queueing.enqueue") as enqueue,
    ):
        yield enqueue
    dispatch._window["until"] = 0.0


def test_wakes_are_coalesced_per_process_and_a_rolled_back_wake_holds_nothing(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.WAGTAIL_GUESTPAY_DRAIN_COALESCE = 60
    with (
        django_capture_on_commit_callbacks(execute=False),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        dispatch.wake()
        raise RuntimeError("rolled back")
    assert queued.call_count == 1  # queued in the transaction that was rolled back...
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.wake()  # ...so it did not hold the window
    assert queued.call_count == 2
    woken_at = queued.call_args.args[1]
    assert dispatch._window["until"] == pytest.approx(woken_at + 60)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            dispatch.wake()
    assert queued.call_count == 2  # the drain queued last looks for these

    dispatch._window["until"] = 0.0  # the window has passed
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.wake()
    assert queued.call_count == 3


def test_a_coalesced_drain_looks_until_its_window_has_passed(settings, monkeypatch):
    import time

    settings.WAGTAIL_GUESTPAY_DRAIN_COALESCE = 0.2
    looks = []
    monkeypatch.setattr(
        "wagtail_guestpay.fulfilment.drain.claim", lambda: looks.append(time.time()) or []
    )
    woken_at = time.time()
    assert drain(woken_at, budget=10) == 0
    assert len(looks) > 1 and looks[-1] >= woken_at + 0.2  # the last look after the window
    looks.clear()
    assert drain(None, budget=10) == 0 and len(looks) == 1  # an unwindowed drain looks once


# The payment systems kept in memory -------------------------------------------------------------
def test_a_payment_system_is_read_once_and_forgotten_when_saved(account, django_assert_num_queries):
    payment_systems.forget()
    with django_assert_num_queries(1):
        payment_systems.NotifiedAccount(account.public_id)
    with django_assert_num_queries(0):
        held = payment_systems.NotifiedAccount(account.public_id)
    assert held.cached and held.account.pk == account.pk
    account.name = "Renamed"
    account.save()
    with django_assert_num_queries(1):
        assert payment_systems.NotifiedAccount(account.public_id).account.name == "Renamed"


def test_a_secret_changed_in_another_process_counts_from_its_first_notification(
    offer, testpay, run_on_commit, no_wake
):
    _order, payment, _charge = testpay.start(offer)
    account = payment.account
    old_secret = account.get_secret("signing_secret")
    payment_systems.forget()
    assert testpay.notify(payment, "pending").status_code == 200  # now held in memory
    # another process stores a new secret (no signal reaches this one)
    account.set_secrets({"signing_secret": "rotated-secret"})
    type(account).objects.filter(pk=account.pk).update(secrets_encrypted=account.secrets_encrypted)
    body = testpay.body(payment, "paid", email="rotated@example.com")
    assert testpay.post(payment, body, secret="rotated-secret").status_code == 200
    assert PaymentEvent.objects.filter(signature_valid=True).count() == 2
    # and the old secret is refused from then on
    old = testpay.body(payment, "failed", event_id="evt_old_secret")
    refused = testpay.post(payment, old, secret=old_secret)
    assert refused.status_code == 400, refused.content


def test_new_encryption_keys_forget_what_was_held(account, settings):
    from cryptography.fernet import Fernet

    payment_systems.forget()
    payment_systems.NotifiedAccount(account.public_id)
    assert payment_systems.NotifiedAccount(account.public_id).cached
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS,
    ]
    assert not payment_systems.NotifiedAccount(account.public_id).cached

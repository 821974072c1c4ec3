"""The e-mail outbox and the follow-up of unconfirmed payments (polling, expiry, sweeper)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.conftest import order_of, refreshed
from wagtail_guestpay import emails
from wagtail_guestpay.fulfilment.confirmation import poll_delay
from wagtail_guestpay.fulfilment.follow_up import check_payment, expire_stale_payments
from wagtail_guestpay.models import (
    AccessGrant,
    OrderStatus,
    OutboundEmail,
    PaymentEvent,
    PaymentStatus,
)
from wagtail_guestpay.tasks import ensure_schedule, run_maintenance

pytestmark = pytest.mark.django_db


class TestOutbox:
    def test_backend_failure_keeps_the_grant_and_retries_the_email(
        self, offer, testpay, run_on_commit, outbox
    ):
        _order, payment, _charge = testpay.start(offer)
        with mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            side_effect=ConnectionRefusedError("smtp down"),
        ):
            testpay.notify(payment, "paid", email="retry.mail@example.com")
        assert order_of(payment).status == OrderStatus.PAID
        assert AccessGrant.objects.count() == 1
        assert outbox == []
        queued = OutboundEmail.objects.get()
        assert queued.sent_at is None and queued.attempts == 1
        assert "smtp down" in queued.last_error
        assert queued.next_attempt_at > timezone.now()

        # Not due yet: the sweeper leaves it alone.
        assert run_maintenance()["emails"] == 0
        OutboundEmail.objects.update(next_attempt_at=timezone.now())
        assert run_maintenance()["emails"] == 1
        assert [m.to for m in outbox] == [["retry.mail@example.com"]]
        assert refreshed(queued).sent_at is not None

    def test_gives_up_after_the_configured_attempts(self, offer, testpay, run_on_commit, settings):
        settings.WAGTAIL_GUESTPAY_EMAIL_MAX_ATTEMPTS = 2
        _order, payment, _charge = testpay.start(offer)
        with mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages",
            side_effect=OSError("down"),
        ):
            testpay.notify(payment, "paid", email="give.up@example.com")
            OutboundEmail.objects.update(next_attempt_at=timezone.now())
            run_maintenance()
        queued = OutboundEmail.objects.get()
        assert queued.attempts == 2 and queued.next_attempt_at is None and queued.sent_at is None

    def test_a_claimed_email_is_not_sent_twice(self, offer, testpay, run_on_commit, outbox):
        _order, payment, _charge = testpay.start(offer)
        testpay.notify(payment, "paid", email="lease@example.com")
        queued = OutboundEmail.objects.get()
        assert emails.deliver(queued.pk) is False  # already sent
        assert len(outbox) == 1

        # Claimed by another worker (leased, not sent yet): this one leaves it alone.
        leased_until = timezone.now() + emails.LEASE
        OutboundEmail.objects.filter(pk=queued.pk).update(
            sent_at=None, attempts=1, next_attempt_at=leased_until
        )
        assert emails.deliver(queued.pk) is False
        assert len(outbox) == 1
        queued.refresh_from_db()
        assert queued.attempts == 1 and queued.next_attempt_at == leased_until

    def test_placeholder_addresses_are_never_queued(self, settings):
        domain = settings.WAGTAIL_GUESTPAY_PLACEHOLDER_EMAIL_DOMAIN
        assert emails.queue_email(emails.ACCESS, f"abc@{domain}") is None
        assert not OutboundEmail.objects.exists()

    def test_dedupe_key_queues_once(self, run_on_commit):
        first = emails.queue_email(emails.STAFF_NOTICE, "s@example.com", dedupe_key="k1")
        second = emails.queue_email(emails.STAFF_NOTICE, "s@example.com", dedupe_key="k1")
        assert first is not None and second is None


class TestPolling:
    def test_backoff_grows_and_is_capped(self, settings):
        settings.WAGTAIL_GUESTPAY_POLL_FIRST_DELAY = timedelta(minutes=1)
        settings.WAGTAIL_GUESTPAY_POLL_MAX_DELAY = timedelta(minutes=10)
        delays = [poll_delay(n).total_seconds() for n in range(1, 7)]
        assert delays == [60, 120, 240, 480, 600, 600]

    def test_a_check_confirms_a_payment_whose_notification_never_came(
        self, offer, testpay, run_on_commit, outbox
    ):
        _order, payment, charge = testpay.start(offer)
        charge.status = "paid"
        charge.email = "polled@example.com"
        charge.save()
        check_payment(payment.pk)
        run_on_commit()
        assert order_of(payment).status == OrderStatus.PAID
        assert [m.to for m in outbox] == [["polled@example.com"]]
        event = PaymentEvent.objects.get()
        assert event.source == PaymentEvent.Source.STATUS_CHECK

    def test_a_check_that_finds_nothing_new_schedules_the_next_with_backoff(
        self, offer, testpay, run_on_commit
    ):
        _order, payment, _charge = testpay.start(offer)
        check_payment(payment.pk)
        check_payment(payment.pk)
        payment = refreshed(payment)
        assert payment.check_count == 2
        assert payment.next_check_at > timezone.now()
        assert PaymentEvent.objects.count() == 1  # the same "created" status stored once

    def test_provider_timeouts_back_off_and_lose_nothing(self, offer, testpay, run_on_commit):
        from wagtail_guestpay.providers.exceptions import ProviderError

        _order, payment, charge = testpay.start(offer)
        with mock.patch(
            "wagtail_guestpay.testprovider.provider.TestProvider.fetch_status",
            side_effect=ProviderError("read timeout"),
        ):
            check_payment(payment.pk)
        payment = refreshed(payment)
        assert payment.status == PaymentStatus.CREATED
        assert payment.check_count == 1 and payment.next_check_at > timezone.now()
        charge.status = "paid"
        charge.email = "after.timeout@example.com"
        charge.save()
        check_payment(payment.pk)
        assert refreshed(payment).status == PaymentStatus.PAID

    def test_the_sweeper_checks_due_payments_only(self, offer, testpay, run_on_commit):
        _order, payment, charge = testpay.start(offer)
        charge.status = "pending"
        charge.email = "due@example.com"
        charge.save()
        assert run_maintenance()["checks"] == 0  # first check is a little later
        payment.__class__.objects.filter(pk=payment.pk).update(next_check_at=timezone.now())
        assert run_maintenance()["checks"] == 1
        assert refreshed(payment).status == PaymentStatus.PENDING

    def test_payments_past_the_window_expire_and_a_late_confirmation_still_grants(
        self, offer, testpay, run_on_commit, settings, outbox
    ):
        _order, payment, _charge = testpay.start(offer)
        payment.__class__.objects.filter(pk=payment.pk).update(
            created_at=timezone.now() - timedelta(days=6)
        )
        assert expire_stale_payments() == 1
        assert order_of(payment).status == OrderStatus.EXPIRED
        assert expire_stale_payments() == 0

        testpay.notify(payment, "paid", email="very.late@example.com")
        assert order_of(payment).status == OrderStatus.PAID
        assert [m.to for m in outbox] == [["very.late@example.com"]]


class TestSweeper:
    def test_an_event_whose_task_never_ran_is_processed_by_the_sweeper(
        self, offer, testpay, run_on_commit, outbox
    ):
        _order, payment, _charge = testpay.start(offer)
        with mock.patch("wagtail_guestpay.queueing.enqueue"):
            testpay.notify(payment, "paid", email="lost.task@example.com")
        assert order_of(payment).status == OrderStatus.CREATED
        PaymentEvent.objects.update(next_attempt_at=timezone.now())
        with mock.patch("wagtail_guestpay.queueing.enqueue") as enqueue:
            assert run_maintenance()["events"] == 1
            for call in enqueue.call_args_list:  # the e-mail task the sweeper would queue
                from wagtail_guestpay.tasks import send_email

                send_email(*call.args[1:])
        assert order_of(payment).status == OrderStatus.PAID
        assert [m.to for m in outbox] == [["lost.task@example.com"]]

    def test_a_failing_event_is_retried_with_backoff_then_given_up(
        self, offer, testpay, run_on_commit, settings
    ):
        settings.WAGTAIL_GUESTPAY_EVENT_MAX_ATTEMPTS = 2
        _order, payment, _charge = testpay.start(offer)
        with mock.patch(
            "wagtail_guestpay.fulfilment.confirmation.fulfil_order", side_effect=RuntimeError("bug")
        ):
            testpay.notify(payment, "paid", email="fails@example.com")
            event = PaymentEvent.objects.get()
            assert event.processed_at is None and event.attempts == 1
            assert "RuntimeError: bug" in event.error
            assert order_of(payment).status == OrderStatus.CREATED  # rolled back
            PaymentEvent.objects.update(next_attempt_at=timezone.now())
            run_maintenance()
        event.refresh_from_db()
        assert event.attempts == 2 and event.outcome == PaymentEvent.Outcome.FAILED
        assert event.next_attempt_at is None

    def test_schedule_is_created_once(self):
        from django_q.models import Schedule

        ensure_schedule()
        ensure_schedule()
        schedule = Schedule.objects.get(name="wagtail_guestpay.maintenance")
        assert schedule.func == "wagtail_guestpay.tasks.run_maintenance"
        assert schedule.minutes == 1

"""Background tasks (django-q2). Task bodies are plain functions, safe to run twice.

The ``run_maintenance`` schedule (every minute, created after ``migrate``) is the safety net: it
processes stored events whose queued task never ran or failed, sends due e-mails, checks
unconfirmed payments with back-off, expires those past the confirmation window and deletes
registrations long expired.
"""

import logging

from django.db.models import Q
from django.utils import timezone

from .conf import guestpay_settings

logger = logging.getLogger(__name__)

MAINTENANCE_SCHEDULE = "wagtail_guestpay.maintenance"


def enqueue(func, *args):
    """Queue ``func`` (a dotted path) on django-q2."""
    from django_q.tasks import async_task

    return async_task(func, *args, group="wagtail_guestpay", broker=_broker())


_BROKERS = {}


def _broker():
    """One django-q2 broker per process. Without it async_task builds a broker per call, which
    for Redis means a new connection pool, and a TCP connection, per notification (measured:
    about a third of the callback's time on the Redis broker)."""
    import os

    from django_q.brokers import get_broker

    pid = os.getpid()  # not inherited across fork
    broker = _BROKERS.get(pid)
    if broker is None:
        _BROKERS.clear()
        broker = _BROKERS[pid] = get_broker()
    return broker


def queue_shares_transaction(using="default"):
    """True when queued tasks are rows in the database ``using`` (django-q2's ORM broker on it,
    not in sync mode), so that enqueueing inside a transaction commits with it."""
    from django.db import transaction
    from django_q.conf import Conf

    return bool(Conf.ORM == using and not Conf.SYNC and not Conf.BROKER_CLASS
                and transaction.get_connection(using).in_atomic_block)


def process_payment_event(event_id):
    """One event (tasks queued before events were drained; a drain does the same)."""
    from .confirmation import process_event

    return process_event(event_id)


def drain_events(woken_at=None):
    """Process the stored events that wait (wagtail_guestpay.fulfilment.drain)."""
    from .fulfilment.drain import drain

    return drain(woken_at)


def send_email(email_id):
    from .emails import deliver

    return deliver(email_id)


def check_payment_status(payment_id):
    from .confirmation import check_payment

    return check_payment(payment_id)


def send_new_access_link(email, language=""):
    """A fresh access link for an account a payment created and nobody has used yet, in the
    language the link was asked for in."""
    from django.db import transaction

    from .accounts import BuyerAccount, users_with_email
    from .emails import ACCESS_LINK, queue_email

    for user in users_with_email(email).filter(is_active=True):
        if BuyerAccount(user=user).is_new:
            with transaction.atomic():
                queue_email(ACCESS_LINK, email, user=user, language=language)


def send_registration_code(registration_id, number):
    """A registration's code, or "log in instead" to an address that has an account: looked up
    here, so that the registration form answers in the same time for every address."""
    from .registrations import send_code

    return send_code(registration_id, number)


def run_maintenance(batch=100):
    from .confirmation import OPEN_STATUSES, check_payment, expire_stale_payments, process_event
    from .emails import deliver, due_emails
    from .models import Payment, PaymentEvent
    from .registrations import purge

    now = timezone.now()
    done = {"events": 0, "emails": 0, "checks": 0, "expired": 0, "registrations_purged": 0}
    grace = guestpay_settings.as_timedelta("EVENT_TASK_GRACE")
    events = PaymentEvent.objects.filter(processed_at__isnull=True, signature_valid=True).filter(
        Q(next_attempt_at__lte=now)  # leased by a drain that died, or failed and due again
        | Q(next_attempt_at__isnull=True, received_at__lte=now - grace)  # no drain took it
    ).values_list("pk", flat=True)[:batch]
    for event_id in list(events):
        try:
            process_event(event_id)
            done["events"] += 1
        except Exception:
            logger.exception("Retrying payment event %s failed", event_id)
    for email_id in list(due_emails(batch)):
        done["emails"] += bool(deliver(email_id))
    payments = Payment.objects.filter(
        status__in=OPEN_STATUSES, next_check_at__lte=now
    ).values_list("pk", flat=True)[:batch]
    for payment_id in list(payments):
        try:
            check_payment(payment_id)
            done["checks"] += 1
        except Exception:
            logger.exception("Status check of payment %s failed", payment_id)
    done["expired"] = expire_stale_payments(batch)
    done["registrations_purged"] = purge()
    return done


def ensure_schedule(**kwargs):
    """Create or repair the maintenance schedule (connected to ``post_migrate``)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=MAINTENANCE_SCHEDULE,
        defaults={
            "func": "wagtail_guestpay.tasks.run_maintenance",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    Schedule.objects.filter(name=MAINTENANCE_SCHEDULE, next_run__isnull=True).update(
        next_run=timezone.now()
    )

"""Background tasks (django-q2). Task bodies are plain functions, safe to run twice.

The ``run_maintenance`` schedule (every minute, created after ``migrate``) is the safety net: it
processes stored events whose queued task never ran or failed, sends due e-mails, checks
unconfirmed payments with back-off (the likely ones first), re-checks paid payments whose refund
notifications can be lost, expires those past the confirmation window, deletes registrations
long expired and rejected notifications past their retention, and purges the raw bodies and
headers of notifications past theirs (privacy/retention.py).
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .buyers.passwords import send_reset_links
from .buyers.registrations import purge, send_code
from .buyers.signin import request_signin_code
from .conf import guestpay_settings
from .emails import ACCESS_LINK, deliver, due_emails, queue_email
from .fulfilment.accounts import BuyerAccount, users_with_email
from .fulfilment.confirmation import process_event
from .fulfilment.drain import drain
from .fulfilment.follow_up import (
    check_payment,
    expire_stale_payments,
    open_payments_due,
    paid_payments_due,
)
from .fulfilment.rejected import purge_rejected
from .models import PaymentEvent, PaymentStatus
from .privacy.retention import purge_old_bodies
from .staff.exports import export_listing as write_listing_export

logger = logging.getLogger(__name__)

MAINTENANCE_SCHEDULE = "wagtail_guestpay.maintenance"


def process_payment_event(event_id):
    """One event (tasks queued before events were drained; a drain does the same)."""
    return process_event(event_id)


def export_listing(admin_path, params, spreadsheet_format, user_id, language, base_url):
    """A staff listing's export too large for a request (staff/exports.py)."""
    return write_listing_export(admin_path, params, spreadsheet_format, user_id, language, base_url)


def drain_events(woken_at=None):
    """Process the stored events that wait (wagtail_guestpay.fulfilment.drain)."""
    return drain(woken_at)


def send_email(email_id):
    return deliver(email_id)


def check_payment_status(payment_id):
    return check_payment(payment_id)


def send_new_access_link(email, language=""):
    """A fresh access link for an account a payment created and nobody has used yet, in the
    language the link was asked for in."""
    for user in users_with_email(email).filter(is_active=True):
        if BuyerAccount(user=user).is_new:
            with transaction.atomic():
                queue_email(ACCESS_LINK, email, user=user, language=language)


def send_signin_code(email, next_url="", language=""):
    """A sign-in code, if the address has an account that may use one: looked up here, so that
    the sign-in page answers in the same time for every address."""
    request_signin_code(email, next_url=next_url, language=language)


def send_password_reset(email, language=""):
    """A password reset link to each active account of the address (looked up here, as above)."""
    send_reset_links(email, language=language)


def send_registration_code(registration_id, number):
    """A registration's code, or "log in instead" to an address that has an account: looked up
    here, so that the registration form answers in the same time for every address."""
    return send_code(registration_id, number)


def run_maintenance(batch=100):
    now = timezone.now()
    done = {
        "events": 0,
        "emails": 0,
        "checks": 0,
        "paid_rechecks": 0,
        "expired": 0,
        "registrations_purged": 0,
        "rejected_purged": 0,
        "bodies_purged": 0,
    }
    grace = guestpay_settings.as_timedelta("EVENT_TASK_GRACE")
    events = (
        PaymentEvent.objects.filter(processed_at__isnull=True, signature_valid=True)
        .filter(
            Q(next_attempt_at__lte=now)  # leased by a drain that died, or failed and due again
            | Q(next_attempt_at__isnull=True, received_at__lte=now - grace)  # no drain took it
        )
        .values_list("pk", flat=True)[:batch]
    )
    for event_id in list(events):
        try:
            process_event(event_id)
            done["events"] += 1
        except Exception:
            logger.exception("Retrying payment event %s failed", event_id)
    for email_id in list(due_emails(batch)):
        done["emails"] += bool(deliver(email_id))
    for payment_id in open_payments_due(now, batch):  # the likely ones first
        try:
            check_payment(payment_id)
            done["checks"] += 1
        except Exception:
            logger.exception("Status check of payment %s failed", payment_id)
    for payment_id in paid_payments_due(now, batch):  # refunds whose notification was lost
        try:
            check_payment(payment_id, statuses=(PaymentStatus.PAID,))
            done["paid_rechecks"] += 1
        except Exception:
            logger.exception("Re-check of paid payment %s failed", payment_id)
    done["expired"] = expire_stale_payments(batch)
    done["registrations_purged"] = purge()
    done["rejected_purged"] = purge_rejected()
    done["bodies_purged"] = purge_old_bodies()
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

"""The providers' server-to-server notifications (webhooks / callbacks)."""

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..conf import guestpay_settings
from ..crypto import CredentialDecryptionError
from ..fulfilment.intake import store_events
from ..fulfilment.payment_systems import NotifiedAccount
from ..fulfilment.rejected import store_rejected
from ..models import ProviderAccount
from ..providers.base import Notification
from ..providers.exceptions import NotificationRejected, VerificationUnavailable
from ..ratelimit import client_ip

logger = logging.getLogger(__name__)


# What cannot be done now but may work on the next delivery: the database is unreachable or
# locked, or the stored credentials cannot be decrypted with the configured keys.
# (ImproperlyConfigured: the encryption keys are missing or malformed.)
UNAVAILABLE = (DatabaseError, CredentialDecryptionError, ImproperlyConfigured)


def _plain(message, status):
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _deliver_again():
    return _plain("Temporarily unavailable, deliver again.", 503)


@csrf_exempt
@require_POST
def notify(request, account_id):
    """Verify on the raw body, store, answer at once; the work happens in a task.

    A notification that does not verify is answered 400 and changes nothing. Whatever cannot be
    done now (the database or the credentials' decryption failing, from the account lookup to
    the answer) is a plain-text 503, so that the provider delivers it again.
    """
    try:
        return _notify(request, account_id)
    except UNAVAILABLE as exc:
        logger.error("Could not take a notification for %s now: %s", account_id, type(exc).__name__)
        return _deliver_again()


def _notify(request, account_id):
    try:
        notified = NotifiedAccount(account_id)  # kept in memory by the process
    except ProviderAccount.DoesNotExist:
        raise Http404("Unknown payment system.") from None
    account = notified.account
    limit = guestpay_settings.MAX_NOTIFICATION_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _plain("Bad Content-Length.", 400)
    if declared > limit:
        return _plain("Notification too large.", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _plain("Notification too large.", 413)
    notification = Notification(
        body=body,
        headers=dict(request.headers),
        content_type=request.content_type or "",
        query=request.GET.dict(),
        remote_addr=request.META.get("REMOTE_ADDR", ""),
    )
    try:
        events = notified.parse_notification(notification)
        account, provider = notified.account, notified.provider
    except VerificationUnavailable as exc:
        logger.warning("Could not verify a notification for %s now: %s", account.public_id, exc)
        return _plain("Cannot verify now, deliver again.", exc.status_code)
    except NotificationRejected as exc:
        logger.info("Rejected notification for %s: %s", account.public_id, exc)
        try:
            store_rejected(account, notification, exc, client=client_ip(request))
        except DatabaseError:
            logger.exception("Could not keep a rejected notification")
        return _plain(f"Rejected: {exc}", exc.status_code)
    try:
        with transaction.atomic():
            store_events(account, events, source="notification", notification=notification)
    except DatabaseError:
        logger.exception("Could not store a notification for %s", account.public_id)
        return _deliver_again()
    return provider.acknowledge(notification, events)

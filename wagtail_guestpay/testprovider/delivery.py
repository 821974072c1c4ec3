"""The test provider's notifications: built, signed and POSTed to the site's callback URL, and
retried with back-off until the site answers 2xx (as real providers do)."""

import json
import logging
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.db import transaction
from django.utils import timezone

from . import signing
from .models import TestDelivery
from .payloads import charge_payload

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def notify(charge):
    """Record a notification of the charge's current status and queue its delivery."""
    event_id = f"evt_{charge.public_id.hex[:20]}_{charge.status}"
    body = json.dumps(
        {"id": event_id, "type": f"charge.{charge.status}", "data": charge_payload(charge)},
        separators=(",", ":"),
    )
    delivery = TestDelivery.objects.create(charge=charge, event_id=event_id, body=body)
    transaction.on_commit(lambda: queue_delivery(delivery.pk), robust=True)
    return delivery


def queue_delivery(delivery_id, delay=None):
    from django_q.models import Schedule
    from django_q.tasks import async_task, schedule

    func = "wagtail_guestpay.testprovider.delivery.deliver"
    if delay is None:
        async_task(func, delivery_id, group="wagtail_guestpay_testprovider")
    else:
        schedule(func, delivery_id, schedule_type=Schedule.ONCE, next_run=timezone.now() + delay)


def signed_request(delivery, secret):
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        signing.HEADER: signing.header_value(secret, body),
    }
    return body, headers


def deliver(delivery_id, send=None):
    """POST one notification; ``send(url, body, headers) -> status code`` defaults to HTTP."""
    delivery = TestDelivery.objects.select_related("charge__account").get(pk=delivery_id)
    if delivery.delivered_at:
        return True
    charge = delivery.charge
    body, headers = signed_request(delivery, charge.account.get_secret("signing_secret"))
    send = send or _http_post
    try:
        status = send(charge.notify_url, body, headers)
    except httpx.HTTPError as exc:
        status = None
        delivery.last_status = type(exc).__name__
    else:
        delivery.last_status = str(status)
    delivery.attempts += 1
    if status is not None and 200 <= status < 300:
        delivery.delivered_at = timezone.now()
    delivery.save()
    if delivery.delivered_at:
        return True
    if delivery.attempts < MAX_ATTEMPTS:
        queue_delivery(delivery.pk, delay=timedelta(seconds=5 * 2**delivery.attempts))
    logger.warning("Test provider delivery %s failed: %s", delivery.pk, delivery.last_status)
    return False


def _http_post(url, body, headers):
    return httpx.post(url, content=body, headers=headers, timeout=10).status_code


def post_in_process(url, body, headers):
    """Deliver through Django's request handler in this process (no server needed): the same
    middleware and view as over HTTP."""
    from django.test import Client

    parts = urlsplit(url)
    client = Client(HTTP_HOST=parts.netloc, raise_request_exception=False)
    extra = {
        f"HTTP_{key.upper().replace('-', '_')}": value
        for key, value in headers.items()
        if key.lower() != "content-type"
    }
    response = client.post(
        parts.path,
        data=body,
        content_type=headers["Content-Type"],
        secure=parts.scheme == "https",
        **extra,
    )
    return response.status_code

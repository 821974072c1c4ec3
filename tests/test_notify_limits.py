"""The notify endpoint under abuse: rejected notifications kept within bounds, and a plain 503
"deliver again" whenever the database or the credentials' decryption fails."""

import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from wagtail_guestpay.fulfilment.rejected import purge_rejected
from wagtail_guestpay.models import Order, Payment, PaymentEvent, ProviderAccount
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db

BODY = json.dumps({"id": "evt_forged", "type": "charge.paid", "padding": "x" * 15 * 1024}).encode()


def forged(account, *, ip="198.51.100.1", body=BODY, client=None):
    return (client or Client()).post(
        account.notification_path(), data=body, content_type="application/json", REMOTE_ADDR=ip
    )


def test_five_hundred_unsigned_notifications_store_at_most_the_cap(account):
    """From many addresses (the per-client cap alone would stop one address sooner)."""
    statuses = {forged(account, ip=f"198.51.{n // 250}.{n % 250}").status_code for n in range(500)}
    assert statuses == {400}
    rows = PaymentEvent.objects.filter(signature_valid=False)
    assert rows.count() == 100
    for row in rows:
        assert len(row.body) <= 2048 and row.body_size == len(BODY)
        assert row.body_sha256 == hashlib.sha256(BODY).hexdigest()
        assert len(json.dumps(row.headers)) + len(row.body) + len(row.error) <= 5 * 1024
    assert ProviderAccount.objects.get(pk=account.pk).rejected_dropped == 400


def test_one_client_gets_a_smaller_share_of_the_cap(account, settings):
    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_LIMITS = {"client": (5, 3600)}
    for _ in range(12):
        assert forged(account).status_code == 400
    assert forged(account, ip="198.51.100.2").status_code == 400
    assert PaymentEvent.objects.filter(signature_valid=False).count() == 6
    account.refresh_from_db()
    assert account.rejected_dropped == 7 and account.rejected_dropped_at is not None


def test_the_caps_and_the_prefix_are_settings(account, settings):
    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_LIMITS = {"account": (3, 3600)}
    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_BODY_BYTES = 100
    for n in range(5):
        forged(account, ip=f"198.51.100.{n}")
    rows = PaymentEvent.objects.filter(signature_valid=False)
    assert rows.count() == 3 and {len(row.body) for row in rows} == {100}


def test_huge_or_many_headers_are_cut(account):
    many = {f"HTTP_X_JUNK_{n}": "v" * 5000 for n in range(200)}
    Client().post(account.notification_path(), data=BODY, content_type="application/json", **many)
    row = PaymentEvent.objects.get(signature_valid=False)
    assert len(json.dumps(row.headers)) <= 3 * 1024


def test_rejected_notifications_are_purged_after_the_retention_period(account, settings):
    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_RETENTION = timedelta(days=30)
    for n in range(3):
        forged(account, ip=f"198.51.100.{n}")
    old = PaymentEvent.objects.filter(signature_valid=False)[:2]
    PaymentEvent.objects.filter(pk__in=[row.pk for row in old]).update(
        received_at=timezone.now() - timedelta(days=31)
    )
    assert run_maintenance()["rejected_purged"] == 2
    assert PaymentEvent.objects.filter(signature_valid=False).count() == 1
    assert purge_rejected() == 0


def test_a_dropped_notification_changes_nothing_either(account, testpay, run_on_commit):
    order, payment, _charge = testpay.start(account.offers.first() or _offer(account))
    for n in range(120):
        forged(account, ip=f"198.51.100.{n}")
    response = testpay.notify(payment, "paid", email="x@example.com", secret="wrong")
    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == "created"


def _offer(account):
    from tests.factories import OfferFactory

    return OfferFactory(provider_account=account, guest_payment=True, slug="limits")


# Honest 503s ----------------------------------------------------------------------------------
def _database_down(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


def test_database_down_is_a_plain_503(offer, testpay, run_on_commit):
    _order, payment, _charge = testpay.start(offer)
    body = testpay.body(payment, "paid", email="x@example.com")
    secret = payment.account.get_secret("signing_secret")
    with connection.execute_wrapper(_database_down):
        response = testpay.post(payment, body, secret=secret)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"deliver again" in response.content
    # Delivered again once the database is back: taken.
    assert testpay.post(payment, body).status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == "paid"


def test_database_down_for_a_forged_notification_is_503_too(account):
    with connection.execute_wrapper(_database_down):
        response = forged(account)
    assert response.status_code == 503 and b"deliver again" in response.content


def test_a_wrong_encryption_key_is_a_plain_503(offer, testpay, run_on_commit, settings):
    _order, payment, _charge = testpay.start(offer)
    body = testpay.body(payment, "paid", email="x@example.com")
    secret = payment.account.get_secret("signing_secret")
    keys = settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = testpay.post(payment, body, secret=secret)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"deliver again" in response.content
    assert not PaymentEvent.objects.exists()
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = keys
    assert testpay.post(payment, body, secret=secret).status_code == 200


def test_missing_encryption_keys_are_a_plain_503(offer, testpay, run_on_commit, settings):
    _order, payment, _charge = testpay.start(offer)
    body = testpay.body(payment, "paid", email="x@example.com")
    secret = payment.account.get_secret("signing_secret")
    settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = []
    settings.DEBUG = False
    assert testpay.post(payment, body, secret=secret).status_code == 503


def test_staff_see_how_many_rejected_notifications_were_not_kept(account, settings, admin_client):
    from django.urls import reverse

    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_LIMITS = {"account": (1, 3600)}
    edit = reverse("guestpay_payment_systems:edit", args=[account.pk])
    assert b"failed verification" not in admin_client.get(edit).content
    for n in range(4):
        forged(account, ip=f"198.51.100.{n}")
    page = admin_client.get(edit).content.decode()
    assert "3 notifications that failed verification were not kept" in page

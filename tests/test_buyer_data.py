"""A buyer's data: exported as one JSON document, erased on request (every table of the database
searched afterwards), and raw notification bodies purged after their retention period
(docs/how-to/buyer-data.md)."""

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.conftest import order_of, refreshed
from tests.database_search import tables_holding
from tests.factories import UserFactory
from wagtail_guestpay import signals
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import (
    AccessGrant,
    Contact,
    Coupon,
    EmailClaim,
    Order,
    PaymentEvent,
    PendingRegistration,
    Redemption,
    SignInCode,
)
from wagtail_guestpay.privacy.erasure import address_hash, erase_buyer_data
from wagtail_guestpay.privacy.export import SECTIONS
from wagtail_guestpay.privacy.leftovers import replace_in_email_fields
from wagtail_guestpay.privacy.retention import purge_old_bodies
from wagtail_guestpay.staff import fixes
from wagtail_guestpay.tasks import run_maintenance

pytestmark = pytest.mark.django_db
User = get_user_model()
ANN = "ann.buyer@example.com"
TYPO = "ann.buyer@exmaple.com"
BOB = "bob@example.org"


def export(email):
    out = io.StringIO()
    call_command("guestpay_buyer_data", "export", email, stdout=out)
    return json.loads(out.getvalue())


def erase(email, reason="Asked by e-mail"):
    out = io.StringIO()
    call_command("guestpay_buyer_data", "erase", email, "--reason", reason, stdout=out)
    return out.getvalue()


@pytest.fixture
def staff(db):
    return UserFactory(username="staffer", email="staffer@staff.example", is_superuser=True)


@pytest.fixture
def ann_everywhere(offer, members_offer, testpay, run_on_commit, staff, client):
    """Ann, as the package meets a buyer: a paid order (an account created for her), an order
    paid with a mistyped address that staff corrected to hers, an order paid with her address
    that staff gave to Bob, a wallet order she asked to claim, a sign-in code, a registration
    attempt, a forged notification that names her, a coupon used once per e-mail. Returns her
    first order."""
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="Ann.Buyer@Example.com", payer_name="Ann Buyer")
    first = order_of(payment)

    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=TYPO, payer_name="Ann Buyer")
    fixes.correct_email(order_of(payment), ANN, by=staff, reason=f"typo of {ANN}")

    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=ANN, payer_name="Bob Gift")
    fixes.correct_email(order_of(payment), BOB, by=staff, reason="Bob's, not Ann's")

    buyer = Client()
    _order, payment, charge = testpay.start(offer, client=buyer)
    testpay.notify(payment, "paid", email="")
    path = charge.return_url.removeprefix("http://testserver")
    assert buyer.post(path + "claim/", {"email": ANN}).status_code == 303

    signin = Client()
    assert signin.post("/guestpay/login/", {"action": "code", "email": ANN}).status_code == 302
    run_on_commit()
    password = "a-long-passphrase-9"
    Client().post(
        members_offer.get_checkout_path(),
        {"email": ANN, "password1": password, "password2": password},
    )
    run_on_commit()
    testpay.post(payment, json.dumps({"email": ANN}).encode(), secret="forged")
    coupon = Coupon.objects.create(code="ONCE", kind=Coupon.Kind.PERCENT, percent_off=10)
    Redemption.objects.create(
        coupon=coupon, order=first, email=ANN, status="confirmed", full_price=55, discount=5.5
    )
    return refreshed(first)


def test_unknown_address_gets_the_same_shape_with_empty_lists(db):
    document = export("nobody@example.com")
    assert document["email"] == "nobody@example.com"
    assert all(document[section] == [] for section in SECTIONS)
    assert "Nothing held" in erase("nobody@example.com")


def test_malformed_address_and_missing_reason_are_refused(db):
    with pytest.raises(CommandError):
        call_command("guestpay_buyer_data", "export", "not an address")
    with pytest.raises(CommandError):
        call_command("guestpay_buyer_data", "erase", ANN, "--reason", "  ")


def test_export_holds_every_record_of_the_address(ann_everywhere, offer):
    document = export("ANN.Buyer@example.com")  # any case
    assert document["email"] == ANN
    assert [c["email"] for c in document["contacts"]] == [ANN]
    [account] = document["accounts"]
    assert account["created_by_a_payment"] and account["email"] == ANN
    own = [o for o in document["orders"] if o["relation"] == "own"]
    assert [o["email"] for o in own] == [ANN, ANN]  # hers, and the typo's corrected to hers
    assert [bool(o["receipt"]) for o in own] == [o["status"] == "paid" for o in own]
    assert any(o["receipt"] for o in own) and all(
        o["receipt"]["number"] for o in own if o["receipt"]
    )
    others = [o for o in document["orders"] if o["relation"] != "own"]
    assert [set(o) & {"email", "attention_note", "account"} for o in others] == [set(), set()]
    assert any({"payer e-mail", "correction"} <= set(o["mentions"]) for o in others)  # Bob's
    assert any("claim" in o["mentions"] for o in others)  # the wallet order she claims
    assert {p["payer_email"] for p in document["payments"]} >= {ANN, TYPO}
    assert "Ann Buyer" in {p.get("payer_name") for p in document["payments"]}
    assert document["access_grants"] and document["emails"]
    assert [(u["coupon"], u["email"]) for u in document["coupon_uses"]] == [("ONCE", ANN)]
    assert {e["to"] for e in document["emails"]} == {ANN, TYPO}  # the typo got an access e-mail
    assert all("sealed" not in e["data"] for e in document["emails"])
    assert [c["status"] for c in document["claims"]] == ["pending"]
    assert document["registrations"][0]["email"] == ANN
    assert document["signin_codes"][0]["email"] == ANN
    assert document["access_links"]
    bodies = [n.get("body", "") for n in document["notifications"]]
    assert any("Ann Buyer" in body for body in bodies)
    assert any(n.get("signature_valid") is False for n in document["notifications"])  # forged
    corrections = [h for h in document["history"] if h["action"].endswith("email_corrected")]
    assert {(h["data"]["from"], h["data"]["to"]) for h in corrections} == {(TYPO, ANN)}
    text = json.dumps(document)
    # Nothing of Bob's, whose order only mentions her address.
    assert BOB not in text and "Bob Gift" not in text
    for secret in ("md5$", "code_hash", "token_hash", "session_hash", "link_hash", "sealed"):
        assert secret not in text


def test_erase_leaves_the_address_in_no_table_and_keeps_the_bookkeeping(
    ann_everywhere, offer, staff
):
    before = tables_holding(ANN)
    # The search finds the address where the package put it, encoded or not.
    assert {
        "auth_user",
        "django_session",
        "django_q_task",
        "wagtailcore_modellogentry",
        "wagtail_guestpay_contact",
        "wagtail_guestpay_order",
        "wagtail_guestpay_payment",
        "wagtail_guestpay_paymentevent",
        "wagtail_guestpay_outboundemail",
        "wagtail_guestpay_emailclaim",
        "wagtail_guestpay_signincode",
        "wagtail_guestpay_pendingregistration",
        "wagtail_guestpay_redemption",
    } <= before, before
    first = ann_everywhere
    amounts = list(Order.objects.order_by("pk").values_list("pk", "amount", "status", "paid_at"))
    bob_order = Order.objects.get(email=BOB)
    ann = User.objects.get(email=ANN)
    received = []
    signals.buyer_data_erased.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="t"
    )
    try:
        output = erase(ANN.upper(), reason=f"Request from {ANN} by e-mail")
    finally:
        signals.buyer_data_erased.disconnect(dispatch_uid="t")

    assert "Erased" in output and address_hash(ANN) in output
    assert tables_holding(ANN) == set()
    assert tables_holding("Ann Buyer") == set()
    # Her own order's old address went from it; the contact and the unused account the typo
    # made (staff kept it) stay, without her name: the address may be someone else's, and is
    # erased by its own address.
    assert tables_holding(TYPO) == {"wagtail_guestpay_contact", "auth_user"}
    # Bookkeeping stays: orders, amounts, statuses, dates, numbers.
    assert list(Order.objects.order_by("pk").values_list("pk", "amount", "status", "paid_at")) == (
        amounts
    )
    first.refresh_from_db()
    assert first.email.endswith("@erased.invalid") and first.payments.get().reference
    # Bob's order keeps Bob; only Ann's address left it.
    assert refreshed(bob_order).email == BOB
    contact = Contact.objects.get(email=first.email)
    assert contact.erased_at and contact.name == "" and contact.registration_data == {}
    ann.refresh_from_db()
    assert not ann.is_active and not ann.has_usable_password()
    assert ann.email.endswith("@erased.invalid") and ann.username.startswith("erased-")
    assert not AccessGrant.objects.active().filter(user=ann).exists()
    assert not has_access(ann, offer.get_products()[0])
    assert EmailClaim.objects.get().status == EmailClaim.Status.CANCELLED
    use = Redemption.objects.get()
    assert use.email.endswith("@erased.invalid") and use.discount == Decimal("5.50")
    assert SignInCode.objects.get().status == SignInCode.Status.REPLACED
    assert PendingRegistration.objects.get().registration_data == {}
    assert not PaymentEvent.objects.filter(payment__order=first, purged_at__isnull=True).exists()
    # Audited on the contact, with a hash, the reason without the address, and who.
    entry = ModelLogEntry.objects.get(action="wagtail_guestpay.buyer_data_erased")
    assert entry.data["address_hash"] == address_hash(ANN)
    assert entry.data["reason"] == "Request from [erased] by e-mail"
    assert entry.data["counts"]["orders"] == 4 and entry.data["counts"]["accounts"] == 1
    [kwargs] = received
    assert kwargs["email"] == ANN and kwargs["users"] == [ann.pk] and kwargs["kept_users"] == []

    # Twice is fine: nothing is found, nothing changes.
    assert "Nothing held" in erase(ANN)
    assert all(export(ANN)[section] == [] for section in SECTIONS)


def test_an_account_the_site_created_is_kept_and_reported(offer, testpay, run_on_commit):
    member = UserFactory(email=ANN, first_name="Ann")
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=ANN)
    assert order_of(payment).user == member

    output = erase(ANN)
    assert f"ids {member.pk}" in output
    member.refresh_from_db()
    assert member.is_active and member.email == ANN and member.first_name == "Ann"
    assert tables_holding(ANN) == {"auth_user"}
    assert refreshed(order_of(payment)).email.endswith("@erased.invalid")
    # The site's member keeps the access bought: the account is the site's to erase.
    assert has_access(member, offer.get_products()[0])


def test_a_queued_task_and_a_session_that_name_the_address_go(offer, run_on_commit, settings):
    buyer = UserFactory(email=ANN)
    client = Client()
    client.post("/guestpay/login/", {"action": "code", "email": ANN})
    assert ANN in json.dumps(dict(client.session))
    erase(ANN)
    assert "django_session" not in tables_holding(ANN)
    assert buyer.pk  # the site's account itself is kept (see above)


# Retention -------------------------------------------------------------------------------------
def test_raw_bodies_are_purged_after_the_retention_period(offer, testpay, run_on_commit, settings):
    settings.WAGTAIL_GUESTPAY_NOTIFICATION_BODY_RETENTION = timedelta(days=90)
    for _n in range(2):
        _order, payment, _charge = testpay.start(offer)
        testpay.notify(payment, "paid", email=ANN, payer_name="Ann Buyer")
    events = PaymentEvent.objects.all()
    assert events.count() == 2 and all(ANN in event.body for event in events)
    old = events.get(payment=payment)
    PaymentEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=91))
    size = len(old.body.encode())

    assert run_maintenance()["bodies_purged"] == 1
    old.refresh_from_db()
    assert old.body == "" and old.headers == {} and old.purged_at
    assert old.body_size == size and len(old.body_sha256) == 64
    assert old.data["email"] == "" and old.data["payer_name"] == ""
    assert old.data["amount"] and old.data["reference"] == payment.reference  # the facts stay
    assert ANN in events.exclude(pk=old.pk).get().body  # the younger one stays
    assert purge_old_bodies() == 0  # purged once
    assert refreshed(payment).payer_email == ANN  # the order keeps its buyer until erased

    settings.WAGTAIL_GUESTPAY_NOTIFICATION_BODY_RETENTION = None
    PaymentEvent.objects.update(received_at=timezone.now() - timedelta(days=400))
    assert purge_old_bodies() == 0


def test_waiting_events_are_not_purged_and_rejected_ones_are(account, settings):
    settings.WAGTAIL_GUESTPAY_REJECTED_NOTIFICATION_RETENTION = timedelta(days=400)
    Client().post(
        account.notification_path(),
        data=b'{"email": "x@example.com"}',
        content_type="application/json",
    )
    waiting = PaymentEvent.objects.create(
        account=account, provider_event_id="e1", source="notification", body='{"a": 1}'
    )
    PaymentEvent.objects.update(received_at=timezone.now() - timedelta(days=100))
    assert purge_old_bodies() == 1
    rejected = PaymentEvent.objects.get(signature_valid=False)
    assert rejected.body == "" and rejected.purged_at and rejected.body_size
    assert refreshed(waiting).body == '{"a": 1}'


def test_an_erasure_is_one_transaction(offer, testpay, run_on_commit):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email=ANN, payer_name="Ann Buyer")
    before = tables_holding(ANN)

    def fails(**kwargs):
        raise RuntimeError("the site's own erasure failed")

    signals.buyer_data_erased.connect(fails, weak=False, dispatch_uid="fails")
    try:
        with pytest.raises(RuntimeError):
            erase_buyer_data(ANN, reason="asked")
    finally:
        signals.buyer_data_erased.disconnect(dispatch_uid="fails")
    assert tables_holding(ANN) == before  # nothing changed
    assert User.objects.get(email=ANN).is_active


def test_an_email_field_the_erasure_does_not_know_is_replaced_all_the_same(members_offer):
    """A model added later, whose step the erasure lacks, still loses the address."""
    row = PendingRegistration.objects.create(
        offer=members_offer,
        email=ANN,
        session_hash="x" * 64,
        expires_at=timezone.now(),
        registration_data={"city": "Lyon"},
    )
    assert replace_in_email_fields(ANN.upper()) == 1
    assert refreshed(row).email.endswith("@erased.invalid")
    assert replace_in_email_fields(ANN) == 0


def test_the_export_cuts_secret_order_links_from_raw_bodies(offer, testpay, run_on_commit):
    _order, payment, charge = testpay.start(offer)
    link = charge.return_url  # the order page, with its secret token
    body = json.loads(testpay.body(payment, "paid", email=ANN))
    body["data"]["success_url"] = link
    testpay.post(payment, json.dumps(body).encode())
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert token in PaymentEvent.objects.get().body
    text = json.dumps(export(ANN))
    assert token not in text and "/guestpay/order/" in text

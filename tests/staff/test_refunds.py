"""Refund from the admin, with the test provider (its refund is the dashboard's, in process, and
sends its own signed notification): the order moves once whichever of the API's answer and the
notification comes first, access is revoked per the offer's switch, the buyer gets one refund
e-mail, the same form sent twice refunds once, and staff without the permission cannot."""

from decimal import Decimal

import pytest
from django.urls import reverse
from wagtail.models import ModelLogEntry

from tests.conftest import run_pending_on_commit, to
from tests.staff.conftest import confirm, form_token, messages_of
from tests.staff.refund_helpers import nonce_of, refund_url
from tests.staff.test_permissions import denied
from wagtail_guestpay.emails import REFUND
from wagtail_guestpay.fulfilment.access import has_access
from wagtail_guestpay.models import OrderStatus, OutboundEmail, PaymentEvent, PaymentStatus, Refund
from wagtail_guestpay.testprovider.models import TestCharge
from wagtail_guestpay.testprovider.provider import TestProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(pay):
    """``paid(email)``: a buyer paid on the test provider's hosted page (the charge is paid
    there too) and its notification was processed."""

    def make(email):
        order = pay(email)
        payment = order.payments.get()
        TestCharge.objects.filter(reference=payment.reference).update(
            status=TestCharge.Status.PAID, email=email
        )
        return order

    return make


def product_of(order):
    return order.offer.get_products()[0]


def inspect(order):
    return reverse("guestpay_transactions_modeladmin_inspect", args=[order.pk])


def refund_emails(order):
    return list(OutboundEmail.objects.filter(order=order, kind=REFUND))


def test_staff_refund_moves_the_order_revokes_access_and_tells_the_buyer(
    paid, refunder, login, outbox
):
    order = paid("buyer@example.com")
    assert order.status == OrderStatus.PAID and has_access(order.user, product_of(order))
    client = login(refunder)
    page = client.get(inspect(order)).content.decode()
    assert refund_url(order) in page
    outbox.clear()

    response, token = confirm(client, refund_url(order), amount="49.00", reason="Bought it twice")

    assert response.status_code == 302, response.context["form"].errors
    assert response.url == inspect(order)
    assert messages_of(response)[-1].startswith("Refunded: 49.00")
    order.refresh_from_db()
    payment = order.payments.get()
    assert order.status == OrderStatus.REFUNDED and payment.status == PaymentStatus.REFUNDED
    assert not has_access(order.user, product_of(order))
    assert TestCharge.objects.get(reference=payment.reference).status == "refunded"
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.DONE and refund.form_key == nonce_of(token)
    assert refund.requested_by == refunder and refund.reason == "Bought it twice"
    # The API's answer and the test provider's own notification both arrived: applied once.
    events = PaymentEvent.objects.filter(payment=payment).exclude(outcome="")
    outcomes = sorted(event.outcome for event in events if event.data["status"] == "refunded")
    assert outcomes == ["applied", "no_change"]
    [email] = to(outbox, "buyer@example.com")
    assert "refunded" in email.subject.lower() and "49" in email.body
    assert "access this purchase gave has ended" in email.body
    page = client.get(inspect(order)).content.decode()
    assert "Refunds" in page and "Bought it twice" in page and "refunder" in page
    [entry] = ModelLogEntry.objects.filter(action="wagtail_guestpay.refund_requested")
    assert entry.user == refunder and entry.data["reason"] == "Bought it twice"
    assert ModelLogEntry.objects.filter(action="wagtail_guestpay.refund_answered").count() == 1


def test_the_same_form_sent_twice_refunds_once(paid, refunder, login, outbox):
    order = paid("buyer@example.com")
    client = login(refunder)
    token = form_token(client.get(refund_url(order)))
    data = {"form_token": token, "amount": "49.00", "reason": "twice"}

    first = client.post(refund_url(order), data)
    second = client.post(refund_url(order), data)

    assert first.status_code == second.status_code == 302
    assert "already sent" in messages_of(second)[-1]
    assert Refund.objects.count() == 1
    assert len(refund_emails(order)) == 1
    assert ModelLogEntry.objects.filter(action="wagtail_guestpay.refund_requested").count() == 1


def test_a_second_form_after_a_full_refund_changes_nothing(paid, refunder, login):
    order = paid("buyer@example.com")
    client = login(refunder)
    confirm(client, refund_url(order), amount="49.00", reason="first")

    response, _token = confirm(client, refund_url(order), amount="49.00", reason="second")

    assert response.status_code == 302
    assert "no paid payment" in messages_of(response)[-1]
    assert Refund.objects.count() == 1


def test_the_notification_overtaking_the_answer_is_applied_once(
    paid, refunder, login, outbox, monkeypatch
):
    """The provider's refund notification is processed before its API answer is: the answer
    then changes nothing, and the buyer still gets one e-mail."""
    order = paid("buyer@example.com")
    original = TestProvider.refund

    def refund_then_deliver(self, *args, **kwargs):
        answer = original(self, *args, **kwargs)
        run_pending_on_commit()  # the notification is delivered and processed first
        assert order.payments.get().status == PaymentStatus.REFUNDED
        return answer

    monkeypatch.setattr(TestProvider, "refund", refund_then_deliver)
    outbox.clear()

    response, _token = confirm(login(refunder), refund_url(order), amount="49.00", reason="race")

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    staff_event = PaymentEvent.objects.get(source=PaymentEvent.Source.REFUND)
    assert staff_event.outcome == PaymentEvent.Outcome.NO_CHANGE
    assert len(refund_emails(order)) == 1 and len(to(outbox, "buyer@example.com")) == 1
    assert ModelLogEntry.objects.filter(action="wagtail_guestpay.access_revoked").count() <= 1


def test_the_offer_may_keep_access_after_a_refund(paid, offer, refunder, login, outbox):
    offer.revoke_on_refund = False
    offer.save()
    order = paid("buyer@example.com")
    outbox.clear()

    confirm(login(refunder), refund_url(order), amount="49.00", reason="goodwill")

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert has_access(order.user, product_of(order))
    [email] = to(outbox, "buyer@example.com")
    assert "has ended" not in email.body


def test_the_test_provider_refunds_in_full_only(paid, refunder, login):
    order = paid("buyer@example.com")
    client = login(refunder)
    page = client.get(refund_url(order)).content.decode()
    assert "whole amount only" in page

    # A forged amount is ignored: the field is disabled, the whole amount is refunded.
    response = client.post(
        refund_url(order),
        {
            "form_token": form_token(client.get(refund_url(order))),
            "amount": "1.00",
            "reason": "forged",
        },
    )

    assert response.status_code == 302
    assert Refund.objects.get().amount == Decimal("49.00")


def test_staff_without_the_refund_permission_cannot_refund(paid, fixer, viewer, login):
    order = paid("buyer@example.com")
    for user in (fixer, viewer):
        client = login(user)
        assert refund_url(order) not in client.get(inspect(order)).content.decode()
        assert denied(client.get(refund_url(order)))
        assert denied(
            client.post(
                refund_url(order), {"reason": "x", "amount": "49.00", "form_token": "forged"}
            )
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and not Refund.objects.exists()


def test_malformed_refund_forms_change_nothing(paid, refunder, login):
    order = paid("buyer@example.com")
    client = login(refunder)
    token = form_token(client.get(refund_url(order)))
    for data in (
        {"form_token": token, "amount": "49.00", "reason": "  "},
        {"form_token": "forged", "amount": "49.00", "reason": "x"},
        {"form_token": token, "amount": "49.00", "reason": "x" * 5000},
        {"amount": "49.00", "reason": "x"},
    ):
        response = client.post(refund_url(order), data)
        assert response.status_code == 200, data
    assert (
        client.get(reverse("wagtail_guestpay_staff:refund_order", args=[10**6])).status_code == 404
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and not Refund.objects.exists()


def test_an_unpaid_order_has_nothing_to_refund(offer, testpay, refunder, login):
    order, _payment, _charge = testpay.start(offer)
    client = login(refunder)
    assert refund_url(order) not in client.get(inspect(order)).content.decode()
    response, _token = confirm(client, refund_url(order), amount="49.00", reason="x")
    assert response.status_code == 302 and "no paid payment" in messages_of(response)[-1]
    assert not Refund.objects.exists()


def test_the_refund_permission_is_offered_in_the_group_editor(admin_client):
    page = admin_client.get("/admin/groups/new/").content.decode()
    assert "Can refund orders at the payment system" in page


# Bought twice: the needs-attention line offers "Refund" ----------------------------------------
def test_the_bought_twice_line_refunds_in_one_click(paid, refunder, fixer, login, outbox):
    first = paid("again@example.com")
    second = paid("again@example.com")
    assert second.attention == "bought_twice"
    client = login(refunder)
    html = client.get("/admin/").content.decode()
    assert "Bought twice (1)" in html
    assert refund_url(second) in html and refund_url(first) not in html
    # Without the refund permission the line keeps "Mark as dealt with".
    assert refund_url(second) not in login(fixer).get("/admin/").content.decode()
    # The order's inspect page offers the refund first.
    inspect_page = client.get(inspect(second)).content.decode()
    assert (
        inspect_page.index(refund_url(second)) < inspect_page.index("Mark as dealt with")
        if "Mark as dealt with" in inspect_page
        else refund_url(second) in inspect_page
    )
    outbox.clear()

    response, _token = confirm(
        client, refund_url(second), amount="49.00", reason="Paid twice for the same course"
    )

    assert response.status_code == 302
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == OrderStatus.REFUNDED and second.attention == ""
    assert "Paid twice for the same course" in second.attention_note
    assert first.status == OrderStatus.PAID
    # The first order's access stays: the buyer keeps what they paid for once.
    assert has_access(first.user, product_of(first))
    assert "Bought twice" not in client.get("/admin/").content.decode()
    assert len(to(outbox, "again@example.com")) == 1

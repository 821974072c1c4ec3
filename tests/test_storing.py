"""fulfilment/storing.py: one INSERT that leaves out a row breaking a unique constraint."""

import pytest

from wagtail_guestpay.fulfilment.storing import insert_one
from wagtail_guestpay.models import Contact, OutboundEmail

pytestmark = pytest.mark.django_db


def test_insert_one_sets_the_primary_key_of_a_new_row():
    contact = Contact(email="first@example.com", source=Contact.Source.GUEST_PAYMENT)
    assert insert_one(Contact, contact) is True
    assert contact.pk is not None and not contact._state.adding
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.email == "first@example.com" and stored.created_at is not None


def test_insert_one_leaves_out_a_duplicate_without_an_error_or_a_savepoint():
    first = OutboundEmail(kind="access", to_email="a@example.com", dedupe_key="order:1:access")
    assert insert_one(OutboundEmail, first) is True
    second = OutboundEmail(kind="access", to_email="b@example.com", dedupe_key="order:1:access")
    assert insert_one(OutboundEmail, second) is False
    assert second.pk is None
    assert list(OutboundEmail.objects.values_list("to_email", flat=True)) == ["a@example.com"]
    # The transaction is still usable (no error was raised inside it).
    assert insert_one(OutboundEmail, OutboundEmail(kind="access", to_email="c@example.com"))
    assert OutboundEmail.objects.count() == 2

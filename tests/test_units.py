"""Unit tests of the small pieces: money, transitions, crypto, settings, provider events."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from wagtail_guestpay import money
from wagtail_guestpay.conf import guestpay_settings
from wagtail_guestpay.crypto import CredentialDecryptionError, decrypt_json, encrypt_json
from wagtail_guestpay.fulfilment.transitions import (
    PAYMENT_TRANSITIONS,
    can_move,
    derive_order_status,
)
from wagtail_guestpay.models import OrderStatus, PaymentStatus
from wagtail_guestpay.providers.base import (
    MAX_JSON_DEPTH,
    EventStatus,
    Notification,
    ProviderEvent,
    load_json,
)
from wagtail_guestpay.providers.exceptions import MalformedNotification

P = PaymentStatus


class TestMoney:
    @pytest.mark.parametrize(
        "amount,currency,minor",
        [
            ("10.20", "EUR", 1020),
            ("49", "USD", 4900),
            ("500", "JPY", 500),
            ("1.234", "KWD", 1234),
            ("0.005", "EUR", 1),
        ],
    )
    def test_minor_units_round_trip(self, amount, currency, minor):
        assert money.to_minor_units(Decimal(amount), currency) == minor
        assert money.from_minor_units(minor, currency) == money.quantize(Decimal(amount), currency)

    def test_same_amount_compares_in_the_currency_precision(self):
        assert money.same_amount(Decimal("49.00"), "EUR", Decimal("49"), "eur")
        assert not money.same_amount(Decimal("49.00"), "EUR", Decimal("48.99"), "EUR")
        assert not money.same_amount(Decimal("49.00"), "EUR", Decimal("49.00"), "USD")
        assert not money.same_amount(Decimal("49.00"), "EUR", None, "EUR")
        assert not money.same_amount(Decimal("49.00"), "EUR", Decimal("49.00"), "")

    @pytest.mark.parametrize(
        "value,expected",
        [
            ("49.00", Decimal("49.00")),
            (49, Decimal(49)),
            ("1e2", Decimal(100)),
            (" 3.5 ", Decimal("3.5")),
            ("abc", None),
            (None, None),
            (True, None),
            ("NaN", None),
            ("Infinity", None),
        ],
    )
    def test_parse_amount(self, value, expected):
        assert money.parse_amount(value) == expected

    def test_validate_currency(self):
        money.validate_currency("EUR")
        for bad in ("eur", "EURO", "", "€€€", 12):
            with pytest.raises(ValidationError):
                money.validate_currency(bad)


class TestTransitions:
    def test_every_status_has_its_transitions(self):
        assert set(PAYMENT_TRANSITIONS) == set(P)

    def test_paid_only_moves_to_refunded_and_refunded_is_final(self):
        assert {s for s in P if can_move(P.PAID, s)} == {P.REFUNDED}
        assert not any(can_move(P.REFUNDED, s) for s in P)

    def test_late_confirmation_after_giving_up_counts(self):
        for gave_up in (P.FAILED, P.EXPIRED, P.CANCELLED):
            assert can_move(gave_up, P.PAID)
            assert not can_move(gave_up, P.PENDING)

    def test_nothing_moves_to_created(self):
        assert not any(can_move(s, P.CREATED) for s in P)

    @pytest.mark.parametrize(
        "statuses,expected",
        [
            ([], OrderStatus.CREATED),
            ([P.CREATED], OrderStatus.CREATED),
            ([P.FAILED, P.CREATED], OrderStatus.CREATED),
            ([P.FAILED, P.PAID], OrderStatus.PAID),
            ([P.REFUNDED, P.PAID], OrderStatus.PAID),
            ([P.REFUNDED], OrderStatus.REFUNDED),
            ([P.APPROVED], OrderStatus.PENDING),
            ([P.ON_HOLD, P.FAILED], OrderStatus.ON_HOLD),
            ([P.EXPIRED, P.CANCELLED], OrderStatus.EXPIRED),
        ],
    )
    def test_order_status_follows_its_best_payment(self, statuses, expected):
        assert derive_order_status(statuses) == expected


class TestCrypto:
    def test_round_trip_and_no_plaintext_at_rest(self):
        token = encrypt_json({"secret_key": "sk_live_very_secret"})
        assert "sk_live_very_secret" not in token
        assert decrypt_json(token) == {"secret_key": "sk_live_very_secret"}
        assert encrypt_json({}) == "" and decrypt_json("") == {}

    def test_keys_rotate(self, settings):
        from cryptography.fernet import Fernet

        old = settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS[0]
        token = encrypt_json({"a": 1})
        settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
        assert decrypt_json(token) == {"a": 1}
        settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
        with pytest.raises(CredentialDecryptionError):
            decrypt_json(token)

    def test_no_key_outside_debug_is_refused(self, settings):
        settings.WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = []
        settings.DEBUG = False
        with pytest.raises(ImproperlyConfigured):
            encrypt_json({"a": 1})


def test_settings_are_read_when_used(settings):
    assert guestpay_settings.REFERENCE_PREFIX == "GP"
    settings.WAGTAIL_GUESTPAY_REFERENCE_PREFIX = "SHOP"
    assert guestpay_settings.REFERENCE_PREFIX == "SHOP"
    with pytest.raises(AttributeError):
        guestpay_settings.NO_SUCH_SETTING  # noqa: B018


def test_provider_event_survives_json_storage():
    event = ProviderEvent(
        event_id="evt_1",
        status=EventStatus.PAID,
        reference="GP1",
        provider_reference="ch_1",
        amount=Decimal("49.00"),
        currency="EUR",
        email="a@example.com",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        refunded_amount=Decimal("1.50"),
        related_references=("pi_1", "ch_2"),
    )
    import json

    assert ProviderEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event
    assert event.all_provider_references() == ["ch_1", "pi_1", "ch_2"]


def test_notification_parsing_helpers():
    note = Notification(body=b'{"a": 1}', headers={"X-Sig": "v"})
    assert note.header("x-sig") == "v" and note.header("missing") == ""
    assert note.json() == {"a": 1}
    assert Notification(body=b"a=1&b=2", headers={}).form()["b"] == "2"
    for body in (b"\xff", b"[1]", b"{"):
        with pytest.raises(MalformedNotification):
            Notification(body=body, headers={}).json()


def test_json_nesting_is_bounded_the_same_on_every_python():
    """Python 3.11's parser stops near 1,000 levels, 3.13's near 10,000: the bound is ours."""
    deepest = b'{"a":' * (MAX_JSON_DEPTH - 1) + b"[]" + b"}" * (MAX_JSON_DEPTH - 1)
    assert Notification(body=deepest, headers={}).json()["a"]
    for depth in (MAX_JSON_DEPTH + 1, 5000, 50_000):
        too_deep = b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)
        with pytest.raises(MalformedNotification):
            Notification(body=too_deep, headers={}).json()
        with pytest.raises(ValueError):
            load_json(too_deep.decode(), parse_int=str)


def test_records_stay_out_of_wagtails_usage_index():
    """Orders, events and contacts are saved on the payment path: indexing them for Wagtail's
    "usage" view would add queries to every notification and every Pay click."""
    from wagtail.models import ReferenceIndex

    from wagtail_guestpay.models import Contact, Offer, Order, PaymentEvent

    assert not any(ReferenceIndex.is_indexed(m) for m in (Order, PaymentEvent, Contact))
    assert ReferenceIndex.is_indexed(Offer)  # where an offer is used is worth knowing


def test_adapter_contact_name_reads_the_usual_name_fields():
    from wagtail_guestpay.adapter import GuestPayAdapter

    name = GuestPayAdapter().contact_name
    assert name({"full_name": " Ada Lovelace ", "name": "x"}) == "Ada Lovelace"
    assert name({"name": "Grace"}) == "Grace"
    assert name({"first_name": "Ada", "last_name": "Lovelace"}) == "Ada Lovelace"
    assert name({"full_name": "  ", "phone": "+33", "first_name": 3}) == ""
    assert name(None) == ""

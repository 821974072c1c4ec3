"""Hostile input at every provider's callback, generated with hypothesis: malformed, truncated,
tampered, forged, oversized, wrong content type, sent to another account, replayed. Whatever
arrives: a clear 4xx (never a 5xx), and nothing changes.

The test classes are made here for each ProviderContract subclass found in tests/providers (see
tests/hostile/providers.py): a provider that lands with its contract tests is covered without
touching this file. They use the contract's hooks only (make_account, start, paid_notification,
forge, stale, post).
"""

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.providers.contract import snapshot
from wagtail_guestpay.models import AccessGrant, OutboundEmail, PaymentEvent
from wagtail_guestpay.providers.base import MAX_JSON_DEPTH

from .providers import contract_classes, same_content, signature_headers, without_own_tests

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/octet-stream",
        "",
        "application/json; charset=latin-1",
        "*/*",
        "text/html; charset=utf-16",
    ]
)


@st.composite
def mutated_bodies(draw, body):
    """A body that differs from ``body``: truncated, bytes flipped, inserted or deleted, a
    value swapped, or something else entirely."""
    kind = draw(
        st.sampled_from(
            [
                "truncate",
                "flip",
                "insert",
                "delete",
                "replace_digit",
                "junk",
                "json",
                "nul",
                "huge_value",
            ]
        )
    )
    if kind == "truncate":
        return body[: draw(st.integers(0, max(len(body) - 1, 0)))]
    if kind == "flip":
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    if kind == "insert":
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.binary(min_size=1, max_size=40)) + body[at:]
    if kind == "delete":
        at = draw(st.integers(0, len(body) - 1))
        return body[:at] + body[at + draw(st.integers(1, 20)) :]
    if kind == "replace_digit":
        digits = [i for i, c in enumerate(body) if chr(c).isdigit()]
        assume(digits)
        at = draw(st.sampled_from(digits))
        new = str((int(chr(body[at])) + draw(st.integers(1, 9))) % 10).encode()
        return body[:at] + new + body[at + 1 :]
    if kind == "json":
        import json

        value = draw(
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers()
                | st.floats(allow_nan=False)
                | st.text(max_size=30),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4)
                ),
                max_leaves=12,
            )
        )
        return json.dumps(value).encode()
    if kind == "nul":
        at = draw(st.integers(0, len(body)))
        return body[:at] + b"\x00" + body[at:]
    if kind == "huge_value":
        at = draw(st.integers(0, len(body)))
        return body[:at] + b"9" * 5000 + body[at:]
    return draw(st.binary(max_size=300))


def unreadable_json(body):
    """Bodies that are JSON by their grammar but that no genuine notification is: nested deeper
    than MAX_JSON_DEPTH (just beyond it, and beyond what Python 3.11's parser follows but 3.13's
    does), or a string value of ``body`` (a JSON object) replaced by a lone UTF-16 surrogate
    escape (``"\\ud800"``, which no UTF-8 text can hold)."""
    bodies = []
    for depth in (MAX_JSON_DEPTH + 1, 5000):
        nested = b"[" * (depth - 1) + b"]" * (depth - 1)  # one level below the body's object
        bodies += [
            b'{"a":' * depth + b"1" + b"}" * depth,
            b"[" * depth + b"]" * depth,
            body[:-1] + b', "deep": ' + nested + b"}",
        ]
    try:
        data = json.loads(body)
    except ValueError:
        return bodies
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str):
                bodies.append(json.dumps({**data, key: value + "\ud800"}).encode())
    return bodies


class HostileCallback:
    """Mixed into a copy of each provider's contract class."""

    def _check(self, response, before):
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
        assert snapshot() == before
        assert not AccessGrant.objects.exists()

    def _events(self, payment, body, headers):
        """What the provider makes of a delivery (its verified, provider-neutral events)."""
        from wagtail_guestpay.providers.base import Notification

        content_type = headers.get("Content-Type", "").split(";")[0].strip()
        notification = Notification(body=body, headers=headers, content_type=content_type)
        return payment.account.get_provider().parse_notification(notification)

    def test_tampered_or_malformed_bodies_are_4xx_and_change_nothing(
        self, client, payment, run_on_commit
    ):
        """A changed body is refused, unless the change is one the protocol's signature does not
        cover because it means nothing (JSON formatting, an empty parameter Fondy leaves out of
        its signed string, Fondy's unsigned test-mode ``response_signature_string``): such a body
        is accepted only if the provider reads exactly the same events from it as from the
        signed original, so nothing unverified is ever applied."""
        body, headers = self.paid_notification(payment)
        original_events = self._events(payment, body, headers)
        state = {"before": snapshot()}

        @HYPOTHESIS
        @given(data=st.data())
        def run(data):
            mutated = data.draw(mutated_bodies(body))
            assume(not same_content(mutated, body))
            content_type = data.draw(st.one_of(st.none(), CONTENT_TYPES))
            sent = dict(headers)
            if content_type is not None:
                sent["Content-Type"] = content_type
            response = self.post(client, payment, mutated, sent)
            if 200 <= response.status_code < 300:
                assert self._events(payment, mutated, sent) == original_events, mutated
                state["before"] = snapshot()
                return
            assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
            assert snapshot() == state["before"]

        run()

    def test_unreadable_json_is_4xx_and_changes_nothing(self, client, payment, run_on_commit):
        """Deeply nested JSON (refused at one depth on every Python) and JSON strings holding lone
        surrogates (UnicodeEncodeError once a signature is computed or a row saved), sent with
        a genuine notification's headers: refused as malformed, never a 5xx."""
        body, headers = self.paid_notification(payment)
        before = snapshot()
        for hostile in unreadable_json(body):
            self._check(self.post(client, payment, hostile, headers), before)

    def test_forged_or_missing_signatures_are_4xx_and_change_nothing(
        self, client, payment, run_on_commit
    ):
        body, headers = self.paid_notification(payment)
        forged_body, forged_headers = self.forge(body, headers)
        carriers = signature_headers(headers, forged_headers)
        before = snapshot()
        self._check(self.post(client, payment, forged_body, forged_headers), before)
        if not carriers:
            return  # the signature travels in the body (Fondy, WayForPay): the test above

        @HYPOTHESIS
        @given(data=st.data())
        def run(data):
            sent = dict(headers)
            for key in carriers:
                action = data.draw(st.sampled_from(["drop", "junk", "truncate", "empty", "forged"]))
                value = headers[key]
                if action == "drop":
                    sent.pop(key)
                elif action == "junk":
                    sent[key] = data.draw(
                        st.text(
                            alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                            max_size=200,
                        )
                    )
                elif action == "truncate":
                    sent[key] = value[: data.draw(st.integers(0, max(len(value) - 1, 0)))]
                elif action == "empty":
                    sent[key] = ""
                else:
                    sent[key] = forged_headers[key]
            assume(sent != headers)
            self._check(self.post(client, payment, body, sent), before)

        run()

    def test_wrong_content_type_on_a_valid_notification_is_never_5xx(
        self, client, payment, run_on_commit
    ):
        """Some protocols say to parse the body whatever the declared type: either answer is
        fine, a 5xx is not."""
        body, headers = self.paid_notification(payment)

        @HYPOTHESIS
        @given(content_type=CONTENT_TYPES)
        def run(content_type):
            response = self.post(client, payment, body, {**headers, "Content-Type": content_type})
            assert response.status_code < 500

        run()

    def test_oversized_bodies_are_413_and_change_nothing(
        self, client, payment, run_on_commit, settings
    ):
        body, headers = self.paid_notification(payment)
        settings.WAGTAIL_GUESTPAY_MAX_NOTIFICATION_BYTES = len(body) + 100
        before = snapshot()
        padded = body + b" " * 101
        response = self.post(client, payment, padded, headers)
        assert response.status_code == 413
        assert snapshot() == before
        assert not PaymentEvent.objects.filter(signature_valid=False).exists()  # not even kept

    def test_a_notification_sent_to_another_account_is_refused(
        self, client, payment, run_on_commit
    ):
        """Posted to another account's URL, a notification never touches this account's payment:
        refused when the other account's secret differs; when both accounts hold the same
        credentials (one merchant configured twice, as in these tests) it verifies, and is kept
        as an unknown payment of the other account."""
        body, headers = self.paid_notification(payment)
        other = self.make_account()
        before = snapshot()
        extra = {
            f"HTTP_{key.upper().replace('-', '_')}": value
            for key, value in headers.items()
            if key.lower() != "content-type"
        }
        response = client.generic(
            "POST",
            other.notification_path(),
            data=body,
            content_type=headers.get("Content-Type", "application/json"),
            **extra,
        )
        assert response.status_code < 500
        orders, payments, grants, emails, _events = snapshot()
        assert (orders, payments, grants) == before[:3]
        if response.status_code >= 400:
            assert snapshot() == before
            return
        self.expected_ack(response)
        event = PaymentEvent.objects.get(account=other, signature_valid=True)
        assert event.payment_id is None
        assert event.outcome == PaymentEvent.Outcome.UNKNOWN_PAYMENT

    def test_replays_apply_once(self, client, payment, run_on_commit, outbox):
        self.prepare_paid(payment, "replay@example.com")
        body, headers = self.paid_notification(payment, email="replay@example.com")
        self.expected_ack(self.post(client, payment, body, headers))
        after_first = snapshot()
        for _ in range(5):
            self.expected_ack(self.post(client, payment, body, headers))
        assert snapshot() == after_first
        assert OutboundEmail.objects.filter(kind="access").count() == 1
        assert len(outbox) == 1

    def test_stale_replay_is_refused(self, client, payment, run_on_commit):
        if not self.has_replay_window:
            pytest.skip("this provider's protocol has no tolerance window")
        before = snapshot()
        body, headers = self.stale(payment)
        for _ in range(2):
            self._check(self.post(client, payment, body, headers), before)

    def test_other_methods_are_405(self, client, payment):
        path = payment.account.notification_path()
        for method in ("get", "put", "delete", "patch"):
            assert getattr(client, method)(path).status_code == 405


for _name, _contract in contract_classes().items():
    _class_name = "TestHostile" + "".join(
        part.title() for part in _name.replace(".", "_").split("_")
    )
    globals()[_class_name] = type(
        _class_name,
        (HostileCallback, _contract),
        {**without_own_tests(_contract), "__module__": __name__},
    )


def test_every_provider_with_a_contract_is_covered():
    covered = [name for name in globals() if name.startswith("TestHostile")]
    assert len(covered) == len(contract_classes()) >= 1, covered

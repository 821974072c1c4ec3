"""A fake Stripe API on loopback (pytest-httpserver), so that the real SDK and HTTP client run.

It answers the calls the Stripe provider makes (create and retrieve Checkout Sessions, retrieve
the balance) with objects shaped like Stripe's (``tests/fixtures/stripe/``), checks the bearer
key, and plays the buyer's part on the hosted page (:meth:`FakeStripe.pay` and friends). Events
are built from what the fake recorded, so a notification carries the amount our request asked
for, and are signed the way Stripe documents it (HMAC-SHA256 over ``"<t>.<body>"``).
"""

import copy
import hashlib
import hmac
import json
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qsl

from werkzeug import Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dcFAKE"
WEBHOOK_SECRET = "whsec_fake0123456789abcdefghijklmnop"
METADATA_KEY = "guestpay_reference"


def fixture(name):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sign(body, secret=WEBHOOK_SECRET, timestamp=None):
    """The ``Stripe-Signature`` header Stripe sends with ``body`` (docs.stripe.com/webhooks,
    "Verify signatures manually")."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _new_id(prefix):
    return f"{prefix}_{secrets.token_hex(12)}"


def _nested(form, prefix):
    """``{"a": "1"}`` from form keys ``prefix[a]=1`` (Stripe's form encoding, one level)."""
    pattern = re.compile(re.escape(prefix) + r"\[([^\]]+)\]$")
    return {match.group(1): value for key, value in form.items() if (match := pattern.match(key))}


class FakeStripe:
    def __init__(self, httpserver, *, secret_key=SECRET_KEY, livemode=False):
        self.server = httpserver
        self.secret_key = secret_key
        self.livemode = livemode
        self.sessions = {}
        self.intents = {}
        self.charges = {}
        self.requests = []  # (method, path, form or query dict, headers)
        self.fail_with = None  # (status, body) answered to every call while set
        httpserver.expect_request("/v1/checkout/sessions", method="POST").respond_with_handler(
            self._create_session
        )
        httpserver.expect_request(
            re.compile(r"^/v1/checkout/sessions/[^/]+$"), method="GET"
        ).respond_with_handler(self._retrieve_session)
        httpserver.expect_request("/v1/balance", method="GET").respond_with_handler(self._balance)

    @property
    def base_url(self):
        return self.server.url_for("").rstrip("/")

    # The API -----------------------------------------------------------------------------
    def _answer(self, status, body):
        return Response(
            json.dumps(body),
            status=status,
            content_type="application/json",
            headers={"Request-Id": _new_id("req")},
        )

    def _guard(self, request, params):
        self.requests.append((request.method, request.path, params, dict(request.headers)))
        if self.fail_with:
            return self._answer(*self.fail_with)
        if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
            return self._answer(401, fixture("error_invalid_api_key"))
        return None

    def _create_session(self, request):
        form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        refused = self._guard(request, form)
        if refused:
            return refused
        session = fixture("checkout_session")
        session_id = _new_id("cs_test")
        quantity = int(form["line_items[0][quantity]"])
        amount = int(form["line_items[0][price_data][unit_amount]"]) * quantity
        session.update(
            {
                "id": session_id,
                "amount_subtotal": amount,
                "amount_total": amount,
                "currency": form["line_items[0][price_data][currency]"],
                "mode": form["mode"],
                "success_url": form["success_url"],
                "cancel_url": form.get("cancel_url"),
                "client_reference_id": form.get("client_reference_id"),
                "customer_email": form.get("customer_email"),
                "metadata": _nested(form, "metadata"),
                "created": int(time.time()),
                "expires_at": int(form.get("expires_at") or time.time() + 24 * 3600),
                "livemode": self.livemode,
                "url": f"{self.base_url}/c/pay/{session_id}",
            }
        )
        # Kept for the PaymentIntent that confirming the page creates (as Stripe does).
        session["_intent_metadata"] = _nested(form, "payment_intent_data[metadata]")
        self.sessions[session_id] = session
        return self._answer(200, self._public(session))

    def _retrieve_session(self, request):
        query = request.args.to_dict(flat=True)
        refused = self._guard(request, query)
        if refused:
            return refused
        session_id = request.path.rsplit("/", 1)[1]
        session = self.sessions.get(session_id)
        if session is None:
            return self._answer(404, fixture("error_no_such_session"))
        expand = {
            value for key, value in request.args.items(multi=True) if key.startswith("expand[")
        }
        return self._answer(200, self._public(session, expand))

    def _balance(self, request):
        refused = self._guard(request, {})
        if refused:
            return refused
        return self._answer(200, {**fixture("balance"), "livemode": self.livemode})

    def _public(self, session, expand=()):
        data = {key: value for key, value in session.items() if not key.startswith("_")}
        data = copy.deepcopy(data)
        intent_id = data.get("payment_intent")
        if intent_id and "payment_intent" in expand:
            intent = copy.deepcopy(self.intents[intent_id])
            if "payment_intent.latest_charge" in expand and intent.get("latest_charge"):
                intent["latest_charge"] = copy.deepcopy(self.charges[intent["latest_charge"]])
            data["payment_intent"] = intent
        return data

    # The buyer on the hosted page ----------------------------------------------------------
    def session(self, session_id):
        return self._public(self.sessions[session_id])

    def _confirm(self, session, email, *, intent_status, charge_status):
        intent = fixture("payment_intent")
        intent.update(
            {
                "id": _new_id("pi"),
                "amount": session["amount_total"],
                "amount_received": session["amount_total"] if intent_status == "succeeded" else 0,
                "currency": session["currency"],
                "metadata": dict(session["_intent_metadata"]),
                "status": intent_status,
                "livemode": self.livemode,
            }
        )
        charge = fixture("charge")
        charge.update(
            {
                "id": _new_id("ch"),
                "amount": session["amount_total"],
                "amount_captured": session["amount_total"] if charge_status == "succeeded" else 0,
                "currency": session["currency"],
                "payment_intent": intent["id"],
                "status": charge_status,
                "paid": charge_status == "succeeded",
                "livemode": self.livemode,
            }
        )
        charge["billing_details"]["email"] = email
        intent["latest_charge"] = charge["id"]
        self.intents[intent["id"]] = intent
        self.charges[charge["id"]] = charge
        details = fixture("customer_details")
        details["email"] = email
        session.update(
            {"status": "complete", "payment_intent": intent["id"], "customer_details": details}
        )
        return intent

    def pay(self, session_id, email="jenny.rosen@example.com"):
        """The buyer pays by card: the session completes paid."""
        session = self.sessions[session_id]
        self._confirm(session, email, intent_status="succeeded", charge_status="succeeded")
        session["payment_status"] = "paid"
        return self.session(session_id)

    def pay_later(self, session_id, email="jenny.rosen@example.com"):
        """A delayed method (SEPA debit...): the session completes unpaid, the intent is
        processing."""
        session = self.sessions[session_id]
        self._confirm(session, email, intent_status="processing", charge_status="pending")
        session["payment_status"] = "unpaid"
        return self.session(session_id)

    def settle(self, session_id, *, succeeded):
        """The delayed payment succeeds or fails."""
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        charge = self.charges[intent["latest_charge"]]
        if succeeded:
            session["payment_status"] = "paid"
            intent.update({"status": "succeeded", "amount_received": intent["amount"]})
            charge.update({"status": "succeeded", "paid": True})
        else:
            intent.update(
                {
                    "status": "requires_payment_method",
                    "last_payment_error": fixture("last_payment_error"),
                }
            )
            charge.update({"status": "failed", "failure_code": "insufficient_funds"})
        return self.session(session_id)

    def expire(self, session_id):
        self.sessions[session_id]["status"] = "expired"
        return self.session(session_id)

    def refund(self, session_id, amount=None):
        """Refund the session's charge, fully unless ``amount`` (minor units) is given."""
        intent = self.intents[self.sessions[session_id]["payment_intent"]]
        charge = self.charges[intent["latest_charge"]]
        refunded = charge["amount_refunded"] + (charge["amount"] if amount is None else amount)
        charge.update({"amount_refunded": refunded, "refunded": refunded >= charge["amount"]})
        return copy.deepcopy(charge)

    def intent(self, session_id):
        return copy.deepcopy(self.intents[self.sessions[session_id]["payment_intent"]])

    # Webhooks ------------------------------------------------------------------------------
    def event(self, event_type, obj, *, event_id=None, created=None):
        """An Event envelope (``tests/fixtures/stripe/event.json``) around ``obj``."""
        event = fixture("event")
        event.update(
            {
                "id": event_id or _new_id("evt"),
                "created": int(time.time() if created is None else created),
                "livemode": self.livemode,
                "type": event_type,
                "data": {"object": obj},
            }
        )
        event["request"]["id"] = _new_id("req")
        return event

    @staticmethod
    def signed(event, secret=WEBHOOK_SECRET, timestamp=None):
        """``(body bytes, headers)`` as Stripe delivers ``event``."""
        body = json.dumps(event, indent=2).encode()
        return body, {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(body, secret, timestamp),
        }

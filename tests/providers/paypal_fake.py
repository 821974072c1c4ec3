"""A fake PayPal on loopback (pytest-httpserver), so the provider's real HTTP code runs.

It keeps state like PayPal does: OAuth tokens, orders created with a PayPal-Request-Id (replayed
on a repeated id), the buyer's approval on the "approve" page, captures (completed, pending or
declined as the test's buyer chooses), the webhook deliveries it signed (for
verify-webhook-signature) and a certificate chain made by a test CA (:class:`TestPKI`).

Its signing is written here from PayPal's description, independently of the provider's code:
``transmission_id|transmission_time|webhook_id|crc32(raw body)``, RSA PKCS#1 v1.5 + SHA-256.
"""

import base64
import copy
import json
import secrets
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug import Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "paypal"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-testleaf"
PAYPAL_NAME = "messageverificationcerts.sandbox.paypal.com"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def paypal_id(length=17):
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def now_utc():
    return datetime.now(UTC)


def paypal_time(moment=None):
    return (moment or now_utc()).strftime("%Y-%m-%dT%H:%M:%SZ")


# A test PKI -------------------------------------------------------------------------------------
def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name):
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Guestpay Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca(common_name, key, issuer=None, issuer_key=None):
    now = now_utc()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer = issuer_key or key
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def _leaf(dns_name, key, issuer, issuer_key, *, not_before=None, not_after=None):
    now = now_utc()
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal, Inc."),
                    x509.NameAttribute(NameOID.COMMON_NAME, dns_name),
                ]
            )
        )
        .issuer_name(issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def pem(*certificates):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


class TestPKI:
    """A root CA, an intermediate, PayPal's signing leaf and a few bad variants."""

    __test__ = False

    def __init__(self, directory):
        self.root_key, self.intermediate_key, self.key = _key(), _key(), _key()
        self.root = _ca("Guestpay Test Root CA", self.root_key)
        self.intermediate = _ca(
            "Guestpay Test Intermediate CA", self.intermediate_key, self.root, self.root_key
        )
        self.leaf = _leaf(PAYPAL_NAME, self.key, self.intermediate, self.intermediate_key)
        self.roots_file = Path(directory) / "test-roots.pem"
        self.roots_file.write_bytes(pem(self.root))
        # Variants, all with the same signing key so that only the certificate is at fault.
        past = now_utc() - timedelta(days=400)
        self.expired_leaf = _leaf(
            PAYPAL_NAME,
            self.key,
            self.intermediate,
            self.intermediate_key,
            not_before=past,
            not_after=past + timedelta(days=30),
        )
        self.foreign_leaf = _leaf(
            "webhooks.example.com", self.key, self.intermediate, self.intermediate_key
        )
        rogue_key = _key()
        self.rogue_root = _ca("Rogue Root CA", rogue_key)
        self.rogue_leaf = _leaf(PAYPAL_NAME, self.key, self.rogue_root, rogue_key)
        self.attacker_key = _key()

    def chain_pem(self, leaf=None, *, with_issuer=True):
        """What PayPal's certificate URL serves: the leaf, then the intermediate."""
        leaf = leaf or self.leaf
        issuer = self.rogue_root if leaf is self.rogue_leaf else self.intermediate
        return pem(leaf, issuer) if with_issuer else pem(leaf)


# The fake ---------------------------------------------------------------------------------------
class FakePayPal:
    """PayPal's API, approval page and certificate host, on one loopback server."""

    def __init__(self, httpserver, pki, *, client_id, client_secret, webhook_id):
        self.server = httpserver
        self.pki = pki
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.tokens = set()
        self.orders = {}
        self.idempotent = {}
        self.transmissions = {}
        self.served_leaf = pki.leaf
        self.serve_intermediate = True
        self.counts = {
            "token": 0,
            "create": 0,
            "capture": 0,
            "get": 0,
            "verify": 0,
            "cert": 0,
            "webhook": 0,
        }
        self.requests = []  # (name, headers, json body)
        self.verify_fails_with = None  # an HTTP status the verify endpoint answers, if set
        self.webhook_events = [
            "CHECKOUT.ORDER.APPROVED",
            "CHECKOUT.PAYMENT-APPROVAL.REVERSED",
            "PAYMENT.CAPTURE.COMPLETED",
            "PAYMENT.CAPTURE.PENDING",
            "PAYMENT.CAPTURE.DENIED",
            "PAYMENT.CAPTURE.DECLINED",
            "PAYMENT.CAPTURE.REFUNDED",
            "PAYMENT.CAPTURE.REVERSED",
        ]
        self.webhook_url = "https://shop.example.com/guestpay/notify/..."
        routes = [
            ("/v1/oauth2/token", "POST", self._token),
            ("/v2/checkout/orders", "POST", self._create),
            (self._pattern(r"/v2/checkout/orders/[A-Z0-9]+/capture"), "POST", self._capture),
            (self._pattern(r"/v2/checkout/orders/[A-Za-z0-9-]+"), "GET", self._get),
            ("/v1/notifications/verify-webhook-signature", "POST", self._verify),
            (self._pattern(r"/v1/notifications/certs/[A-Za-z0-9-]+"), "GET", self._cert),
            (self._pattern(r"/v1/notifications/webhooks/[A-Za-z0-9-]+"), "GET", self._webhook),
            ("/checkoutnow", "GET", self._approve_page),
        ]
        for uri, method, handler in routes:
            httpserver.expect_request(uri, method=method).respond_with_handler(handler)

    @staticmethod
    def _pattern(regex):
        import re

        return re.compile(f"^{regex}$")

    @property
    def base_url(self):
        return self.server.url_for("/").rstrip("/")

    # Helpers ------------------------------------------------------------------------------
    @staticmethod
    def _json(data, status=200):
        return Response(json.dumps(data), status=status, content_type="application/json")

    @staticmethod
    def _error(status, name, issue, message="PayPal error"):
        return FakePayPal._json(
            {
                "name": name,
                "message": message,
                "debug_id": secrets.token_hex(6),
                "details": [{"issue": issue, "description": message}],
            },
            status,
        )

    def _authorized(self, request):
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def _record(self, name, request):
        self.counts[name] += 1
        body = None
        if request.data:
            body = json.loads(request.data)
        self.requests.append((name, dict(request.headers), body))
        return body

    def revoke_tokens(self):
        self.tokens.clear()

    # OAuth --------------------------------------------------------------------------------
    def _token(self, request):
        self.counts["token"] += 1
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or request.form.get("grant_type") != "client_credentials"
        ):
            return self._json(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                401,
            )
        answer = fixture("token.json")
        answer["access_token"] = "A21AA" + secrets.token_urlsafe(40)
        self.tokens.add(answer["access_token"])
        return self._json(answer)

    # Orders -------------------------------------------------------------------------------
    def _create(self, request):
        if not self._authorized(request):
            return self._json({"error": "invalid_token"}, 401)
        body = self._record("create", request)
        request_id = request.headers.get("PayPal-Request-Id")
        if request_id and ("create", request_id) in self.idempotent:
            return self._json(self.idempotent[("create", request_id)], 200)
        unit = body["purchase_units"][0]
        context = body["payment_source"]["paypal"]["experience_context"]
        assert body["intent"] == "CAPTURE" and isinstance(unit["amount"]["value"], str)
        order = fixture("order_created.json")
        order_id = paypal_id()
        order["id"] = order_id
        order["purchase_units"] = [
            {
                **order["purchase_units"][0],
                **{
                    key: unit[key]
                    for key in ("reference_id", "custom_id", "invoice_id", "description", "amount")
                    if key in unit
                },
            }
        ]
        order["create_time"] = paypal_time()
        order["links"] = [
            {
                "href": f"{self.base_url}/v2/checkout/orders/{order_id}",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": f"{self.base_url}/checkoutnow?token={order_id}",
                "rel": "payer-action",
                "method": "GET",
            },
        ]
        self.orders[order_id] = {
            "order": order,
            "return_url": context["return_url"],
            "cancel_url": context["cancel_url"],
            "outcome": "COMPLETED",
        }
        if request_id:
            self.idempotent[("create", request_id)] = copy.deepcopy(order)
        return self._json(order, 201)

    def approve(self, order_id, *, email="customer@example.com", outcome="COMPLETED", wallet=False):
        """The buyer approves on PayPal's page (``outcome`` is what the capture will be)."""
        state = self.orders[order_id]
        order = state["order"]
        order["status"] = "APPROVED"
        state["outcome"] = outcome
        if wallet:  # e.g. Apple Pay through PayPal: no e-mail comes back
            order["payment_source"] = {"apple_pay": {"name": "John Doe"}}
            order.pop("payer", None)
        else:
            captured = fixture("order_captured.json")
            order["payment_source"] = captured["payment_source"]
            order["payment_source"]["paypal"]["email_address"] = email
            order["payer"] = {**captured["payer"], "email_address": email}
        return state

    def _approve_page(self, request):
        order_id = request.args.get("token", "")
        if order_id not in self.orders:
            return Response("Unknown token", status=404)
        state = self.orders[order_id]
        if request.args.get("cancel"):
            target = state["cancel_url"]
        else:
            self.approve(
                order_id,
                email=request.args.get("email", "customer@example.com"),
                outcome=request.args.get("outcome", "COMPLETED"),
                wallet=bool(request.args.get("wallet")),
            )
            target = state["return_url"]
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        query.update({"token": [order_id], "PayerID": ["QYR5Z8XDVJNXQ"]})
        location = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        return Response(status=302, headers={"Location": location})

    def _capture(self, request):
        if not self._authorized(request):
            return self._json({"error": "invalid_token"}, 401)
        self._record("capture", request)
        order_id = request.path.split("/")[-2]
        request_id = request.headers.get("PayPal-Request-Id")
        if request_id and ("capture", request_id) in self.idempotent:
            return self._json(self.idempotent[("capture", request_id)], 201)
        state = self.orders.get(order_id)
        if state is None:
            return self._error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        order = state["order"]
        if order["status"] == "COMPLETED":
            return self._error(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return self._error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        if state["outcome"] == "INSTRUMENT_DECLINED":  # the buyer's funding source refused
            return self._error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")
        template = fixture("order_captured.json")["purchase_units"][0]["payments"]["captures"][0]
        capture = self.capture_resource(order_id, template=template, status=state["outcome"])
        capture.pop("supplementary_data")  # not inside an order
        order["status"] = "COMPLETED"
        order["purchase_units"][0]["payments"] = {"captures": [capture]}
        order["links"] = [order["links"][0]]
        if request_id:
            self.idempotent[("capture", request_id)] = copy.deepcopy(order)
        return self._json(order, 201)

    def capture_resource(
        self,
        order_id,
        *,
        template=None,
        status="COMPLETED",
        amount=None,
        capture_id=None,
        reference=None,
        currency=None,
    ):
        """A Payments v2 capture of ``order_id`` as PayPal shows it in PAYMENT.CAPTURE.*."""
        capture = copy.deepcopy(
            template or fixture("webhook_payment_capture_completed.json")["resource"]
        )
        state = self.orders.get(order_id)
        unit = state["order"]["purchase_units"][0] if state else {}
        unit_amount = unit.get("amount", {})
        value = str(amount) if amount is not None else unit_amount.get("value", "1.00")
        currency = currency or unit_amount.get("currency_code", "EUR")
        capture_id = capture_id or paypal_id()
        capture.update(
            {
                "id": capture_id,
                "status": status,
                "amount": {"currency_code": currency, "value": value},
                "custom_id": reference if reference is not None else unit.get("custom_id", ""),
                "supplementary_data": {"related_ids": {"order_id": order_id}},
                "create_time": paypal_time(),
                "update_time": paypal_time(),
            }
        )
        if "invoice_id" in unit:
            capture["invoice_id"] = unit["invoice_id"]
        breakdown = capture.get("seller_receivable_breakdown")
        if breakdown:
            fee = (Decimal(value) * Decimal("0.03")).quantize(Decimal(value))
            breakdown["gross_amount"] = {"currency_code": currency, "value": value}
            breakdown["paypal_fee"] = {"currency_code": currency, "value": str(fee)}
            breakdown["net_amount"] = {
                "currency_code": currency,
                "value": str(Decimal(value) - fee),
            }
        if status == "PENDING":
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        elif status == "DECLINED":
            capture["status_details"] = {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
        capture["links"] = [
            {
                "href": f"https://api.paypal.com/v2/payments/captures/{capture_id}",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": f"https://api.paypal.com/v2/payments/captures/{capture_id}/refund",
                "rel": "refund",
                "method": "POST",
            },
            {
                "href": f"https://api.paypal.com/v2/checkout/orders/{order_id}",
                "rel": "up",
                "method": "GET",
            },
        ]
        return capture

    def captures(self, order_id):
        return (
            self.orders[order_id]["order"]["purchase_units"][0]
            .get("payments", {})
            .get("captures", [])
        )

    def settle(self, order_id, status="COMPLETED"):
        """A pending capture completes (or is denied) at PayPal."""
        capture = self.captures(order_id)[0]
        capture["status"] = status
        capture.pop("status_details", None)
        return capture

    def _get(self, request):
        if not self._authorized(request):
            return self._json({"error": "invalid_token"}, 401)
        self._record("get", request)
        state = self.orders.get(request.path.rsplit("/", 1)[1])
        if state is None:
            return self._error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return self._json(state["order"])

    # Webhooks -----------------------------------------------------------------------------
    def webhook(
        self,
        event_type,
        resource,
        *,
        event_id=None,
        sent_at=None,
        key=None,
        cert_url=CERT_URL,
        resource_type=None,
    ):
        """A delivery PayPal would POST: ``(raw body, headers)``, signed and recorded."""
        template = {
            "PAYMENT.CAPTURE.REFUNDED": "webhook_payment_capture_refunded.json",
            "PAYMENT.CAPTURE.REVERSED": "webhook_payment_capture_refunded.json",
            "CHECKOUT.ORDER.APPROVED": "webhook_checkout_order_approved.json",
            "CHECKOUT.PAYMENT-APPROVAL.REVERSED": "webhook_checkout_payment_approval_reversed.json",
        }.get(event_type, "webhook_payment_capture_completed.json")
        event = fixture(template)
        event_id = event_id or f"WH-{paypal_id()}-{paypal_id()}"
        event.update(
            {
                "id": event_id,
                "event_type": event_type,
                "resource": resource,
                "create_time": paypal_time(sent_at),
                "summary": f"{event_type} for the tests",
            }
        )
        if resource_type:
            event["resource_type"] = resource_type
        for item in event["links"]:
            item["href"] = (
                item["href"].rsplit("/", 2)[0]
                + "/"
                + event_id
                + ("/resend" if item["rel"] == "resend" else "")
            )
        body = json.dumps(event).encode()
        return body, self.sign(body, sent_at=sent_at, key=key, cert_url=cert_url)

    def sign(self, body, *, sent_at=None, key=None, cert_url=CERT_URL, webhook_id=None):
        transmission_id = str(uuid.uuid1())
        transmission_time = paypal_time(sent_at)
        crc = zlib.crc32(body) & 0xFFFFFFFF
        message = f"{transmission_id}|{transmission_time}|{webhook_id or self.webhook_id}|{crc}"
        signature = (key or self.pki.key).sign(
            message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        if key is None:  # only PayPal's own deliveries are known to its verify endpoint
            self.transmissions[transmission_id] = {"headers": headers, "body": body}
        return headers

    def _verify(self, request):
        if not self._authorized(request):
            return self._json({"error": "invalid_token"}, 401)
        body = self._record("verify", request)
        if self.verify_fails_with:
            return self._error(self.verify_fails_with, "INTERNAL_SERVICE_ERROR", "UNAVAILABLE")
        required = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        )
        if any(not body.get(name) for name in required):
            return self._error(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER")
        sent = self.transmissions.get(body["transmission_id"])
        ok = (
            sent is not None
            and body["webhook_id"] == self.webhook_id
            and body["transmission_sig"] == sent["headers"]["PAYPAL-TRANSMISSION-SIG"]
            and body["transmission_time"] == sent["headers"]["PAYPAL-TRANSMISSION-TIME"]
            and body["cert_url"] == sent["headers"]["PAYPAL-CERT-URL"]
            and body["auth_algo"] == "SHA256withRSA"
            and body["webhook_event"] == json.loads(sent["body"])
        )
        return self._json({"verification_status": "SUCCESS" if ok else "FAILURE"})

    def _cert(self, request):
        self.counts["cert"] += 1
        return Response(
            self.pki.chain_pem(self.served_leaf, with_issuer=self.serve_intermediate),
            status=200,
            content_type="application/x-pem-file",
        )

    def _webhook(self, request):
        if not self._authorized(request):
            return self._json({"error": "invalid_token"}, 401)
        self._record("webhook", request)
        webhook_id = request.path.rsplit("/", 1)[1]
        if webhook_id != self.webhook_id:
            return self._error(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return self._json(
            {
                "id": webhook_id,
                "url": self.webhook_url,
                "event_types": [
                    {"name": name, "description": name, "status": "ENABLED"}
                    for name in self.webhook_events
                ],
                "links": [],
            }
        )

"""PayPal's REST API over plain HTTP (httpx through :meth:`Provider.http_client`).

OAuth2 client credentials (``POST /v1/oauth2/token`` with HTTP Basic ``client_id:secret``); the
access token is kept in the Django cache, keyed per provider account and client id, until
shortly before it expires. Tokens and secrets are never logged nor put in error messages.
PayPal's error answers become :class:`PayPalAPIError` (a ProviderError) carrying only PayPal's
error name, issue and debug id.
"""

import hashlib
import json
import logging

import httpx
from django.core.cache import caches

from ...conf import guestpay_settings
from ..exceptions import ProviderError

logger = logging.getLogger(__name__)

API_URLS = {"test": "https://api-m.sandbox.paypal.com", "live": "https://api-m.paypal.com"}
# Forget a cached token this long before PayPal says it expires (at most half its lifetime).
TOKEN_MARGIN = 300
MAX_ANSWER_BYTES = 1024 * 1024


class PayPalAPIError(ProviderError):
    """PayPal answered with an error, or could not be reached."""

    def __init__(self, message, *, status=None, name="", issue="", debug_id="", retryable=True):
        super().__init__(message, retryable=retryable)
        self.status = status
        self.name = name
        self.issue = issue
        self.debug_id = debug_id


class PayPalAPI:
    """The calls the PayPal provider makes, for one provider account."""

    def __init__(self, provider):
        self.provider = provider
        default = API_URLS["live" if provider.is_live else "test"]
        self.base_url = provider.endpoint("api", default).rstrip("/")

    # Credentials and the token -------------------------------------------------------------
    @property
    def client_id(self):
        return str(self.provider.option("client_id", "") or "").strip()

    def _cache(self):
        return caches[guestpay_settings.CACHE]

    def token_cache_key(self):
        digest = hashlib.sha256(f"{self.base_url}|{self.client_id}".encode()).hexdigest()[:32]
        return f"wagtail_guestpay:paypal:token:{self.provider.account.pk}:{digest}"

    def forget_token(self):
        self._cache().delete(self.token_cache_key())

    def access_token(self, client, *, fresh=False):
        """A bearer token: the cached one, or a new one from PayPal (then cached)."""
        key = self.token_cache_key()
        if not fresh:
            token = self._cache().get(key)
            if token:
                return token
        token, expires_in = self.request_token(client)
        ttl = expires_in - min(TOKEN_MARGIN, expires_in // 2)
        if ttl > 0:
            self._cache().set(key, token, ttl)
        return token

    def request_token(self, client):
        """Ask PayPal for a token; returns ``(access_token, expires_in seconds)``."""
        secret = self.provider.secret("client_secret")
        if not self.client_id or not secret:
            raise PayPalAPIError("The PayPal client ID or secret is not set.", retryable=False)
        try:
            response = client.post(
                self.base_url + "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=httpx.BasicAuth(self.client_id, secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise PayPalAPIError(f"PayPal could not be reached ({type(exc).__name__}).") from exc
        data = _json_or_empty(response)
        if response.status_code in (400, 401, 403):
            error = str(data.get("error") or response.status_code)
            raise PayPalAPIError(
                f"PayPal refused the client ID or secret ({error}).",
                status=response.status_code,
                name=error,
                retryable=False,
            )
        if response.status_code != 200:
            raise PayPalAPIError(
                f"PayPal's token endpoint answered HTTP {response.status_code}.",
                status=response.status_code,
                retryable=response.status_code >= 500,
            )
        token = data.get("access_token")
        try:
            expires_in = int(data.get("expires_in", 0))
        except (TypeError, ValueError):
            expires_in = 0
        if not isinstance(token, str) or not token:
            raise PayPalAPIError("PayPal's token answer carries no access token.")
        return token, expires_in

    # Calls --------------------------------------------------------------------------------
    def call(self, method, path, *, body=None, headers=None):
        """Call the API with a bearer token; returns ``(status, data)`` for 2xx and 4xx answers.

        ``body`` is a dict (sent as JSON) or a str already holding JSON. A 401 drops the cached
        token and retries once with a fresh one. Network failures and 5xx answers raise a
        retryable PayPalAPIError.
        """
        if isinstance(body, str):
            content = body.encode("utf-8")
        elif body is not None:
            content = json.dumps(body).encode("utf-8")
        else:
            content = None
        request_headers = {"Accept": "application/json"}
        if content is not None:
            request_headers["Content-Type"] = "application/json"
        request_headers.update(headers or {})
        with self.provider.http_client() as client:
            for attempt in (1, 2):
                token = self.access_token(client, fresh=attempt == 2)
                try:
                    response = client.request(
                        method,
                        self.base_url + path,
                        content=content,
                        headers={**request_headers, "Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError as exc:
                    raise PayPalAPIError(
                        f"PayPal could not be reached ({type(exc).__name__})."
                    ) from exc
                if response.status_code == 401 and attempt == 1:
                    self.forget_token()
                    continue
                return self._answer(method, path, response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer(self, method, path, response):
        status = response.status_code
        if len(response.content) > MAX_ANSWER_BYTES:
            raise PayPalAPIError(f"PayPal's answer to {method} {path} is too large.")
        data = _json_or_empty(response)
        if status >= 500 or status in (401, 403, 429):
            raise error_from(method, path, status, data, retryable=status != 403)
        if 200 <= status < 300 or 400 <= status < 500:
            return status, data
        raise PayPalAPIError(f"PayPal answered {method} {path} with HTTP {status}.", status=status)

    # The operations -----------------------------------------------------------------------
    def create_order(self, order_request, *, request_id):
        status, data = self.call(
            "POST",
            "/v2/checkout/orders",
            body=order_request,
            headers={"PayPal-Request-Id": request_id, "Prefer": "return=representation"},
        )
        if status not in (200, 201):
            raise error_from("POST", "/v2/checkout/orders", status, data, retryable=False)
        return data

    def get_order(self, order_id):
        """The order, or None if PayPal does not know it."""
        path = f"/v2/checkout/orders/{_path_id(order_id)}"
        status, data = self.call("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise error_from("GET", path, status, data, retryable=False)
        return data

    def capture_order(self, order_id):
        """Capture an approved order; returns the order as PayPal then has it.

        The PayPal-Request-Id is derived from the order id, so the buyer's return and the
        CHECKOUT.ORDER.APPROVED notification make one capture between them; an order captured
        before (``ORDER_ALREADY_CAPTURED``) is fetched instead. Returns None when the buyer has
        not approved the order (``ORDER_NOT_APPROVED``).
        """
        path = f"/v2/checkout/orders/{_path_id(order_id)}/capture"
        status, data = self.call(
            "POST",
            path,
            body={},
            headers={
                "PayPal-Request-Id": f"guestpay-capture-{order_id}",
                "Prefer": "return=representation",
            },
        )
        if status in (200, 201):
            return data
        issue = first_issue(data)
        if status == 422 and issue == "ORDER_ALREADY_CAPTURED":
            return self.get_order(order_id)
        if status == 422 and issue in ("ORDER_NOT_APPROVED", "PAYER_ACTION_REQUIRED"):
            return None
        raise error_from("POST", path, status, data, retryable=False)

    def refund_capture(self, capture_id, body, *, request_id):
        """POST /v2/payments/captures/{id}/refund; returns the Refund. ``request_id`` is the
        PayPal-Request-Id: the same one again returns the first refund instead of a second."""
        path = f"/v2/payments/captures/{_path_id(capture_id)}/refund"
        status, data = self.call(
            "POST",
            path,
            body=body,
            headers={"PayPal-Request-Id": request_id, "Prefer": "return=representation"},
        )
        if status not in (200, 201):
            raise error_from("POST", path, status, data, retryable=False)
        return data

    def verify_webhook_signature(self, payload):
        """POST /v1/notifications/verify-webhook-signature; ``payload`` is the JSON text."""
        path = "/v1/notifications/verify-webhook-signature"
        status, data = self.call("POST", path, body=payload)
        return status, data

    def get_webhook(self, webhook_id):
        path = f"/v1/notifications/webhooks/{_path_id(webhook_id)}"
        status, data = self.call("GET", path)
        if status == 404:
            return None
        if status != 200:
            raise error_from("GET", path, status, data, retryable=False)
        return data


def _path_id(value):
    """An id PayPal gave us, safe to put in a URL path (PayPal ids are [A-Z0-9-])."""
    value = str(value or "")
    if not value or not all(ch.isalnum() or ch in "-_" for ch in value):
        raise PayPalAPIError(f"Not a PayPal id: {value[:40]!r}.", retryable=False)
    return value


def _json_or_empty(response):
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def first_issue(data):
    details = data.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return str(details[0].get("issue") or "")
    return ""


def error_from(method, path, status, data, *, retryable):
    name = str(data.get("name") or data.get("error") or "")
    issue = first_issue(data)
    debug_id = str(data.get("debug_id") or "")
    words = " ".join(part for part in (name, issue) if part) or f"HTTP {status}"
    message = f"PayPal answered {method} {path}: {words}"
    if debug_id:
        message += f" (debug id {debug_id})"
    return PayPalAPIError(
        message + ".", status=status, name=name, issue=issue, debug_id=debug_id, retryable=retryable
    )

"""A provider whose status checks go over HTTP (like the real ones), for the fault tests: the
test provider's notifications, and a status API at ``endpoint("api")`` that a test fakes on
loopback (pytest-httpserver), so the real httpx client with its real timeouts runs."""

import httpx

from wagtail_guestpay.providers.exceptions import ProviderError
from wagtail_guestpay.testprovider.provider import TestProvider


class HttpStatusProvider(TestProvider):
    __test__ = False
    kind = "httpstatus"

    def fetch_status(self, payment):
        url = f"{self.endpoint('api', 'https://status.invalid')}/charges/{payment.reference}"
        try:
            with self.http_client() as client:
                response = client.get(url)
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"status API: {type(exc).__name__}") from exc
        return self._event(f"{data['id']}:{data['status']}", "status", data)


class RawTimeoutProvider(HttpStatusProvider):
    """The same without wrapping the client's errors: a careless provider module."""

    kind = "rawtimeout"

    def fetch_status(self, payment):
        url = f"{self.endpoint('api', 'https://status.invalid')}/charges/{payment.reference}"
        with self.http_client() as client:
            data = client.get(url).raise_for_status().json()
        return self._event(f"{data['id']}:{data['status']}", "status", data)

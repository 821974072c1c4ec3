"""PayPal: Orders v2 (intent CAPTURE) and webhooks, over PayPal's REST API with plain HTTP.

Why not PayPal's official Python server SDK (``paypal-server-sdk``, 2.4.0 when checked): it does
not serve cleanly here.

* It has no webhook support at all: neither ``/v1/notifications/verify-webhook-signature`` nor
  the offline check (its controllers are orders, payments, vault, subscriptions and transaction
  search), so half of the protocol would be plain HTTP anyway.
* Its base URLs are fixed per environment (``Configuration.environments``, a class attribute),
  so it cannot be pointed at ``Provider.endpoint()`` (a proxy, or the fake PayPal of the tests)
  without patching the class for every account at once.
* It brings requests, apimatic-core, two adapter packages and python-dotenv, bypasses
  ``Provider.http_client()`` (our timeouts), keeps the OAuth token in the client object only,
  and swallows a failed token request (``_get_token_from_provider`` returns the old token on
  ``ApiException``), which hides bad credentials from the "check credentials" action.

The older ``paypalrestsdk`` and ``paypal-checkout-serversdk`` are deprecated. The four calls we
make (token, create order, capture, show order) plus the two webhook ones are small; see
:mod:`.api`, :mod:`.events`, :mod:`.webhooks` and :mod:`.provider`.
"""

from .provider import PayPalProvider

__all__ = ["PayPalProvider"]

"""The local test provider: a payment system hosted on this very site, for demos and tests.

Off unless ``"wagtail_guestpay.testprovider"`` is in INSTALLED_APPS. It behaves like a real
provider: a hosted page where the buyer chooses an outcome, and signed server-to-server
notifications delivered over HTTP to the same callback endpoint the real providers use.
"""

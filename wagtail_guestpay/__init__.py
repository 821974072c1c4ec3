"""wagtail-guestpay: pay first, log in afterwards."""

__version__ = "0.1.0"

"""Deprecated: moved to :mod:`wagtail_guestpay.fulfilment.access`; this path goes in the next
release."""

from .fulfilment import access
from .moved import alias

alias(__name__, access)

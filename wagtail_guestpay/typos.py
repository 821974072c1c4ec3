"""Deprecated: moved to :mod:`wagtail_guestpay.buyers.typos`; this path goes in the next
release."""

from .buyers import typos
from .moved import alias

alias(__name__, typos)

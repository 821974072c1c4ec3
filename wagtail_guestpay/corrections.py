"""Deprecated: moved to :mod:`wagtail_guestpay.buyers.corrections`; this path goes in the next
release."""

from .buyers import corrections
from .moved import alias

alias(__name__, corrections)

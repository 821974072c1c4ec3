"""Deprecated: moved to :mod:`wagtail_guestpay.staff.fixes`; this path goes in the next
release."""

from .staff import fixes
from .moved import alias

alias(__name__, fixes)

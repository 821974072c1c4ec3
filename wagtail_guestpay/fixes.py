"""Deprecated: moved to :mod:`wagtail_guestpay.staff.fixes`; this path goes in the next
release."""

from .moved import alias
from .staff import fixes

alias(__name__, fixes)

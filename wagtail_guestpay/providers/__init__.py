"""Payment providers: one translator module per payment system.

A provider turns a Payment into a hosted checkout, and a provider's notification or status answer
into provider-neutral :class:`~wagtail_guestpay.providers.base.ProviderEvent` objects. It decides
nothing about accounts or access: that is :mod:`wagtail_guestpay.fulfilment.confirmation`'s job.
"""

from .base import Checkout, Credential, Notification, PaymentUrls, Provider, ProviderEvent
from .exceptions import InvalidSignature, MalformedNotification, ProviderError
from .registry import get_provider_class, register_provider

__all__ = [
    "Checkout",
    "Credential",
    "InvalidSignature",
    "MalformedNotification",
    "Notification",
    "PaymentUrls",
    "Provider",
    "ProviderError",
    "ProviderEvent",
    "get_provider_class",
    "register_provider",
]

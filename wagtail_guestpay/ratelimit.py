"""Fixed-window request budgets kept in a Django cache (shared between processes when the cache
is, e.g. Redis or the database cache)."""

import hashlib

from django.core.cache import caches

from .conf import guestpay_settings


def client_ip(request):
    header = guestpay_settings.CLIENT_IP_HEADER
    if header and request.META.get(header):
        # The right-most address is the one the trusted proxy saw.
        return request.META[header].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def allow(scope, key, budget=None):
    """Count one request of ``scope`` for ``key``; False once the budget is spent."""
    limit, window = budget or guestpay_settings.RATE_LIMIT
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"guestpay:rl:{scope}:{digest}"
    cache = caches[guestpay_settings.CACHE]
    cache.add(cache_key, 0, timeout=window)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window)
        count = 1
    return count <= limit


def allow_request(request, scope, *extra_keys, budget=None):
    """Count the request against its client IP and each extra key (e.g. an e-mail address)."""
    keys = [client_ip(request), *[key for key in extra_keys if key]]
    # A list, not a generator: every key is counted, even after one is over its budget.
    return all([allow(scope, key, budget) for key in keys])  # noqa: C419


def configured_budget(setting, name):
    """The (requests, seconds) budget ``name`` of the dict setting ``setting`` (e.g.
    ``CLAIM_RATE_LIMITS``); a key the site left out keeps its default."""
    from .conf import DEFAULTS

    configured = getattr(guestpay_settings, setting) or {}
    return configured.get(name) or DEFAULTS[setting][name]

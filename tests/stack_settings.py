"""Settings of the processes a :class:`tests.stack.Stack` runs: the sandbox's (DATABASE_URL and
REDIS_URL pick the database and the broker), with short task timeouts so that a killed worker's
task comes back within seconds, and an adapter that can pause a worker mid-transaction."""

import os

from sandbox.settings import *  # noqa: F403

Q_CLUSTER = {  # noqa: F405
    **Q_CLUSTER,  # noqa: F405
    "name": os.environ.get("GUESTPAY_Q_NAME", "guestpay"),  # its own queue on a shared Redis
    "timeout": int(os.environ.get("GUESTPAY_Q_TIMEOUT", "8")),
    "retry": int(os.environ.get("GUESTPAY_Q_RETRY", "10")),
    "log_level": "WARNING",
    "save_limit": 0 if os.environ.get("GUESTPAY_Q_SAVE") else -1,
}
WAGTAIL_GUESTPAY_EVENT_TASK_GRACE = int(os.environ.get("GUESTPAY_EVENT_TASK_GRACE", "3"))
WAGTAIL_GUESTPAY_ADAPTER = "tests.stack_adapter.PausingAdapter"
# Every buyer of the stack's tests and benchmarks clicks from 127.0.0.1: the budget of new orders
# per client and offer is set by GUESTPAY_PAY_BUDGET (per 10 minutes; the pay-link flood
# measurement sets the real default, 10).
WAGTAIL_GUESTPAY_PAY_RATE_LIMITS = {
    "client_offer": (int(os.environ.get("GUESTPAY_PAY_BUDGET", "1000000")), 600)
}
_SHARED_CACHE = os.environ.get("GUESTPAY_SHARED_CACHE", "")
if _SHARED_CACHE:
    # One cache for every process of the stack (the budget counters), as a multi-process site
    # needs (docs/deployment.md): "file", or a redis:// URL (the broker stays the stack's). Its
    # own key prefix even where the sandbox's settings use Redis already: with theirs, the
    # counters of the stacks that ran before (all clicking from 127.0.0.1) carried over, and the
    # flood on PostgreSQL + Redis measured 600 x 429 and no order.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _SHARED_CACHE,
            "KEY_PREFIX": os.environ.get("GUESTPAY_Q_NAME", "guestpay"),  # this stack's own
        }
        if _SHARED_CACHE.startswith("redis")
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),  # noqa: F405
        }
    }
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get("GUESTPAY_EMAIL_BACKEND", "tests.stack_adapter.FileEmailBackend")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wagtail_guestpay": {"handlers": ["console"], "level": "WARNING"},
        "django_q": {"handlers": ["console"], "level": "WARNING"},
    },
}

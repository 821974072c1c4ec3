"""Settings of the benchmark's server processes: the test stack's (tests/stack_settings.py,
DATABASE_URL/REDIS_URL pick database and broker) plus the floor view, with the production
defaults for task timeouts and the sweeper's grace period."""

import os

os.environ.setdefault("GUESTPAY_Q_TIMEOUT", "60")
os.environ.setdefault("GUESTPAY_Q_RETRY", "120")
os.environ.setdefault("GUESTPAY_EVENT_TASK_GRACE", "120")

from tests.stack_settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
BENCH_FLOOR_SECRET = os.environ.get("BENCH_FLOOR_SECRET", "")
# A loopback benchmark of the test provider: plain http and the test provider are the point.
SILENCED_SYSTEM_CHECKS = ["wagtail_guestpay.E004", "wagtail_guestpay.W005"]

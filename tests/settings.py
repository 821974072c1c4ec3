"""Test settings: the sandbox's, with an in-memory database, tasks run inline and e-mail kept in
memory.

Under ``python -m tests.servers`` (``make test`` runs the suite a second time that way),
DATABASE_URL points at a throw-away PostgreSQL on loopback: the same tests then run on it, and
REDIS_URL lets the multi-process tests run django-q2's Redis broker.
"""

import os
import tempfile

from cryptography.fernet import Fernet

os.environ.setdefault("GUESTPAY_VAR_DIR", tempfile.mkdtemp(prefix="guestpay-test-var-"))

from sandbox.settings import *  # noqa: E402,F403

if os.environ.get("DATABASE_URL"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_CLUSTER = {
    **{k: v for k, v in Q_CLUSTER.items() if k != "redis"},  # noqa: F405
    "orm": "default",
    "sync": True,
    "log_level": "WARNING",
}
# docs/how-to/write-a-payment-system.md's example provider, registered as a host site would:
# tests/providers/test_acmepay.py runs the provider contract on it.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.acmepay"]  # noqa: F405
WAGTAIL_GUESTPAY_BASE_URL = "http://testserver"
WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
LOGGING = {"version": 1, "disable_existing_loggers": False}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

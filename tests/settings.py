"""Test settings: the sandbox's, with an in-memory database, tasks run inline and e-mail kept in
memory."""

import os
import tempfile

from cryptography.fernet import Fernet

os.environ.setdefault("GUESTPAY_VAR_DIR", tempfile.mkdtemp(prefix="guestpay-test-var-"))

from sandbox.settings import *  # noqa: E402,F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
Q_CLUSTER = {**Q_CLUSTER, "sync": True, "log_level": "WARNING"}  # noqa: F405
WAGTAIL_GUESTPAY_BASE_URL = "http://testserver"
WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
LOGGING = {"version": 1, "disable_existing_loggers": False}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

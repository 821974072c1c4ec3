"""Settings of the sandbox site: a real Wagtail site with wagtail_guestpay installed.

Everything a site needs for wagtail_guestpay is marked "guestpay:". Environment variables:
GUESTPAY_VAR_DIR (database, mail and media; default sandbox/var), GUESTPAY_BASE_URL,
GUESTPAY_DEBUG (default on), GUESTPAY_SECRET_KEY, GUESTPAY_ENCRYPTION_KEY, GUESTPAY_SQLITE_ENGINE
(default ``wagtail_guestpay.sqlite``; ``django.db.backends.sqlite3`` to compare).

Multi-node mode (docs/deployment.md): DATABASE_URL (e.g. ``postgres://user@host:5432/name``)
switches the database from the SQLite file to it; REDIS_URL (``redis://host:6379/0``) switches
django-q2 from its ORM broker to Redis and the cache (rate limits) to Redis, shared by every web
and worker process. GUESTPAY_Q_WORKERS sets the worker processes per ``qcluster``. Without them:
SQLite and the ORM broker, nothing else to run.
"""

import os
from pathlib import Path

SANDBOX_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GUESTPAY_VAR_DIR", SANDBOX_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("GUESTPAY_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("GUESTPAY_SECRET_KEY", "sandbox-only-secret-key-not-for-production")
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "home",
    "wagtail_guestpay",  # guestpay
    "wagtail_guestpay.testprovider",  # guestpay: the offline test provider (never in production)
    "wagtail_modeladmin",  # guestpay
    "django_q",  # guestpay: background tasks
    "wagtail.contrib.settings",  # guestpay: merchant contacts and registration fields
    "wagtail.contrib.forms",
    "wagtail.contrib.simple_translation",  # "Translate" in the admin: copies a page or an offer
    "wagtail.locales",  # the admin's Settings > Locales
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "sandbox.urls"
WSGI_APPLICATION = "sandbox.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SANDBOX_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ]
        },
    }
]

# SQLite with a web process and a worker writing at once: WAL, a busy timeout and IMMEDIATE
# transactions, or it answers "database is locked" under load.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}


def _database():
    """The SQLite file by default; DATABASE_URL (PostgreSQL) in multi-node mode."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        # Persistent connections: opening one (and running the PRAGMAs) costs more than a
        # notification's insert; django-q2's ORM broker also closes expired ones per enqueue.
        return {
            # guestpay: Django's SQLite backend, waiting for the write lock in steps of a few ms
            # (wagtail_guestpay/sqlite/base.py) rather than SQLite's 100 ms sleeps.
            "ENGINE": os.environ.get("GUESTPAY_SQLITE_ENGINE", "wagtail_guestpay.sqlite"),
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": dict(SQLITE_OPTIONS),
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
        }
    import dj_database_url

    config = dj_database_url.parse(
        url,
        conn_max_age=int(os.environ.get("GUESTPAY_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {**SQLITE_OPTIONS, **config.get("OPTIONS", {})}
    return config


DATABASES = {"default": _database()}
REDIS_URL = os.environ.get("REDIS_URL", "")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("uk", "Українська")]
LOCALE_PATHS = [SANDBOX_DIR / "locale"]  # the sandbox's own pages (wagtail_guestpay has its own)
# Content in every language (docs/how-to/translations.md): pages and offers are translated with
# Wagtail; the visitor's language (the header's switcher) chooses which translation is shown.
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGIN_URL = "wagtail_guestpay:login"
LOGIN_REDIRECT_URL = "wagtail_guestpay:account"

# E-mails go to files under sandbox/var/mail/ (one .eml per message) and to the console.
EMAIL_BACKEND = "home.mail.FileAndConsoleBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = "Guestpay Sandbox <shop@localhost>"
MANAGERS = [("Sandbox staff", "staff@localhost")]

# The site's public address: GUESTPAY_BASE_URL, else the one the running demo serves on
# (`make demo PORT=8001`: rundemo writes it under VAR_DIR, so that manage.py commands run from
# another terminal, guestpay_simulate among them, build URLs the demo answers), else port 8000.
_RUNNING_DEMO = VAR_DIR / "base-url.txt"
BASE_URL = os.environ.get("GUESTPAY_BASE_URL") or (
    _RUNNING_DEMO.read_text().strip() if _RUNNING_DEMO.exists() else "http://127.0.0.1:8000"
)

WAGTAIL_SITE_NAME = "Guestpay Sandbox"
WAGTAILADMIN_BASE_URL = BASE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# guestpay: background tasks on django-q2's ORM broker (no extra server), or on Redis with
# REDIS_URL. ``retry`` must exceed ``timeout``: a task whose worker died is delivered again after
# ``retry`` seconds (ORM broker; the Redis broker has no redelivery, the maintenance sweeper
# picks such events up instead).
Q_CLUSTER = {
    "name": "guestpay",
    "workers": int(os.environ.get("GUESTPAY_Q_WORKERS", "2")),
    "timeout": 60,
    "retry": 120,
    "poll": 0.2,
    "catch_up": False,
    "ack_failures": True,
    "max_attempts": 3,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # Rate limits must be counted in one place for every web process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "guestpay-sandbox",
        }
    }
else:
    Q_CLUSTER["orm"] = "default"

# guestpay settings (docs/reference/settings.md)
WAGTAIL_GUESTPAY_PRODUCT_MODELS = ["home.CoursePage"]
# The header has "My purchases" / "Log out" already: the package's pages need not repeat them.
WAGTAIL_GUESTPAY_ACCOUNT_LINKS = False
WAGTAIL_GUESTPAY_BASE_URL = BASE_URL
WAGTAIL_GUESTPAY_PLACEHOLDER_EMAIL_DOMAIN = "placeholder.guestpay.invalid"
# The demo keeps the package's pay-link budget (10 new orders per client and offer per 10 min);
# the browser tests, every buyer of which clicks from 127.0.0.1, raise it through the environment.
if os.environ.get("GUESTPAY_PAY_BUDGET"):
    WAGTAIL_GUESTPAY_PAY_RATE_LIMITS = {
        "client_offer": (int(os.environ["GUESTPAY_PAY_BUDGET"]), 600)
    }


def _encryption_key():
    """From the environment, or a key made once for this sandbox under VAR_DIR."""
    if os.environ.get("GUESTPAY_ENCRYPTION_KEY"):
        return os.environ["GUESTPAY_ENCRYPTION_KEY"]
    key_file = VAR_DIR / "encryption.key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.write_bytes(Fernet.generate_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


WAGTAIL_GUESTPAY_ENCRYPTION_KEYS = [_encryption_key()]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "wagtail_guestpay": {"handlers": ["console"], "level": "INFO"},
        "django_q": {"handlers": ["console"], "level": "WARNING"},
    },
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "wagtail_guestpay.auth.EmailBackend",  # guestpay: buyers log in with their e-mail
]

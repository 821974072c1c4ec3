"""Settings of wagtail_guestpay, with their defaults in one place.

Every setting is read when it is used (``guestpay_settings.NAME``), never at import time, so
``override_settings`` in tests and late configuration in host sites both work. A host site sets
``WAGTAIL_GUESTPAY_<NAME>`` in its Django settings; docs/reference/settings.md lists them all.
"""

from datetime import timedelta

from django.conf import settings

PREFIX = "WAGTAIL_GUESTPAY_"

DEFAULTS = {
    # Page models (``"app_label.ModelName"``) that an offer may grant access to.
    "PRODUCT_MODELS": [],
    # Absolute base URL of the public site (``https://example.com``), used for provider callbacks
    # and links in e-mails built outside a request. Falls back to the order's Wagtail Site.
    "BASE_URL": "",
    # Domain of the placeholder address given to a buyer whose provider returned no e-mail.
    # ``.invalid`` is reserved (RFC 2606): nothing can ever be delivered there.
    "PLACEHOLDER_EMAIL_DOMAIN": "guestpay.invalid",
    # Fernet keys (urlsafe base64, 32 bytes) that encrypt provider credentials at rest. The first
    # one encrypts; all of them decrypt, so keys can be rotated.
    "ENCRYPTION_KEYS": [],
    # A payment system's secret may be read from an environment variable the account names (in
    # the admin); only names starting with this prefix may be named, so that an editor cannot
    # point a credential at the server's other variables (DATABASE_URL...). "" allows any name.
    # Whatever the name, a variable holding SECRET_KEY or an encryption key is never read.
    "CREDENTIAL_ENV_PREFIX": "GUESTPAY_",
    # Dotted path of the adapter class (see wagtail_guestpay.adapter.GuestPayAdapter).
    "ADAPTER": "wagtail_guestpay.adapter.GuestPayAdapter",
    # Prefix of the payment references sent to providers; make it unique per site when several
    # sites share one merchant account.
    "REFERENCE_PREFIX": "GP",
    # How long a payment is re-checked with its provider before it is expired.
    "CONFIRMATION_WINDOW": timedelta(days=5),
    # Back-off of the status checks of unconfirmed payments: first delay, factor, longest delay.
    "POLL_FIRST_DELAY": timedelta(minutes=2),
    "POLL_BACKOFF_FACTOR": 2,
    "POLL_MAX_DELAY": timedelta(hours=6),
    # A stored event is left to its queued task for this long before the maintenance sweeper
    # processes it itself (the task was lost: a worker killed, the Redis broker restarted...).
    "EVENT_TASK_GRACE": timedelta(minutes=2),
    # Stored events are the queue: a notification's request wakes a "drain" task that takes every
    # waiting event in turn. A web process queues at most one drain per this many seconds (the
    # drain it queued keeps looking for events until then); 0 queues one per notification.
    "DRAIN_COALESCE": 0.25,
    # Seconds a web process keeps a payment system (and its decrypted credentials) in memory for
    # its notifications. A save in the admin forgets it at once in that process; the other
    # processes re-read it when a notification fails to verify with what they hold, else after
    # this many seconds. 0 reads it on every notification.
    "ACCOUNT_CACHE_SECONDS": 60,
    # A notification that failed to process is retried with the same back-off, this many times.
    "EVENT_MAX_ATTEMPTS": 12,
    # An e-mail that failed to send is retried, this many times.
    "EMAIL_MAX_ATTEMPTS": 10,
    # Lifetime of the single-use link in the access e-mail of a new account.
    "ACCESS_LINK_MAX_AGE": timedelta(days=7),
    # Lifetime of the receipt link in the access e-mail (read only, no sign-in; the signed-in
    # owner finds the receipt in the personal area at any time).
    "RECEIPT_LINK_MAX_AGE": timedelta(days=30),
    # Lifetime of the session that follows a consumed access link, until the password is set.
    "ACCOUNT_SETUP_MAX_AGE": timedelta(hours=1),
    # Largest notification body accepted, in bytes; a larger one is answered 413.
    "MAX_NOTIFICATION_BYTES": 256 * 1024,
    # Keep notifications whose signature did not verify, so staff can see forged or misconfigured
    # deliveries. They never change an order. What is kept is bounded: the first bytes of the
    # body (with the SHA-256 and size of the whole), at most so many rows per provider account
    # and per client per hour, (requests, seconds); the rest is only counted on the account
    # (``rejected_dropped``). The maintenance task deletes them after the retention period.
    "STORE_REJECTED_NOTIFICATIONS": True,
    "REJECTED_NOTIFICATION_BODY_BYTES": 2048,
    "REJECTED_NOTIFICATION_LIMITS": {"account": (100, 3600), "client": (20, 3600)},
    "REJECTED_NOTIFICATION_RETENTION": timedelta(days=30),
    # Raw notification bodies and headers (what the payment system sent, with the buyer's
    # e-mail, name and address) are kept this long after they arrive; then the maintenance task
    # replaces them (the event row stays, with the body's size and SHA-256, and its facts without
    # the buyer's e-mail and name). None keeps them for ever. Rejected notifications are deleted
    # after REJECTED_NOTIFICATION_RETENTION, or purged at this age when that comes first.
    "NOTIFICATION_BODY_RETENTION": timedelta(days=90),
    # Sender of the buyer e-mails; DEFAULT_FROM_EMAIL when empty.
    "FROM_EMAIL": "",
    # Addresses told about refunds, chargebacks and orders that need staff; MANAGERS when None.
    "STAFF_EMAILS": None,
    # Seconds between two status checks triggered by a buyer's return page for one payment.
    "RETURN_PAGE_CHECK_INTERVAL": 10,
    # Request budget of the public endpoints that send e-mail or consume links, per client IP:
    # (requests, seconds).
    "RATE_LIMIT": (10, 600),
    # Pay links (the Pay button, "try again", the registration code that starts a payment): new
    # orders (or new attempts) per client and offer, (requests, seconds); past it the buyer gets
    # a 429 page. The client is the logged-in account, else the IP address (see CLIENT_IP_HEADER;
    # buyers behind one shared NAT share the budget). Keys left out keep their default.
    "PAY_RATE_LIMITS": {"client_offer": (10, 600)},
    # Coupon codes tried (in a pay link, an offer page's field or a registration), per client IP:
    # (requests, seconds). Past it every code is refused ("too many codes tried"), so codes
    # cannot be guessed by trying many.
    "COUPON_RATE_LIMITS": {"client": (30, 600)},
    # The same browser clicking Pay again for the same offer within this window is sent back to
    # its open order and payment (and to the payment system's page while it still works) instead
    # of starting new ones. The browser is known by a signed cookie.
    "PAY_REUSE_WINDOW": timedelta(minutes=15),
    # Lifetime asked of the payment system's hosted page, where the provider takes one (Stripe:
    # 30 minutes at least, Fondy, WayForPay; PayPal's approval link lasts 3 hours). A payment
    # the buyer never started is checked once when its page has stopped working and expired
    # then, instead of being polled for the whole confirmation window.
    "CHECKOUT_LIFETIME": timedelta(hours=1),
    # Paid payments of providers whose refund and reversal notifications can be lost (PayPal) are
    # re-checked this often, for this long after the payment, as a backstop.
    "REFUND_CHECK_INTERVAL": timedelta(hours=12),
    "REFUND_CHECK_WINDOW": timedelta(days=10),
    # Django cache alias used for rate limits.
    "CACHE": "default",
    # Override of providers' API base URLs, e.g. {"stripe": {"api": "http://127.0.0.1:9000"}}:
    # tests point providers at fake APIs on loopback; sites may route through a proxy.
    "PROVIDER_URLS": {},
    # Timeouts of calls to providers' APIs, in seconds: (connect, read).
    "PROVIDER_TIMEOUT": (5, 20),
    # A payment still pending (or approved, not captured) this long after the buyer went to the
    # payment system is listed in the admin dashboard's "Needs attention" panel.
    "ATTENTION_PENDING_AFTER": timedelta(hours=1),
    # The panel's "Paid orders without access" looks at the orders paid this recently (an
    # indexed range, whatever the number of orders); older ones: Transactions, filtered.
    "ATTENTION_NO_ACCESS_WITHIN": timedelta(days=7),
    # Staff listings at scale (docs/deployment.md). Rows counted at most: above, the listing says
    # "more than ..." and pages stop there (narrow with filters or search).
    "ADMIN_COUNT_LIMIT": 10_000,
    # Staff search: rows each kind of match contributes at most, and, on databases without
    # trigram indexes (SQLite), how far back partial text is searched anywhere in a text.
    "ADMIN_SEARCH_LIMIT": 1_000,
    "ADMIN_SEARCH_RECENT": timedelta(days=30),
    # Exports: up to this many rows, the CSV/XLSX is made in the request (CSV streamed); above
    # it, a background task writes it to storage under ADMIN_EXPORT_DIR and e-mails the staff
    # member a link, valid for ADMIN_EXPORT_MAX_AGE, that needs the view permission.
    "ADMIN_EXPORT_THRESHOLD": 10_000,
    "ADMIN_EXPORT_DIR": "guestpay-exports",
    "ADMIN_EXPORT_MAX_AGE": timedelta(days=2),
    # PayPal webhooks: seconds a signature-verified PAYPAL-TRANSMISSION-TIME may lie in the past.
    # PayPal retries a delivery up to 25 times over 3 days and does not document a fresh time per
    # retry, so the default covers the whole retry period (a replay changes nothing: event ids
    # dedupe, transitions guard). None: no limit. A time more than 10 minutes in the future is
    # always refused.
    "PAYPAL_WEBHOOK_TOLERANCE": 4 * 24 * 3600,
    # PayPal webhooks verified offline: PEM file of the roots PayPal's certificate must chain to.
    # When empty: certifi's bundle plus the DigiCert roots PayPal's SDK trusts, shipped in
    # wagtail_guestpay/providers/paypal/trust_roots.pem. System check E012 refuses a file that
    # cannot build the chain of PayPal's SDK example certificate.
    "PAYPAL_CERT_TRUST_ROOTS": "",
    # Header that carries the client IP behind a trusted proxy (e.g. "HTTP_X_FORWARDED_FOR");
    # REMOTE_ADDR when empty.
    "CLIENT_IP_HEADER": "",
    # Buyer claims (docs/how-to/buyer-claims.md). Lifetime of the one-time code e-mailed to the
    # address a buyer gives on the success page, and how many wrong codes it takes.
    "CLAIM_CODE_MAX_AGE": timedelta(minutes=15),
    "CLAIM_CODE_MAX_ATTEMPTS": 5,
    # How long after the payment a buyer may correct a mistyped e-mail (while the account that
    # received the access has never been used).
    "EMAIL_CORRECTION_WINDOW": timedelta(hours=24),
    # Budgets (requests, seconds) of the claim endpoints: codes sent per order, per address and
    # per client IP, and codes typed per client IP. Keys left out keep their default.
    "CLAIM_RATE_LIMITS": {
        "send_order": (5, 3600),
        "send_email": (5, 3600),
        "send_client": (10, 3600),
        "verify_client": (30, 600),
    },
    # Registration before payment (offers without guest payment): lifetime of the code e-mailed to
    # the address (each new code starts it again), wrong codes a registration takes, and how many
    # codes (the first one included) one registration may e-mail.
    "REGISTRATION_CODE_MAX_AGE": timedelta(minutes=15),
    "REGISTRATION_CODE_MAX_ATTEMPTS": 5,
    "REGISTRATION_MAX_CODES": 3,
    # Budgets (requests, seconds) of the registration endpoints: registrations per address (the
    # form's budget per client is RATE_LIMIT), codes typed per client and per registration, new
    # codes asked for per client. Keys left out keep their default.
    "REGISTRATION_RATE_LIMITS": {
        "register_email": (5, 3600),
        "verify_client": (30, 600),
        "verify_registration": (10, 600),
        "resend_client": (10, 3600),
    },
    # Buyers' accounts (docs/how-to/buyer-accounts.md). Where the package sends people to sign in
    # and to reset a password: a URL name or a path. The package's own pages by default; a site
    # with its own login (django-allauth...) points these at it.
    "LOGIN_URL": "wagtail_guestpay:login",
    "PASSWORD_RESET_URL": "wagtail_guestpay:password_reset",
    # The template every buyer-facing page extends; "" for the site's "base.html" where it exists,
    # else the package's plain "wagtail_guestpay/layout/plain.html". Its "content" block is used.
    "BASE_TEMPLATE": "",
    # Show "My purchases" / "Log out" (or "Sign in") at the top of the package's pages; False
    # when the site's header has them already.
    "ACCOUNT_LINKS": True,
    # Passwordless sign-in: lifetime of the e-mailed code and link, wrong codes a code takes,
    # whether staff accounts (is_staff) are refused (they sign in with their password).
    "SIGNIN_CODE_MAX_AGE": timedelta(minutes=15),
    "SIGNIN_CODE_MAX_ATTEMPTS": 5,
    "SIGNIN_EXCLUDE_STAFF": True,
    # Budgets (requests, seconds) of sign-in codes, password resets and e-mail changes: codes
    # asked for per address and per client, codes typed per address and per client, password
    # sign-ins per client and per address. Keys left out keep their default.
    "SIGNIN_RATE_LIMITS": {
        "send_email": (5, 3600),
        "send_client": (20, 3600),
        "verify_email": (10, 600),
        "verify_client": (30, 600),
        "password_client": (30, 600),
        "password_email": (10, 600),
    },
    # Common mail domains that typed addresses are checked against ("gmial.com" -> "gmail.com");
    # None for the built-in list (wagtail_guestpay.buyers.typos.COMMON_DOMAINS).
    "EMAIL_TYPO_DOMAINS": None,
}


class GuestPaySettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown wagtail_guestpay setting: {name}")
        return getattr(settings, PREFIX + name, DEFAULTS[name])

    def as_timedelta(self, name):
        value = getattr(self, name)
        if isinstance(value, timedelta):
            return value
        return timedelta(seconds=value)


guestpay_settings = GuestPaySettings()

"""The provider seam: what every payment system module implements.

A provider is built for one :class:`~wagtail_guestpay.models.ProviderAccount` and translates both
ways: a Payment into a hosted checkout (:meth:`Provider.start_payment`), and whatever the provider
says about a payment (a notification, a status answer, a buyer's return) into
:class:`ProviderEvent` objects. Provider modules decide nothing about accounts or access.
"""

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.http import HttpResponse, QueryDict

from .exceptions import MalformedNotification

# Genuine notifications nest a few levels (PayPal's, the deepest, eight). Deeper JSON is refused
# at this fixed bound, not wherever the running Python's parser gives up (about 1,000 levels on
# Python 3.11, about 10,000 on 3.13): the answer is the same on every Python, and nothing read
# after the parser (masking for display, signatures, the database) meets nesting it cannot follow.
MAX_JSON_DEPTH = 64


def load_json(text, **kwargs):
    """``json.loads(text, **kwargs)``; JSON nested deeper than :data:`MAX_JSON_DEPTH` raises
    ValueError, like any other text that is not JSON."""
    try:
        data = json.loads(text, **kwargs)
    except RecursionError as exc:
        raise ValueError("The JSON is nested too deeply.") from exc
    pending = [(data, 1)]  # walked without recursion: the depth is not known yet
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError("The JSON is nested too deeply.")
        pending.extend((child, depth + 1) for child in value)
    return data


class EventStatus(StrEnum):
    """What a provider event says about a payment, in provider-neutral terms."""

    CREATED = "created"  # the provider knows the payment; the buyer has not paid yet
    PENDING = "pending"  # paid or being paid, not confirmed yet: never grant on this
    APPROVED = "approved"  # the buyer approved; the merchant must capture (PayPal)
    PAID = "paid"  # the money is taken: grant access
    FAILED = "failed"  # declined or failed
    EXPIRED = "expired"  # the provider gave up waiting for the buyer
    CANCELLED = "cancelled"  # the buyer or the provider cancelled before payment
    REFUNDED = "refunded"  # fully refunded
    PARTIALLY_REFUNDED = "partially_refunded"
    REVERSED = "reversed"  # chargeback or reversal


@dataclass(frozen=True)
class ProviderEvent:
    """One fact a provider told us about one payment.

    ``event_id`` must be stable across redeliveries of the same fact and unique per provider
    account: it is the unit of idempotency (``PaymentEvent`` is unique on it). ``reference`` is our
    ``Payment.reference`` as the provider echoes it; ``provider_reference`` is the provider's own id
    of the payment, used when the reference is absent.
    """

    event_id: str
    status: EventStatus
    reference: str = ""
    provider_reference: str = ""
    amount: Decimal | None = None
    currency: str = ""
    email: str = ""
    payer_name: str = ""
    event_type: str = ""
    occurred_at: datetime | None = None
    detail: str = ""
    refunded_amount: Decimal | None = None
    # Other ids of the same payment at the provider (intent, charge, capture...): recorded, and
    # used to find the payment when an event carries neither reference.
    related_references: tuple = ()

    def all_provider_references(self):
        return [ref for ref in (self.provider_reference, *self.related_references) if ref]

    def to_dict(self):
        # by hand, not dataclasses.asdict (a deep copy): the fields are flat (measured: a tenth
        # of the stored notification's time)
        data = {name: getattr(self, name) for name in _EVENT_FIELDS}
        data["related_references"] = list(self.related_references)
        data["status"] = str(self.status)
        for name in ("amount", "refunded_amount"):
            if data[name] is not None:
                data[name] = str(data[name])
        if self.occurred_at is not None:
            data["occurred_at"] = self.occurred_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["status"] = EventStatus(values["status"])
        for name in ("amount", "refunded_amount"):
            if values.get(name) is not None:
                values[name] = Decimal(values[name])
        if values.get("occurred_at"):
            values["occurred_at"] = datetime.fromisoformat(values["occurred_at"])
        values["related_references"] = tuple(values.get("related_references") or ())
        return cls(**values)


_EVENT_FIELDS = tuple(f.name for f in fields(ProviderEvent))


@dataclass(frozen=True)
class Notification:
    """A provider's server-to-server request, as received: raw bytes and headers.

    Providers verify signatures on ``body`` exactly as received; the helpers below parse it only
    after that.
    """

    body: bytes
    headers: dict
    content_type: str = ""
    query: dict = field(default_factory=dict)
    remote_addr: str = ""

    def header(self, name, default=""):
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    def text(self):
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNotification("The notification body is not UTF-8.") from exc

    def json(self, **kwargs):
        """The body's JSON object. Refused as malformed: anything else, JSON nested deeper than
        :data:`MAX_JSON_DEPTH`, and strings holding lone surrogates (``"\\ud800"`` is valid JSON
        grammar but no UTF-8 text: signatures and database rows would fail on it)."""
        try:
            data = load_json(self.text(), **kwargs)
            json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        except ValueError as exc:  # (UnicodeEncodeError is a ValueError)
            raise MalformedNotification("The notification body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise MalformedNotification("The notification body is not a JSON object.")
        return data

    def form(self):
        return QueryDict(self.text(), encoding="utf-8")


@dataclass(frozen=True)
class PaymentUrls:
    """Absolute URLs a provider needs for one payment."""

    return_url: str  # the buyer's browser, after paying
    cancel_url: str  # the buyer's browser, after cancelling or failing
    notify_url: str  # the provider's server-to-server notifications


@dataclass
class Checkout:
    """How to send the buyer to the provider: a redirect, or an auto-submitted POST form."""

    redirect_url: str = ""
    form_action: str = ""
    form_fields: list = field(default_factory=list)  # [(name, value), ...] in order
    provider_reference: str = ""
    related_references: tuple = ()
    provider_data: dict = field(default_factory=dict)  # kept on the Payment (no secrets)
    # When the hosted page stops taking the payment, where the provider says or sets it (see
    # :func:`checkout_lifetime`); None when unknown.
    expires_at: datetime | None = None


def checkout_lifetime(shortest=None, longest=None):
    """How long a hosted page should take the payment (``WAGTAIL_GUESTPAY_CHECKOUT_LIFETIME``),
    within the bounds a provider accepts (timedeltas)."""
    from ..conf import guestpay_settings

    lifetime = guestpay_settings.as_timedelta("CHECKOUT_LIFETIME")
    if shortest is not None:
        lifetime = max(lifetime, shortest)
    if longest is not None:
        lifetime = min(lifetime, longest)
    return lifetime


class RefundStatus(StrEnum):
    """What a provider answered to a refund request, in provider-neutral terms."""

    DONE = "done"  # the money is on its way back
    PENDING = "pending"  # accepted, to be completed later (a notification will say so)
    FAILED = "failed"  # refused: nothing was refunded


@dataclass(frozen=True)
class RefundAnswer:
    """The provider's answer to :meth:`Provider.refund`. ``refund_id`` is the provider's id of
    the refund (empty when it has none); ``detail`` says why a refund failed or waits."""

    status: RefundStatus
    refund_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Credential:
    """One field of a provider account's configuration, as shown in the CMS."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help_text: str = ""
    choices: tuple = ()
    default: str = ""


@dataclass(frozen=True)
class CredentialCheck:
    ok: bool
    message: str


class Provider:
    """Base class of payment providers. Subclasses set the class attributes and override the
    methods their protocol supports."""

    kind = ""
    verbose_name = ""
    supports_guest_payment = False
    credentials = ()  # Credential objects
    can_check_credentials = False
    can_refund = False  # implements refund()
    can_refund_partially = False  # refund() takes an amount below the payment's
    # True when refunds and reversals are told only by notifications that can be lost for good
    # (PayPal): paid payments are then re-checked with fetch_status for a while, as a backstop.
    recheck_paid_payments = False

    def __init__(self, account):
        self.account = account

    # Configuration ------------------------------------------------------------------------
    def secret(self, name):
        return self.account.get_secret(name)

    def option(self, name, default=""):
        return self.account.get_option(name, default)

    @property
    def is_live(self):
        return self.account.is_live

    def endpoint(self, name, default):
        """Base URL of one of the provider's APIs (``default`` unless
        ``WAGTAIL_GUESTPAY_PROVIDER_URLS[kind][name]`` overrides it)."""
        from ..conf import guestpay_settings

        return (guestpay_settings.PROVIDER_URLS.get(self.kind) or {}).get(name, default)

    def http_client(self, **kwargs):
        """An httpx client with the configured timeouts; the caller closes it (``with``)."""
        import httpx

        from ..conf import guestpay_settings

        connect, read = guestpay_settings.PROVIDER_TIMEOUT
        kwargs.setdefault("timeout", httpx.Timeout(read, connect=connect))
        kwargs.setdefault("headers", {"User-Agent": "wagtail-guestpay"})
        return httpx.Client(**kwargs)

    # Starting a payment -------------------------------------------------------------------
    def start_payment(self, payment, urls):
        """Create the hosted payment for ``payment`` and return a :class:`Checkout`.

        Raise :class:`~.exceptions.ProviderError` when the provider cannot be reached.
        """
        raise NotImplementedError

    # Notifications ------------------------------------------------------------------------
    def parse_notification(self, notification):
        """Verify ``notification`` (a :class:`Notification`) and return its ProviderEvents.

        Raise :class:`~.exceptions.InvalidSignature` when it does not verify and
        :class:`~.exceptions.MalformedNotification` when it cannot be understood. Return an empty
        list for a verified notification that says nothing about a payment (e.g. an event type
        this provider ignores).
        """
        raise NotImplementedError

    def acknowledge(self, notification, events):
        """The answer the provider expects once the notification is stored."""
        return HttpResponse("OK", content_type="text/plain")

    # Following a payment up ---------------------------------------------------------------
    def resolve_event(self, payment, event):
        """Complete ``event`` before it is applied (called by the worker, may call the API).

        PayPal captures an APPROVED order here and fetches the payer's e-mail that capture events
        lack. Return the event to apply (the same one by default).
        """
        return event

    def fetch_status(self, payment):
        """Ask the provider for the payment's current state; a ProviderEvent, or None if the
        provider knows nothing of it yet. Raise ProviderError when it cannot be reached."""
        return None

    def handle_return(self, payment, params):
        """Events to record from the buyer's return (query parameters); most providers: none,
        since the browser is not trusted and the status is fetched instead."""
        return []

    # Refunds -------------------------------------------------------------------------------
    def refund(self, payment, amount, *, key, note=""):
        """Ask the provider to refund ``amount`` (a Decimal in the payment's currency) of the paid
        ``payment``; a :class:`RefundAnswer`. ``key`` is stable for one refund request: sent as
        the provider's idempotency key where it has one, so a repeated call refunds once.

        Raise :class:`~.exceptions.ProviderError` when the provider cannot be reached or gives
        an answer that cannot be read (nothing is known to have been refunded then).
        """
        raise NotImplementedError

    def check_credentials(self):
        """Call the provider's cheapest authenticated endpoint; a CredentialCheck."""
        raise NotImplementedError

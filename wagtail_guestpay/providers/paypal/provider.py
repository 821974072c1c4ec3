"""The PayPal provider: Orders v2 with intent CAPTURE, captured on the buyer's return and on
``CHECKOUT.ORDER.APPROVED``, followed by webhooks."""

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..base import (
    Checkout,
    Credential,
    CredentialCheck,
    EventStatus,
    Provider,
    ProviderEvent,
    RefundAnswer,
    RefundStatus,
)
from ..exceptions import InvalidSignature, MalformedNotification, ProviderError
from . import events as paypal_events
from .api import PayPalAPI, PayPalAPIError
from .events import PayPalDataError, approve_link, order_event, webhook_events
from .webhooks import Transmission, verify_offline, verify_with_api

logger = logging.getLogger(__name__)

# PayPal takes no decimals for these (developer.paypal.com/api/rest/reference/currency-codes).
ZERO_DECIMAL_CURRENCIES = frozenset({"HUF", "JPY", "TWD"})
# Refund.status (Payments v2): CANCELLED, FAILED, PENDING, COMPLETED.
REFUND_STATUS = {
    "COMPLETED": RefundStatus.DONE,
    "PENDING": RefundStatus.PENDING,
    "CANCELLED": RefundStatus.FAILED,
    "FAILED": RefundStatus.FAILED,
}
APPROVAL_LIFETIME = timedelta(hours=3)
VERIFY_API = "api"
VERIFY_OFFLINE = "offline"


def paypal_amount(amount, currency):
    """The ``amount.value`` string PayPal expects: 2 decimals, none for HUF, JPY and TWD.

    An amount the currency cannot carry (10.50 HUF) is refused rather than rounded: the order
    would then never match what PayPal takes.
    """
    places = 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2
    value = Decimal(amount).quantize(Decimal(1).scaleb(-places))
    if value != Decimal(amount) or value <= 0:
        raise PayPalAPIError(
            f"PayPal cannot take {amount} {currency}: {currency} has {places} decimals.",
            retryable=False,
        )
    return f"{value:.{places}f}"


class PayPalProvider(Provider):
    kind = "paypal"
    verbose_name = _("PayPal")
    supports_guest_payment = True
    can_check_credentials = True
    can_refund = True
    can_refund_partially = True
    # A refund or reversal notification refused while the site was down for longer than
    # PayPal's retries is lost: paid payments are re-checked (GET order) for a while.
    recheck_paid_payments = True
    credentials = (
        Credential(
            "client_id",
            _("Client ID"),
            help_text=_(
                "PayPal Developer Dashboard > Apps & Credentials > your app > Client ID "
                "(sandbox or live, matching the mode)."
            ),
        ),
        Credential(
            "client_secret",
            _("Secret"),
            secret=True,
            help_text=_("The same app's secret key. Never shown again once saved."),
        ),
        Credential(
            "webhook_id",
            _("Webhook ID"),
            help_text=_(
                "The ID PayPal shows for the webhook you added to the app (not an event "
                "id). Notifications are verified against it."
            ),
        ),
        Credential(
            "verification",
            _("Webhook verification"),
            required=False,
            default=VERIFY_API,
            choices=(
                (VERIFY_API, _("Ask PayPal (verify-webhook-signature API)")),
                (VERIFY_OFFLINE, _("Offline (PayPal's certificate and the CRC32 signed string)")),
            ),
            help_text=_(
                "How notifications are verified. Offline needs no API call per notification."
            ),
        ),
    )

    @property
    def api(self):
        return PayPalAPI(self)

    @property
    def verification_mode(self):
        mode = self.option("verification", VERIFY_API) or VERIFY_API
        return mode if mode in (VERIFY_API, VERIFY_OFFLINE) else VERIFY_API

    @property
    def webhook_id(self):
        return str(self.option("webhook_id", "") or "").strip()

    # Starting a payment -------------------------------------------------------------------
    def order_request(self, payment, urls):
        title = str(payment.order.offer.title)
        return {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": payment.reference,
                    "custom_id": payment.reference,
                    # Unique per payment: shown to the buyer by PayPal, so support can find it.
                    "invoice_id": payment.reference,
                    "description": title[:127],
                    "amount": {
                        "currency_code": payment.currency.upper(),
                        "value": paypal_amount(payment.amount, payment.currency),
                    },
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                        "return_url": urls.return_url,
                        "cancel_url": urls.cancel_url,
                    }
                }
            },
        }

    def start_payment(self, payment, urls):
        order = self.api.create_order(
            self.order_request(payment, urls), request_id=f"guestpay-create-{payment.reference}"
        )
        order_id = order.get("id")
        redirect_url = approve_link(order)
        if not isinstance(order_id, str) or not order_id or not redirect_url:
            raise PayPalAPIError(
                "PayPal created no order or gave no approval link.", retryable=False
            )
        return Checkout(
            redirect_url=redirect_url,
            provider_reference=order_id,
            provider_data={"order_id": order_id, "order_status": str(order.get("status", ""))},
            # "The caller has 3 hours by default to redirect the payer" (Orders v2 links).
            expires_at=timezone.now() + APPROVAL_LIFETIME,
        )

    # Notifications ------------------------------------------------------------------------
    def parse_notification(self, notification):
        transmission = Transmission.from_notification(notification)
        transmission.check_time()
        data = notification.json()  # MalformedNotification before any call to PayPal
        webhook_id = self.webhook_id
        if not webhook_id:
            raise InvalidSignature(
                "No webhook ID is set for this PayPal account: the notification cannot be verified."
            )
        if self.verification_mode == VERIFY_OFFLINE:
            verify_offline(self, transmission, webhook_id, notification.body)
        else:
            verify_with_api(self.api, transmission, webhook_id, notification.text())
        try:
            return webhook_events(data)
        except PayPalDataError as exc:
            raise MalformedNotification(str(exc)) from exc

    # Following a payment up ---------------------------------------------------------------
    def _order_id(self, payment, event=None):
        return payment.provider_reference or (event.provider_reference if event else "")

    def resolve_event(self, payment, event):
        """Capture an approved order; fetch the payer's e-mail capture events lack; tell a full
        refund from a partial one."""
        if event.status == EventStatus.APPROVED:
            return self._capture(payment, event)
        if (
            event.status in (EventStatus.PAID, EventStatus.PENDING)
            and not event.email
            and event.event_type in paypal_events.CAPTURE_EVENTS
        ):
            return self._with_payer(payment, event)
        if event.status == EventStatus.REFUNDED and event.refunded_amount is not None:
            if event.refunded_amount < payment.amount:
                return replace(event, status=EventStatus.PARTIALLY_REFUNDED)
        return event

    def _capture(self, payment, event):
        if not payment.is_open:
            return event  # settled already (e.g. captured on the buyer's return)
        return self.capture(payment, self._order_id(payment, event)) or event

    def capture(self, payment, order_id):
        """Capture ``order_id`` and say what came of it: an event, or None when there is
        nothing to say yet (the buyer has not approved)."""
        try:
            order = self.api.capture_order(order_id)
        except PayPalAPIError as exc:
            if exc.issue != "INSTRUMENT_DECLINED":
                raise
            # The buyer's funding source was refused: this attempt failed; the buyer can pay
            # again (a new order) from the failure page.
            return ProviderEvent(
                event_id=f"{paypal_events.FROM_CAPTURE}:{order_id}:INSTRUMENT_DECLINED",
                status=EventStatus.FAILED,
                reference=payment.reference,
                provider_reference=order_id,
                event_type=paypal_events.FROM_CAPTURE,
                detail="INSTRUMENT_DECLINED",
            )
        if order is None:
            return None
        try:
            return order_event(
                order, event_type=paypal_events.FROM_CAPTURE, reference=payment.reference
            )
        except PayPalDataError as exc:
            raise PayPalAPIError(f"PayPal's capture answer is unusable: {exc}") from exc

    def _with_payer(self, payment, event):
        order_id = event.provider_reference or payment.provider_reference
        if not order_id:
            return event
        order = self.api.get_order(order_id)
        if order is None:
            return event
        return replace(
            event,
            email=paypal_events.payer_email(order),
            payer_name=event.payer_name or paypal_events.payer_name(order),
        )

    def fetch_status(self, payment):
        order_id = self._order_id(payment)
        if not order_id:
            return None
        order = self.api.get_order(order_id)
        if order is None:
            return None
        try:
            return order_event(
                order, event_type=paypal_events.FROM_STATUS, reference=payment.reference
            )
        except PayPalDataError as exc:
            raise PayPalAPIError(f"PayPal's order is unusable: {exc}") from exc

    def handle_return(self, payment, params):
        """PayPal sends the buyer back with ``?token=<order id>&PayerID=...``: capture now, on
        the server, so the buyer sees the result at once. The browser is trusted for nothing but
        the hint; the capture answer comes from PayPal."""
        from ...models import PaymentStatus

        if params.get("cancelled") == "1" or not payment.provider_reference:
            return []
        if params.get("token") != payment.provider_reference:
            return []
        if payment.status not in (PaymentStatus.CREATED, PaymentStatus.APPROVED):
            return []  # captured already (pending, paid...): the status checks follow it
        try:
            event = self.capture(payment, payment.provider_reference)
        except ProviderError as exc:
            logger.warning("Capture on return of %s failed: %s", payment.reference, exc)
            return []
        # Stored with source "return"; the same capture seen again (a reload, the approval
        # notification) has the same event id.
        return [] if event is None else [event]

    # Refunds -------------------------------------------------------------------------------
    def capture_id(self, payment):
        """The capture of ``payment``: an id its events named besides the order's, else the
        one in the order as PayPal has it now."""
        order_id = self._order_id(payment)
        known = (
            payment.references.exclude(value=order_id)
            .order_by("pk")
            .values_list("value", flat=True)
        )  # the capture came before any refund
        for value in known:
            return value
        order = self.api.get_order(order_id) if order_id else None
        unit = paypal_events.purchase_unit(order or {}, payment.reference)
        capture = paypal_events.capture_of(unit)
        if not capture or not capture.get("id"):
            raise PayPalAPIError("PayPal has no capture for this payment.", retryable=False)
        return str(capture["id"])

    def refund(self, payment, amount, *, key, note=""):
        body = {
            "amount": {
                "value": paypal_amount(amount, payment.currency),
                "currency_code": payment.currency,
            },
            "custom_id": payment.reference[:127],
        }
        data = self.api.refund_capture(self.capture_id(payment), body, request_id=key)
        refunded = paypal_events.money(data.get("amount"))
        detail = paypal_events.reason(data) or str(data.get("status") or "")
        return RefundAnswer(
            status=REFUND_STATUS.get(str(data.get("status") or ""), RefundStatus.PENDING),
            refund_id=str(data.get("id") or ""),
            amount=refunded[0] if refunded[0] is not None else amount,
            currency=refunded[1] or payment.currency,
            detail=detail[:255],
        )

    def check_credentials(self):
        api = self.api
        mode = gettext("live") if self.is_live else gettext("sandbox")
        try:
            with self.http_client() as client:
                api.access_token(client, fresh=True)
        except PayPalAPIError as exc:
            return CredentialCheck(
                False,
                gettext("PayPal (%(mode)s) did not accept the credentials: %(error)s")
                % {"mode": mode, "error": exc},
            )
        if not self.webhook_id:
            return CredentialCheck(
                False,
                gettext(
                    "PayPal (%(mode)s) accepted the client ID and secret, but no webhook ID is set: "
                    "notifications cannot be verified."
                )
                % {"mode": mode},
            )
        try:
            webhook = api.get_webhook(self.webhook_id)
        except PayPalAPIError as exc:
            return CredentialCheck(
                False,
                gettext(
                    "PayPal (%(mode)s) accepted the client ID and secret, but the webhook could not "
                    "be read: %(error)s"
                )
                % {"mode": mode, "error": exc},
            )
        if webhook is None:
            return CredentialCheck(
                False,
                gettext(
                    "PayPal (%(mode)s) accepted the client ID and secret, but knows no webhook "
                    "%(webhook)s for this app."
                )
                % {"mode": mode, "webhook": self.webhook_id},
            )
        names = {
            item.get("name") for item in webhook.get("event_types") or [] if isinstance(item, dict)
        }
        missing = (
            []
            if "*" in names
            else [name for name in paypal_events.SUBSCRIBED_EVENTS if name not in names]
        )
        if missing:
            return CredentialCheck(
                False,
                gettext(
                    "PayPal (%(mode)s) accepted the credentials; the webhook is not subscribed to: "
                    "%(events)s."
                )
                % {"mode": mode, "events": ", ".join(missing)},
            )
        return CredentialCheck(
            True,
            gettext(
                "PayPal (%(mode)s) accepted the client ID and secret; webhook %(webhook)s sends "
                "the payment events to %(url)s."
            )
            % {"mode": mode, "webhook": self.webhook_id, "url": webhook.get("url", "?")},
        )

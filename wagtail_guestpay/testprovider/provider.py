from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..money import parse_amount
from ..providers.base import (
    Checkout,
    Credential,
    CredentialCheck,
    EventStatus,
    Provider,
    ProviderEvent,
    RefundAnswer,
    RefundStatus,
)
from ..providers.exceptions import InvalidSignature, MalformedNotification
from . import signing
from .dashboard import refund_charge
from .models import TestCharge
from .payloads import charge_payload, charge_reference

__all__ = ["TestProvider", "charge_payload", "charge_reference"]

STATUS = {
    TestCharge.Status.CREATED: EventStatus.CREATED,
    TestCharge.Status.PENDING: EventStatus.PENDING,
    TestCharge.Status.PAID: EventStatus.PAID,
    TestCharge.Status.DECLINED: EventStatus.FAILED,
    TestCharge.Status.CANCELLED: EventStatus.CANCELLED,
    TestCharge.Status.REFUNDED: EventStatus.REFUNDED,
}


class TestProvider(Provider):
    """A provider hosted on this site. Its "API" is in-process (it is on the same site); its
    notifications travel over HTTP, signed, like a real provider's."""

    __test__ = False  # not a pytest test class
    kind = "test"
    verbose_name = _("Test provider (offline)")
    supports_guest_payment = True
    can_check_credentials = True
    can_refund = True  # in full only, like the dashboard's "Refund"
    credentials = (
        Credential(
            "signing_secret",
            _("Signing secret"),
            secret=True,
            help_text=_("Signs the notifications; any long random string."),
        ),
    )

    def start_payment(self, payment, urls):
        charge = TestCharge.objects.create(
            account=self.account,
            reference=payment.reference,
            description=payment.order.offer.title[:255],
            amount=payment.amount,
            currency=payment.currency,
            return_url=urls.return_url,
            cancel_url=urls.cancel_url,
            notify_url=urls.notify_url,
        )
        return Checkout(
            redirect_url=reverse("wagtail_guestpay:testprovider:hosted", args=[charge.public_id]),
            provider_reference=charge_reference(charge),
            provider_data={"charge": str(charge.public_id)},
        )

    def parse_notification(self, notification):
        try:
            signing.verify(
                self.secret("signing_secret"),
                notification.header(signing.HEADER),
                notification.body,
            )
        except signing.SignatureError as exc:
            raise InvalidSignature(str(exc)) from exc
        data = notification.json()
        charge = data.get("data")
        if not isinstance(charge, dict) or not isinstance(data.get("id"), str):
            raise MalformedNotification("No event id or charge in the notification.")
        return [self._event(data["id"], data.get("type", ""), charge)]

    def _event(self, event_id, event_type, charge):
        try:
            status = STATUS[TestCharge.Status(charge.get("status"))]
        except ValueError as exc:
            raise MalformedNotification("Unknown charge status.") from exc
        amount = parse_amount(charge.get("amount"))
        if amount is None:
            raise MalformedNotification("The charge has no amount.")
        return ProviderEvent(
            event_id=event_id,
            status=status,
            event_type=event_type,
            reference=str(charge.get("reference", "")),
            provider_reference=str(charge.get("id", "")),
            amount=amount,
            currency=str(charge.get("currency", "")),
            email=str(charge.get("email") or ""),
            payer_name=str(charge.get("payer_name") or ""),
        )

    def fetch_status(self, payment):
        charge = TestCharge.objects.filter(
            account=self.account, reference=payment.reference
        ).first()
        if charge is None:
            return None
        return self._event(
            f"{charge_reference(charge)}:{charge.status}", "status", charge_payload(charge)
        )

    def refund(self, payment, amount, *, key, note=""):
        """The dashboard's "Refund", in process: the charge becomes refunded and its
        notification is sent, as a real provider's would be. A refunded charge stays so (the
        same request again changes nothing)."""
        charge = TestCharge.objects.filter(
            account=self.account, reference=payment.reference
        ).first()
        if charge is None:
            return RefundAnswer(status=RefundStatus.FAILED, detail="no such charge")
        charge = refund_charge(charge.public_id)
        if charge.status != TestCharge.Status.REFUNDED:
            return RefundAnswer(
                status=RefundStatus.FAILED, detail=f"the charge is {charge.status}, not paid"
            )
        return RefundAnswer(
            status=RefundStatus.DONE,
            refund_id=f"re_{charge.public_id.hex}",
            amount=charge.amount,
            currency=charge.currency,
            detail="refunded",
        )

    def check_credentials(self):
        if self.secret("signing_secret"):
            return CredentialCheck(True, _("The signing secret is set."))
        return CredentialCheck(False, _("Set a signing secret."))

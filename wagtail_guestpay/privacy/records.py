"""What the package holds about one e-mail address, found the same way for an export and for an
erasure. Matching ignores case.

Two kinds of orders are found:

- the address's **own** orders: the order's buyer e-mail is the address, its contact is the
  address's contact, or its account is an account of the address;
- orders that only **mention** the address: the payment system returned it, a buyer claimed the
  order for it, an e-mail about the order went to it, or a correction (staff's or a buyer's
  claim) moved the order away from it or to it. The order now belongs to someone else: an
  erasure replaces the address there and leaves the rest of the order as it is.
"""

import json
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from wagtail.models import ModelLogEntry

from ..email_kinds import STAFF_NOTICE
from ..fulfilment.accounts import users_with_email
from ..models import (
    AccessGrant,
    AccessLink,
    Contact,
    EmailClaim,
    GuestAccount,
    Order,
    OutboundEmail,
    Payment,
    PaymentEvent,
    PendingRegistration,
    Redemption,
    Refund,
    SignInCode,
)

# Audit-log entries of an order whose data names the addresses it moved between.
CORRECTION_ACTIONS = ("wagtail_guestpay.email_corrected", "wagtail_guestpay.access_moved")
CORRECTION_KEYS = ("from", "to", "from_email", "to_email", "email")


def clean_address(email):
    """The address as the package stores it (trimmed, lower-case), or "" for nothing usable.
    Not validated: a payment system may have returned an address Django would refuse."""
    email = (email or "").strip().lower()
    return email if "@" in email and len(email) <= 254 else ""


def text_forms(email):
    """The ways ``email`` is written in stored text: as is, and as JSON escapes it (a JSON column
    on SQLite keeps non-ASCII characters as \\uXXXX)."""
    escaped = json.dumps(email)[1:-1]
    return [email] if escaped == email else [email, escaped]


def mentions(column, email):
    """A filter: text ``column`` (or a JSON column cast to text) contains ``email``, any case."""
    query = Q()
    for form in text_forms(email):
        query |= Q(**{f"{column}__icontains": form})
    return query


@dataclass
class BuyerRecords:
    email: str
    contacts: list = field(default_factory=list)
    accounts: list = field(default_factory=list)
    own_order_ids: set = field(default_factory=set)
    # Orders of someone else that hold the address: {order id: how ("payer e-mail", "claim",
    # "e-mail sent", "correction")}.
    mentions: dict = field(default_factory=dict)

    @property
    def mentioning_order_ids(self):
        return set(self.mentions)

    @property
    def order_ids(self):
        return self.own_order_ids | self.mentioning_order_ids

    @property
    def account_ids(self):
        return [user.pk for user in self.accounts]

    def orders(self):
        return (
            Order.objects.filter(pk__in=self.order_ids)
            .select_related("offer", "site")
            .order_by("created_at", "pk")
        )

    def payments(self):
        return (
            Payment.objects.filter(order_id__in=self.order_ids)
            .select_related("account", "order")
            .order_by("created_at", "pk")
        )

    def refunds(self):
        return (
            Refund.objects.filter(order_id__in=self.order_ids)
            .select_related("order")
            .order_by("created_at", "pk")
        )

    def grants(self):
        return (
            AccessGrant.objects.filter(
                Q(user_id__in=self.account_ids) | Q(order_id__in=self.own_order_ids)
            )
            .select_related("product", "order")
            .order_by("granted_at", "pk")
        )

    def emails(self):
        """E-mails to the address, to its accounts, and about its own orders (not the notices
        that went to staff)."""
        return (
            OutboundEmail.objects.filter(
                Q(to_email__iexact=self.email)
                | Q(user_id__in=self.account_ids)
                | (Q(order_id__in=self.own_order_ids) & ~Q(kind=STAFF_NOTICE))
            )
            .select_related("order")
            .order_by("created_at", "pk")
        )

    def claims(self):
        return (
            EmailClaim.objects.filter(
                Q(email__iexact=self.email) | Q(order_id__in=self.own_order_ids)
            )
            .select_related("order")
            .order_by("created_at", "pk")
        )

    def registrations(self):
        return (
            PendingRegistration.objects.filter(email__iexact=self.email)
            .select_related("offer")
            .order_by("created_at", "pk")
        )

    def coupon_uses(self):
        """Coupon uses of the address's own orders and those recorded under the address (a
        coupon used once per e-mail)."""
        return (
            Redemption.objects.filter(
                Q(email__iexact=self.email) | Q(order_id__in=self.own_order_ids)
            )
            .select_related("coupon", "order")
            .order_by("created_at", "pk")
        )

    def signin_codes(self):
        return SignInCode.objects.filter(
            Q(email__iexact=self.email) | Q(user_id__in=self.account_ids)
        ).order_by("created_at", "pk")

    def access_links(self):
        return AccessLink.objects.filter(user_id__in=self.account_ids).order_by("created_at", "pk")

    def guest_accounts(self):
        return GuestAccount.objects.filter(user_id__in=self.account_ids)

    def events(self):
        """The notifications of the orders' payments, and those no payment was found for whose
        body or facts contain the address."""
        payments = Payment.objects.filter(order_id__in=self.order_ids).values("pk")
        unlinked = (
            PaymentEvent.objects.filter(payment__isnull=True)
            .annotate(data_text=Cast("data", TextField()))
            .filter(mentions("body", self.email) | mentions("data_text", self.email))
            .values("pk")
        )
        return (
            PaymentEvent.objects.filter(Q(payment_id__in=payments) | Q(pk__in=unlinked))
            .select_related("payment")
            .order_by("received_at", "pk")
        )

    def former_contacts(self):
        """Contacts the address's own orders were moved away from (a mistyped address) and
        that hold no order any more: the payer's name on them is the buyer's."""
        order_type = ContentType.objects.get_for_model(Order)
        former = set()
        for data in ModelLogEntry.objects.filter(
            content_type=order_type,
            object_id__in=[str(pk) for pk in self.own_order_ids],
            action__in=CORRECTION_ACTIONS,
        ).values_list("data", flat=True):
            former |= {
                clean_address(data.get(key))
                for key in ("from", "from_email")
                if isinstance(data, dict) and isinstance(data.get(key), str)
            }
        return Contact.objects.filter(email__in=former - {"", self.email}, orders__isnull=True)

    def log_entries(self):
        """Wagtail audit-log entries of the contacts and of the address's own orders."""
        contact_type = ContentType.objects.get_for_model(Contact)
        order_type = ContentType.objects.get_for_model(Order)
        return ModelLogEntry.objects.filter(
            Q(content_type=contact_type, object_id__in=[str(c.pk) for c in self.contacts])
            | Q(content_type=order_type, object_id__in=[str(pk) for pk in self.own_order_ids])
        ).order_by("timestamp", "pk")


def find(email, *, lock=False):
    """The :class:`BuyerRecords` of ``email``. With ``lock`` the contacts' rows are locked (an
    erasure holds them, as a payment for the address would)."""
    email = clean_address(email)
    records = BuyerRecords(email=email)
    if not email:
        return records
    contacts = Contact.objects.filter(email__iexact=email).order_by("pk")
    if lock:
        contacts = contacts.select_for_update()
    records.contacts = list(contacts)
    records.accounts = list(users_with_email(email).order_by("pk"))
    records.own_order_ids = set(
        Order.objects.filter(
            Q(email__iexact=email)
            | Q(contact_id__in=[c.pk for c in records.contacts])
            | Q(user_id__in=records.account_ids)
        ).values_list("pk", flat=True)
    )
    records.mentions = {
        pk: sorted(how) for pk, how in _mentions(email).items() if pk not in records.own_order_ids
    }
    return records


def _mentions(email):
    """{order id: how it mentions ``email``} of the orders that hold it outside their buyer
    e-mail."""
    found = {}

    def add(ids, how):
        for pk in ids:
            found.setdefault(int(pk), set()).add(how)

    add(
        Payment.objects.filter(payer_email__iexact=email).values_list("order_id", flat=True),
        "payer e-mail",
    )
    add(EmailClaim.objects.filter(email__iexact=email).values_list("order_id", flat=True), "claim")
    add(
        OutboundEmail.objects.filter(to_email__iexact=email, order__isnull=False).values_list(
            "order_id", flat=True
        ),
        "e-mail sent",
    )
    corrected = Q()
    for key in CORRECTION_KEYS:
        corrected |= Q(**{f"data__{key}__iexact": email})
    entries = ModelLogEntry.objects.filter(
        corrected,
        content_type=ContentType.objects.get_for_model(Order),
        action__in=CORRECTION_ACTIONS,
    ).values_list("object_id", flat=True)
    add([pk for pk in entries if str(pk).isdigit()], "correction")
    return found

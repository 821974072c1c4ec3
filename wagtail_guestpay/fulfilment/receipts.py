"""Receipts: a gapless number per site, issued in the transaction that makes an order paid.

1. :func:`issue_receipt` runs inside the transaction that moves the order to paid
   (the transitions call it: :func:`~.transitions.sync_order_status` for an order paid through
   a payment system, :func:`~.transitions.settle_free_order` for a free one). It
   increments the site's :class:`~wagtail_guestpay.models.ReceiptCounter` with an UPDATE, which
   holds the counter row's lock (PostgreSQL) or the database's write lock (SQLite) until that
   transaction ends: two payments never read the same number, and a payment rolled back gives
   its number back with it. So the numbers of one site never skip and never repeat. An order
   that is not paid gets none; an order keeps its receipt whatever happens next (a refund shows
   on it).
2. What the receipt says of the sale (offer, amount, payment system) and of the seller (the
   :class:`~wagtail_guestpay.models.ReceiptSettings` of the order's site) is copied on it then.
   The buyer's e-mail is not: it is the order's, so a corrected or erased address is what shows.
3. :func:`receipt_link_token` signs a link for the access e-mail (no sign-in needed, read only,
   expiring after ``RECEIPT_LINK_MAX_AGE``); :func:`receipt_from_token` checks it. The link also
   stops working when the order's e-mail changes (staff corrected a mistyped address: whoever
   got the first e-mail must not see the right one). docs/security.md says why this is enough.
"""

from django.core import signing
from django.db import connection
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from wagtail.models import Site

from ..conf import guestpay_settings
from ..models import (
    MerchantContacts,
    Order,
    OrderStatus,
    PaymentStatus,
    Receipt,
    ReceiptCounter,
    ReceiptSettings,
    receipt_of,
    redemption_of,
)
from ..models.receipts import MERCHANT_FIELDS

LINK_SALT = "wagtail_guestpay.receipt_link"
MAX_TOKEN_LENGTH = 300  # a real one is about 80 characters


# 1. Numbers ----------------------------------------------------------------------------------
def series_for(site):
    """The numbering series of a site (orders without one count on the default site's)."""
    return f"site-{site.pk}" if site is not None else "no-site"


def _site_of(order):
    if order.site_id:
        return order.site
    return Site.objects.filter(is_default_site=True).first()


NEXT_NUMBER_SQL = (
    "UPDATE {table} SET last_number = last_number + 1 WHERE series = %s RETURNING last_number"
)


def next_number(series):
    """The series' next number. Call inside the transaction that uses it: the counter stays
    locked until that transaction ends. One UPDATE ... RETURNING (PostgreSQL, SQLite 3.35+);
    the series' row is made the first time."""
    sql = NEXT_NUMBER_SQL.format(table=connection.ops.quote_name(ReceiptCounter._meta.db_table))
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [series])
            row = cursor.fetchone()
        if row is not None:
            return row[0]
        ReceiptCounter.objects.bulk_create([ReceiptCounter(series=series)], ignore_conflicts=True)
    raise RuntimeError(f"Receipt counter {series!r} could not be created")


def issue_receipt(order, *, payment=None):
    """The receipt of a paid ``order``, issued now if it has none; None if it is not paid.
    ``payment``: the payment that made it paid, when the caller has it (else the latest paid).

    Call inside the transaction that made it paid, holding the order's lock."""
    if order.status != OrderStatus.PAID:
        return None
    existing = receipt_of(order)
    if existing is not None:
        return existing
    site = _site_of(order)
    setting = _receipt_settings(site)
    issued_at = order.paid_at or timezone.now()
    if payment is None:
        payment = (
            order.payments.filter(status=PaymentStatus.PAID)
            .select_related("account")
            .order_by("-processed_at", "-pk")
            .first()
        )
    coupon_code, discount = coupon_of(order)
    series = series_for(site)
    sequence = next_number(series)  # last: the counter stays locked from here to the commit
    receipt = Receipt.objects.create(
        order=order,
        site=site,
        series=series,
        sequence=sequence,
        number=setting.format_number(sequence, timezone.localtime(issued_at).year),
        issued_at=issued_at,
        offer_title=order.offer.title[:255],
        amount=payment.amount if payment else order.amount,
        currency=payment.currency if payment else order.currency,
        payment_system=payment.account.kind if payment else "",
        payment_reference=payment.reference if payment else "",
        merchant=seller_details(site, setting),
        coupon_code=coupon_code,
        discount=discount,
    )
    Order.receipt.related.set_cached_value(order, receipt)  # receipt_of() finds it
    return receipt


def coupon_of(order):
    """(code, discount) of the coupon the order was paid with, or ("", None).

    An order's coupon use is ``order.redemption`` (redemptions.py); a released use (the payment
    had failed) does not count."""
    redemption = redemption_of(order)
    if redemption is None or redemption.status == "released":
        return "", None
    return redemption.coupon.code[:64], redemption.discount


def _receipt_settings(site):
    """The site's receipt settings, read only (an unsaved default when it has none: a payment's
    transaction creates no settings row)."""
    found = ReceiptSettings.objects.filter(site=site).first() if site else None
    return found or ReceiptSettings(site=site)


def seller_details(site, setting=None):
    """The seller's legal details for a site: the receipt settings, the merchant contacts' name
    and postal address where those are empty."""
    setting = setting or _receipt_settings(site)
    details = {name: getattr(setting, name) or "" for name in MERCHANT_FIELDS}
    if site is not None and not (details["legal_name"] and details["address"]):
        contacts = MerchantContacts.objects.filter(site=site).first()
        if contacts is not None:
            details["legal_name"] = details["legal_name"] or contacts.name
            details["address"] = details["address"] or contacts.address
    return details


def seller_on(receipt):
    """What the receipt shows of the seller: the details of the day it was issued, or today's
    when none were filled in then."""
    if any((receipt.merchant or {}).get(name) for name in MERCHANT_FIELDS):
        return receipt.merchant
    return seller_details(receipt.site)


# 3. Links ------------------------------------------------------------------------------------
def _email_binding(email):
    """A keyed hash of the address (the token carries no address, even hashed without a key)."""
    return salted_hmac(LINK_SALT, (email or "").strip().lower()).hexdigest()[:20]


def receipt_link_token(receipt):
    return signing.dumps(
        {"r": receipt.pk, "e": _email_binding(receipt.order.email)}, salt=LINK_SALT, compress=True
    )


def receipt_from_token(token):
    """The receipt a link's token names, or None when it is forged, expired or no longer fits the
    order's e-mail."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    max_age = guestpay_settings.as_timedelta("RECEIPT_LINK_MAX_AGE")
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=max_age)
    except (signing.BadSignature, ValueError):  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        return None
    receipt = Receipt.objects.select_related("order__offer", "site").filter(pk=data["r"]).first()
    if receipt is None:
        return None
    if not constant_time_compare(str(data.get("e", "")), _email_binding(receipt.order.email)):
        return None
    return receipt

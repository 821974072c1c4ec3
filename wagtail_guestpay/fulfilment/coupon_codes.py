"""Coupon codes: from what the buyer typed to a price.

1. :func:`clean_code` trims what came from a link or a form; anything that cannot be a code is
   refused as unknown (never a database error).
2. :func:`quote` finds the coupon (capitals do not matter) and checks it for this offer, now and
   for this buyer's address when it is known: active, started, not expired, not used up,
   applicable to the offer (or one of its translations) and to its currency, not used before by
   the address when the coupon is once per e-mail. It returns a :class:`Quote`: the full price,
   the discount and the amount to pay, in the offer's currency.
3. A refusal is a :class:`CouponRefused` with a message for the buyer; the pay link shows it
   beside the full price (views/coupons.py). A quote of 0 is no payment at all: the pay link
   raises :class:`CouponMakesItFree` and the order takes the free path (free_coupons.py). The reservation itself (which the database decides,
   under concurrency) is :func:`wagtail_guestpay.fulfilment.redemptions.reserve`.

No write happens here: a quote is advice until the order reserves its use.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Coupon, CouponKind, Redemption, RedemptionStatus
from ..money import format_money, quantize
from ..ratelimit import allow, client_ip, configured_budget

MAX_CODE_LENGTH = Coupon._meta.get_field("code").max_length


class CouponRefused(Exception):
    """A code that cannot be used for this purchase; ``message`` says why, to the buyer."""

    UNKNOWN = "unknown"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    USED_UP = "used_up"
    NOT_APPLICABLE = "not_applicable"
    ALREADY_USED = "already_used"
    TOO_MANY_TRIES = "too_many_tries"

    def __init__(self, reason, code=""):
        super().__init__(reason)
        self.reason = reason
        self.code = code

    @property
    def message(self):
        code = self.code
        messages = {
            self.UNKNOWN: _("“%(code)s” is not a valid coupon code."),
            self.NOT_STARTED: _("The coupon “%(code)s” cannot be used yet."),
            self.EXPIRED: _("The coupon “%(code)s” has expired."),
            self.USED_UP: _("The coupon “%(code)s” has been used up."),
            self.NOT_APPLICABLE: _("The coupon “%(code)s” does not apply to this offer."),
            self.ALREADY_USED: _("You have already used the coupon “%(code)s”."),
            self.TOO_MANY_TRIES: _(
                "Too many coupon codes were tried from your connection. Try again later."
            ),
        }
        return messages[self.reason] % {"code": code}


class CouponMakesItFree(Exception):  # noqa: N818 - not an error: the free path's signal
    """The code brings the price to 0: the order goes the free offers' way
    (:mod:`~.free_coupons`), never to a payment system. ``quote`` is its :class:`Quote`."""

    def __init__(self, quote):
        super().__init__(quote.coupon.code)
        self.quote = quote


@dataclass(frozen=True)
class Quote:
    """The price of an offer with a coupon, in the offer's currency."""

    coupon: Coupon
    full_price: Decimal
    discount: Decimal
    amount: Decimal
    currency: str

    @property
    def is_free(self):
        return self.amount <= 0

    @property
    def full_price_display(self):
        return format_money(self.full_price, self.currency)

    @property
    def discount_display(self):
        return format_money(self.discount, self.currency)

    @property
    def amount_display(self):
        return format_money(self.amount, self.currency)


def clean_code(raw):
    """The code as typed, trimmed; '' when nothing was typed. A value that cannot be a code
    (too long, other characters) is kept short for the message and fails the lookup."""
    if not isinstance(raw, str):
        return ""
    code = raw.strip()
    if len(code) > MAX_CODE_LENGTH:
        code = code[:MAX_CODE_LENGTH] + "…"
    return "".join(ch for ch in code if ch.isprintable())


def _is_well_formed(code):
    return (
        0 < len(code) <= MAX_CODE_LENGTH
        and code.isascii()
        and all(ch.isalnum() or ch in "-_" for ch in code)
    )


def within_budget(request):
    """Count one code tried by this client; False once the client's budget is spent."""
    return allow("coupon", client_ip(request), configured_budget("COUPON_RATE_LIMITS", "client"))


def find_coupon(code):
    if not _is_well_formed(code):
        return None
    return Coupon.objects.filter(code__iexact=code).first()


def applies_to(coupon, offer):
    """The coupon's offers (any translation of them), or every offer when it names none."""
    chosen = list(coupon.offers.values_list("pk", "translation_key"))
    if not chosen:
        return True
    return any(pk == offer.pk or key == offer.translation_key for pk, key in chosen)


def discount_for(coupon, price, currency):
    if coupon.kind == CouponKind.PERCENT:
        discount = quantize(price * coupon.percent_off / Decimal(100), currency)
    else:
        discount = quantize(coupon.amount_off, currency)
    return min(discount, price)


def quote(offer, raw_code, *, email="", now=None):
    """The :class:`Quote` of ``offer`` with the coupon ``raw_code``; raises
    :class:`CouponRefused`. ``email``: the buyer's address when known before payment."""
    code = clean_code(raw_code)
    coupon = find_coupon(code)
    if coupon is None or not coupon.is_active:
        raise CouponRefused(CouponRefused.UNKNOWN, code)
    now = now or timezone.now()
    if coupon.valid_from and now < coupon.valid_from:
        raise CouponRefused(CouponRefused.NOT_STARTED, coupon.code)
    if coupon.valid_until and now >= coupon.valid_until:
        raise CouponRefused(CouponRefused.EXPIRED, coupon.code)
    if not applies_to(coupon, offer) or (
        coupon.kind == CouponKind.FIXED and coupon.currency != offer.currency.upper()
    ):
        raise CouponRefused(CouponRefused.NOT_APPLICABLE, coupon.code)
    if coupon.max_redemptions is not None and coupon.taken >= coupon.max_redemptions:
        raise CouponRefused(CouponRefused.USED_UP, coupon.code)
    if coupon.once_per_email and email and used_by(coupon, email):
        raise CouponRefused(CouponRefused.ALREADY_USED, coupon.code)
    price = quantize(offer.price, offer.currency)
    discount = discount_for(coupon, price, offer.currency)
    return Quote(
        coupon=coupon,
        full_price=price,
        discount=discount,
        amount=price - discount,
        currency=offer.currency,
    )


def used_by(coupon, email):
    return Redemption.objects.filter(
        coupon=coupon,
        email=email.lower(),
        status__in=[RedemptionStatus.RESERVED, RedemptionStatus.CONFIRMED],
        over_limit=False,
    ).exists()

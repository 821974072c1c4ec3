"""Amounts and currencies: minor units, validation and display."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

# ISO 4217 exponents that differ from 2 (the default).
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

# Currencies offered in the offer form; any ISO 4217 code is accepted by the model.
COMMON_CURRENCIES = [
    ("EUR", _("Euro (EUR)")),
    ("USD", _("US dollar (USD)")),
    ("GBP", _("Pound sterling (GBP)")),
    ("UAH", _("Ukrainian hryvnia (UAH)")),
    ("PLN", _("Polish złoty (PLN)")),
    ("CHF", _("Swiss franc (CHF)")),
    ("CAD", _("Canadian dollar (CAD)")),
    ("AUD", _("Australian dollar (AUD)")),
    ("CZK", _("Czech koruna (CZK)")),
    ("SEK", _("Swedish krona (SEK)")),
    ("NOK", _("Norwegian krone (NOK)")),
    ("DKK", _("Danish krone (DKK)")),
    ("JPY", _("Japanese yen (JPY)")),
]


def exponent(currency):
    currency = currency.upper()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def quantize(amount, currency):
    """``amount`` rounded to the currency's minor unit, as a Decimal."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_UP)


def to_minor_units(amount, currency):
    """10.20 EUR -> 1020; 500 JPY -> 500."""
    return int(quantize(amount, currency).scaleb(exponent(currency)))


def from_minor_units(value, currency):
    return quantize(Decimal(int(value)).scaleb(-exponent(currency)), currency)


def parse_amount(value):
    """A Decimal from a provider's amount (str, int or float lexeme), or None if not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def validate_currency(value):
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isupper()):
        raise ValidationError(_("Enter a three-letter ISO 4217 currency code, e.g. EUR."))


def same_amount(expected, expected_currency, amount, currency):
    """True if a provider's amount and currency equal what the order asks for."""
    if amount is None or not currency:
        return False
    if currency.upper() != expected_currency.upper():
        return False
    try:
        return quantize(amount, expected_currency) == quantize(expected, expected_currency)
    except InvalidOperation:  # beyond Decimal's precision (e.g. "1e999999"): not the price
        return False


def format_money(amount, currency):
    places = exponent(currency)
    return f"{number_format(quantize(amount, currency), places, force_grouping=True)} {currency}"

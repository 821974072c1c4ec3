"""Staff search that stays fast with a million orders (docs/how-to/staff-fixes.md).

1. Exact matches first, each through an index: an order number (``GP-000012``), a whole e-mail
   address (the order's, the payer's at the payment system, a contact's), a payment's reference,
   its provider reference or any of the provider's ids for it (the reference lookup table).
   When one of them finds something, that is the answer.
2. Otherwise a part of a text, where it can be indexed:
   - on PostgreSQL, anywhere in the text, through the trigram indexes of migration 0008
     (e-mail addresses, provider references and ids, payer and contact names);
   - on other databases (SQLite), addresses that start with the text (the e-mail's B-tree index),
     and anywhere in the text only among the rows of the last ``ADMIN_SEARCH_RECENT`` (a note
     under the search box says so).
   Contacts' notes and registration fields are searched the recent way on every database.
   Each kind of match contributes at most ``ADMIN_SEARCH_LIMIT`` rows.

A search answers :class:`Matches`: the ids it found and the note to show staff ("" when none).
"""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from ..conf import guestpay_settings
from ..models import Contact, Order, Payment, ProviderReference

# Above any character a real address holds: "abc" <= text < "abc" + TOP is "starts with abc".
TOP = "\U0010ffff"
TRIGRAM = 3  # the shortest text a trigram index finds by itself


@dataclass
class Matches:
    ids: list
    note: str = ""


def trigram_search():
    """True where migration 0008 made trigram indexes (PostgreSQL)."""
    return connection.vendor == "postgresql"


def _limit():
    return guestpay_settings.ADMIN_SEARCH_LIMIT


def _ids(queryset, field="pk"):
    return list(queryset.order_by().values_list(field, flat=True)[: _limit()])


def _union(*lists):
    return list(dict.fromkeys(value for values in lists for value in values))


def _recent_cutoff():
    return timezone.now() - guestpay_settings.as_timedelta("ADMIN_SEARCH_RECENT")


def _recent_note():
    days = max(1, guestpay_settings.as_timedelta("ADMIN_SEARCH_RECENT").days)
    return ngettext(
        "Part of an e-mail address finds the addresses that start with it; other partial text "
        "is searched among the last %(days)s day only. Whole addresses, order numbers and "
        "references are always searched in full.",
        "Part of an e-mail address finds the addresses that start with it; other partial text "
        "is searched among the last %(days)s days only. Whole addresses, order numbers and "
        "references are always searched in full.",
        days,
    ) % {"days": days}


def order_number_pk(term):
    """The id in an order number (``GP-000012``, ``gp12``), or None."""
    prefix = re.escape(guestpay_settings.REFERENCE_PREFIX)
    match = re.fullmatch(rf"{prefix}-?0*(\d{{1,18}})", term, re.IGNORECASE)
    return int(match.group(1)) if match else None


def _whole_address(term):
    return "@" in term and not any(char.isspace() for char in term)


# Orders -------------------------------------------------------------------------------------
def exact_order_ids(term):
    pk = order_number_pk(term)
    if pk is not None:
        return [pk]
    if _whole_address(term):
        addresses = list({term, term.lower()})
        return _union(
            _ids(Order.objects.filter(email__in=addresses)),
            _ids(Payment.objects.filter(payer_email__in=addresses), "order_id"),
        )
    if any(char.isspace() for char in term):
        return []
    return _union(
        _ids(Payment.objects.filter(reference=term), "order_id"),
        _ids(Payment.objects.filter(provider_reference=term), "order_id"),
        _ids(ProviderReference.objects.filter(value=term), "payment__order_id"),
    )


def search_orders(term):
    term = (term or "").strip()
    if not term:
        return None
    exact = exact_order_ids(term)
    if exact:
        return Matches(exact)
    lowered = term.lower()
    if trigram_search() and len(term) >= TRIGRAM:
        return Matches(
            _union(
                _ids(Order.objects.filter(email__icontains=term)),
                _ids(
                    Payment.objects.filter(
                        Q(provider_reference__icontains=term) | Q(payer_name__icontains=term)
                    ),
                    "order_id",
                ),
                _ids(ProviderReference.objects.filter(value__icontains=term), "payment__order_id"),
                _ids(
                    Order.objects.filter(
                        contact__in=Contact.objects.filter(name__icontains=term).values("pk")[
                            : _limit()
                        ]
                    )
                ),
            )
        )
    cutoff = _recent_cutoff()
    return Matches(
        _union(
            _ids(Order.objects.filter(email__gte=lowered, email__lt=lowered + TOP)),
            _ids(
                Order.objects.filter(created_at__gte=cutoff).filter(
                    Q(email__contains=lowered) | Q(contact__name__icontains=term)
                )
            ),
            _ids(
                Payment.objects.filter(created_at__gte=cutoff).filter(
                    Q(provider_reference__icontains=term) | Q(payer_name__icontains=term)
                ),
                "order_id",
            ),
            _ids(
                ProviderReference.objects.filter(
                    payment__created_at__gte=cutoff, value__icontains=term
                ),
                "payment__order_id",
            ),
        ),
        _recent_note(),
    )


# Contacts -----------------------------------------------------------------------------------
def search_contacts(term):
    term = (term or "").strip()
    if not term:
        return None
    if _whole_address(term):
        exact = _ids(Contact.objects.filter(email__in={term, term.lower()}))
    else:
        exact = _ids(Contact.objects.filter(user__username=term))
    if exact:
        return Matches(exact)
    lowered = term.lower()
    recent = Contact.objects.filter(created_at__gte=_recent_cutoff())
    in_other_fields = Q(note__icontains=term) | Q(registration_data__icontains=term)
    if trigram_search() and len(term) >= TRIGRAM:
        return Matches(
            _union(
                _ids(Contact.objects.filter(Q(email__icontains=term) | Q(name__icontains=term))),
                _ids(recent.filter(in_other_fields)),
            ),
            _recent_fields_note(),
        )
    return Matches(
        _union(
            _ids(Contact.objects.filter(email__gte=lowered, email__lt=lowered + TOP)),
            _ids(
                recent.filter(
                    Q(email__contains=lowered) | Q(name__icontains=term) | in_other_fields
                )
            ),
        ),
        _recent_note(),
    )


def _recent_fields_note():
    days = max(1, guestpay_settings.as_timedelta("ADMIN_SEARCH_RECENT").days)
    return ngettext(
        "Notes and registration fields are searched among the contacts of the last %(days)s "
        "day only.",
        "Notes and registration fields are searched among the contacts of the last %(days)s "
        "days only.",
        days,
    ) % {"days": days}

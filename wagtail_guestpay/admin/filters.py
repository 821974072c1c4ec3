"""List filters of the staff admin's listings (Transactions, Contacts, payment events)."""

import datetime

from django.contrib.admin import ListFilter, SimpleListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import AccessGrant, Attention, Payment, ProviderAccount
from .display import ACCESS_LABELS


class ChoiceFilter(SimpleListFilter):
    """A SimpleListFilter that refuses values it does not offer (a 400, not a silent no-op)."""

    def checked_value(self):
        value = self.value()
        if value is None:
            return None
        if value not in {str(choice) for choice, _label in self.lookup_choices}:
            raise IncorrectLookupParameters(f"Unknown {self.parameter_name}: {value!r}")
        return value


class NeedsActionFilter(ChoiceFilter):
    title = _("needs action")
    parameter_name = "attention"
    ANY = "any"

    def lookups(self, request, model_admin):
        return [(self.ANY, _("Any reason"))] + [
            (value, label) for value, label in Attention.choices if value
        ]

    def queryset(self, request, queryset):
        value = self.checked_value()
        if value is None:
            return queryset
        # needs_attention() states the condition of the partial index (SQLite uses a partial
        # index only when the query repeats its condition).
        queryset = queryset.exclude(attention="")
        return queryset if value == self.ANY else queryset.filter(attention=value)


class ProviderFilter(ChoiceFilter):
    """Orders with a payment made through one payment system."""

    title = _("payment system")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return [(str(account.pk), account.name) for account in ProviderAccount.objects.all()]

    def queryset(self, request, queryset):
        value = self.checked_value()
        return queryset if value is None else queryset.filter(self.made_through(int(value)))

    def made_through(self, account_id):
        return Exists(Payment.objects.filter(order=OuterRef("pk"), account_id=account_id))


class AccessStateFilter(ChoiceFilter):
    """Orders by the access they gave: granted (an active grant), revoked (grants, all revoked)
    or none."""

    title = _("access")
    parameter_name = "access"

    def lookups(self, request, model_admin):
        return list(ACCESS_LABELS.items())

    def queryset(self, request, queryset):
        value = self.checked_value()
        if value is None:
            return queryset
        active = Exists(AccessGrant.objects.filter(order=OuterRef("pk"), revoked_at__isnull=True))
        any_grant = Exists(AccessGrant.objects.filter(order=OuterRef("pk")))
        if value == "granted":
            return queryset.filter(active)
        if value == "revoked":
            return queryset.filter(any_grant).exclude(active)
        return queryset.exclude(any_grant)


class YesNoFilter(ChoiceFilter):
    """Rows that meet :meth:`condition` ("yes") or do not ("no")."""

    yes_label = no_label = ""

    def lookups(self, request, model_admin):
        return [("yes", self.yes_label), ("no", self.no_label)]

    def condition(self):
        raise NotImplementedError

    def queryset(self, request, queryset):
        value = self.checked_value()
        if value is None:
            return queryset
        condition = self.condition()
        return queryset.filter(condition) if value == "yes" else queryset.exclude(condition)


class ContactAccountFilter(YesNoFilter):
    title = _("account")
    parameter_name = "account"
    yes_label, no_label = _("Linked to an account"), _("No account")

    def condition(self):
        return Q(user__isnull=False)


class ContactAccessFilter(YesNoFilter):
    title = _("access")
    parameter_name = "access"
    yes_label, no_label = _("Has access"), _("No access")

    def condition(self):
        return Exists(AccessGrant.objects.filter(user=OuterRef("user"), revoked_at__isnull=True))


class BoughtTwiceFilter(YesNoFilter):
    """Orders paid for products the buyer's account already held (they stay marked after staff
    dealt with them, unlike the needs-action reason)."""

    title = _("bought twice")
    parameter_name = "bought_twice"
    yes_label, no_label = _("Already held everything"), _("No")

    def condition(self):
        return Q(bought_twice=True)


def _midnight(day):
    """The start of ``day`` in the current time zone (what ``__date`` compares against)."""
    moment = datetime.datetime.combine(day, datetime.time.min)
    return timezone.make_aware(moment) if timezone.is_aware(timezone.now()) else moment


class DateRangeFilter(ListFilter):
    """A from/to date range (inclusive) on a date-time field, as a small GET form."""

    title = _("date")
    field_name = "created_at"
    template = "wagtail_guestpay/admin/includes/date_range_filter.html"
    FROM, TO = "date_from", "date_to"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        for name in (self.FROM, self.TO):
            if name in params:
                value = params.pop(name)[-1].strip()
                if value:
                    try:
                        self.used_parameters[name] = datetime.date.fromisoformat(value)
                    except ValueError as exc:
                        raise IncorrectLookupParameters(f"Not a date: {value!r}") from exc

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.FROM, self.TO]

    def queryset(self, request, queryset):
        # A range of the column itself (its index serves it), not of its date (a function).
        start, end = self.used_parameters.get(self.FROM), self.used_parameters.get(self.TO)
        if start:
            queryset = queryset.filter(**{f"{self.field_name}__gte": _midnight(start)})
        if end:
            queryset = queryset.filter(
                **{f"{self.field_name}__lt": _midnight(end + datetime.timedelta(days=1))}
            )
        return queryset

    def choices(self, changelist):
        kept = [
            (name, value)
            for name, values in changelist.params.lists()
            if name not in (self.FROM, self.TO, changelist.PAGE_VAR)
            for value in values
        ]
        yield {
            "date_from": self.used_parameters.get(self.FROM),
            "date_to": self.used_parameters.get(self.TO),
            "kept": kept,
            "active": bool(self.used_parameters),
            "clear_query_string": changelist.get_query_string(remove=[self.FROM, self.TO]),
            "from_name": self.FROM,
            "to_name": self.TO,
        }

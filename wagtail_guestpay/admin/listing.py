"""What the staff listings share on top of wagtail-modeladmin's index view.

modeladmin applies any query-string parameter it does not recognise as an ORM lookup (as Django's
admin did before ``lookup_allowed``): on a list of orders, ``?user__password__startswith=x``
would let a viewer probe password hashes. :class:`StrictIndexView` accepts only the parameters
its filters declare, and answers 400 to the rest and to malformed values (a NUL character,
which PostgreSQL refuses in text, included). :class:`NumericIdURLHelper` keeps the object URLs
(inspect, edit, delete) to numeric ids: modeladmin's word pattern would hand ``abc`` to the
database lookup (a ValueError, a 500).

At scale (a million orders, docs/deployment.md), the index view counts rows only up to
``ADMIN_COUNT_LIMIT`` (once, not three times as modeladmin does) and on the plain filtered
queryset; the model admin's ``annotate_rows()`` (latest payment, access...) runs only on the
page's rows and in exports, unless the listing is sorted by one of those values. Exports of more
than ``ADMIN_EXPORT_THRESHOLD`` rows go to a background task (admin/exports.py,
staff/exports.py).
"""

import re
from decimal import Decimal

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import lookup_field
from django.contrib.auth.models import Permission
from django.core.exceptions import SuspiciousOperation
from django.core.paginator import InvalidPage
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.defaults import bad_request
from wagtail.admin.paginator import WagtailPaginator
from wagtail_modeladmin.helpers import (
    AdminURLHelper,
    ButtonHelper,
    DjangoORMSearchHandler,
    ModelAdminURLFinder,
)
from wagtail_modeladmin.options import ModelAdmin
from wagtail_modeladmin.views import IndexView

from ..conf import guestpay_settings
from ..staff.exports import write_export
from ..staff.search import search_contacts, search_orders
from .exports import ChunkedRows, start_export

# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_db_id(value):
    """True for text that can be a row id: ASCII digits the database's integers hold (18 digits
    at most). Anything else would raise in the query (a ValueError, or SQLite's OverflowError)."""
    return re.fullmatch(r"[0-9]{1,18}", str(value)) is not None


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet program shows as text, never runs as a formula: text
    starting with a formula character gets a leading apostrophe. Numbers and dates are kept."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def count_at_most(queryset, limit):
    """The number of rows, counted up to ``limit + 1`` at most (a bounded query)."""
    return queryset.order_by().values("pk")[: limit + 1].count()


class CappedPaginator(WagtailPaginator):
    """Pages over a count made by :func:`count_at_most`: the pages stop at the limit."""

    def __init__(self, object_list, per_page, *, count, limit):
        super().__init__(object_list, per_page)
        self.count = min(count, limit)
        self.capped = count > limit

    @cached_property
    def items_count_label(self):
        if self.capped:
            return _("more than %(count)s %(items)s") % {
                "count": self.count,
                "items": self.verbose_name_plural,
            }
        return super().items_count_label


class StrictIndexView(IndexView):
    export_target = None  # a binary file when a background task writes the export

    def dispatch(self, request, *args, **kwargs):
        if any(
            "\x00" in name or "\x00" in value
            for name, values in request.GET.lists()
            for value in values
        ):
            return bad_request(request, SuspiciousOperation("NUL in the query string"))
        try:
            return super().dispatch(request, *args, **kwargs)
        except IncorrectLookupParameters as exc:
            return bad_request(request, SuspiciousOperation(str(exc)))

    def get_filters(self, request):
        specs, has_filters, remaining, use_distinct = super().get_filters(request)
        if remaining:
            raise IncorrectLookupParameters(f"Unknown parameters: {sorted(remaining)}")
        return specs, has_filters, remaining, use_distinct

    # At scale --------------------------------------------------------------------------------
    def _annotations(self):
        return set(getattr(self.model_admin, "row_annotations", ()))

    def _sorted_by_annotation(self):
        names = self._annotations()
        for part in str(self.params.get(self.ORDER_VAR, "")).split("."):
            try:
                field = self.get_ordering_field(self.list_display[int(part.rpartition("-")[2])])
            except (IndexError, ValueError):
                continue
            if field and field.lstrip("-") in names:
                return True
        return False

    def get_base_queryset(self, request=None):
        queryset = super().get_base_queryset(request)
        if self._annotations() and self._sorted_by_annotation():
            queryset = self.model_admin.annotate_rows(queryset)
        return queryset

    def rows_of_page(self, rows):
        """The page's rows with the model admin's annotations, computed for them only."""
        names = self._annotations()
        if not names or names <= set(rows.query.annotations):
            return rows
        ids = list(rows.values_list("pk", flat=True))
        found = self.model_admin.annotate_rows(
            self.model_admin.get_queryset(self.request).filter(pk__in=ids)
        ).in_bulk()
        return [found[pk] for pk in ids if pk in found]

    def _count_label(self, count, limit):
        return _("more than %(count)s") % {"count": limit} if count > limit else count

    def get_context_data(self, **kwargs):
        limit = guestpay_settings.ADMIN_COUNT_LIMIT
        queryset = self.queryset  # made by dispatch(); modeladmin would make it again
        result_count = count_at_most(queryset, limit)
        if self.query or self.get_filters_params():
            all_count = count_at_most(self.get_base_queryset(self.request), limit)
        else:
            all_count = result_count
        paginator = CappedPaginator(queryset, self.items_per_page, count=result_count, limit=limit)
        try:
            page_obj = paginator.page(self.page_num)
        except InvalidPage:
            page_obj = paginator.page(1)
        page_obj.object_list = self.rows_of_page(page_obj.object_list)
        context = {
            "view": self,
            "all_count": self._count_label(all_count, limit) if all_count else 0,
            "result_count": self._count_label(result_count, limit),
            "paginator": paginator,
            "page_obj": page_obj,
            "elided_page_range": paginator.get_elided_page_range(self.page_num),
            "object_list": page_obj.object_list,
            "user_can_create": self.permission_helper.user_can_create(self.request.user),
            "show_search": self.search_handler.show_search_form,
            "search_note": getattr(self.search_handler, "note", ""),
            **kwargs,
        }
        return super(IndexView, self).get_context_data(**context)

    def as_spreadsheet(self, queryset, spreadsheet_format):
        threshold = guestpay_settings.ADMIN_EXPORT_THRESHOLD
        if self.export_target is None and count_at_most(queryset, threshold) > threshold:
            return start_export(self, spreadsheet_format)
        annotate = getattr(self.model_admin, "annotate_rows", None)
        if annotate is not None and not self._sorted_by_annotation():
            queryset = annotate(queryset)
        rows = ChunkedRows(queryset)
        if self.export_target is not None:
            return write_export(self, rows, spreadsheet_format, self.export_target)
        return super().as_spreadsheet(rows, spreadsheet_format)

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        empty = self.model_admin.get_empty_value_display()
        return {
            field: (_zero_or_blank(field, item, self.model_admin) if value == empty else value)
            for field, value in row.items()
        }

    def write_csv_row(self, writer, row_dict):
        return writer.writerow(
            {
                field: spreadsheet_safe(self.preprocess_field_value(field, value, self.FORMAT_CSV))
                for field, value in row_dict.items()
            }
        )


def _zero_or_blank(field, item, model_admin):
    """modeladmin exports every falsy value as "empty": a 0 (a free order's amount) stays 0."""
    value = lookup_field(field, item, model_admin)[2]
    zero = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    return value if zero else ""


class NumericIdURLHelper(AdminURLHelper):
    def _get_object_specific_action_url_pattern(self, action):
        return rf"^{self.base_url_path}/{action}/(?P<instance_pk>[0-9]+)/$"


class IndexedSearchHandler(DjangoORMSearchHandler):
    """Search through :mod:`wagtail_guestpay.staff.search` (indexed lookups, exact matches
    first); ``note`` tells staff what partial text finds on this database."""

    search = None  # a function: search term -> Matches, or None for no search
    note = ""

    def search_queryset(self, queryset, search_term, **kwargs):
        matches = type(self).search(search_term)
        if matches is None:
            return queryset
        self.note = matches.note
        return queryset.filter(pk__in=matches.ids)


class OrderSearchHandler(IndexedSearchHandler):
    """Order number, whole e-mail, reference, then partial text (staff.search)."""

    search = search_orders


class ContactSearchHandler(IndexedSearchHandler):
    search = search_contacts


class InspectURLFinder(ModelAdminURLFinder):
    """For Wagtail's reports (site history): read-only listings link to the inspect view."""

    def get_edit_url(self, instance):
        if self.user is not None and self.permission_helper.user_can_inspect_obj(
            self.user, instance
        ):
            return self.url_helper.get_action_url("inspect", instance.pk)
        return None


class InspectFirstButtonHelper(ButtonHelper):
    """A listing row's main link opens the inspect view (where the fixes are), not the edit
    form."""

    def get_primary_button(self, obj):
        if self.permission_helper.user_can_inspect_obj(self.request.user, obj):
            return self.inspect_button(obj.pk)
        return super().get_primary_button(obj)

    def get_buttons_for_obj(self, obj, exclude=None, **kwargs):
        # The row's title already links to the inspect view.
        return super().get_buttons_for_obj(obj, exclude=[*(exclude or []), "inspect"], **kwargs)


class StaffListingAdmin(ModelAdmin):
    """What Transactions, Contacts and Payment notifications share: an item of the Payments menu
    (wagtail_hooks), rows read in an inspect view that also holds the audit history and the
    fixes, numeric object URLs, and Wagtail's reports linking to that inspect view."""

    add_to_admin_menu = False
    inspect_view_enabled = True
    inspect_view_fields = ["id"]  # the templates show the rest, from prefetched queries
    history_view_enabled = False  # the audit history is part of the inspect view
    url_helper_class = NumericIdURLHelper
    list_per_page = 50
    index_view_extra_css = inspect_view_extra_css = ["wagtail_guestpay/admin.css"]

    def get_permissions_for_registration(self):
        # Access is governed by the Order's custom permissions (see admin.permissions).
        return Permission.objects.none()

    def register_admin_url_finders(self):
        from wagtail.admin.admin_url_finder import register_admin_url_finder

        register_admin_url_finder(
            self.model,
            type(
                f"{self.model.__name__}URLFinder",
                (InspectURLFinder,),
                {"permission_helper": self.permission_helper, "url_helper": self.url_helper},
            ),
        )

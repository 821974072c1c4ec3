"""What the staff listings share on top of wagtail-modeladmin's index view.

modeladmin applies any query-string parameter it does not recognise as an ORM lookup (as Django's
admin did before ``lookup_allowed``): on a list of orders, ``?user__password__startswith=x``
would let a viewer probe password hashes. :class:`StrictIndexView` accepts only the parameters
its filters declare, and answers 400 to the rest and to malformed values (a NUL character,
which PostgreSQL refuses in text, included). :class:`NumericIdURLHelper` keeps the object URLs
(inspect, edit, delete) to numeric ids: modeladmin's word pattern would hand ``abc`` to the
database lookup (a ValueError, a 500).
"""

import re

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.models import Permission
from django.core.exceptions import SuspiciousOperation
from django.views.defaults import bad_request
from wagtail_modeladmin.helpers import (
    AdminURLHelper,
    ButtonHelper,
    DjangoORMSearchHandler,
    ModelAdminURLFinder,
)
from wagtail_modeladmin.options import ModelAdmin
from wagtail_modeladmin.views import IndexView

from ..conf import guestpay_settings

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


class StrictIndexView(IndexView):
    def dispatch(self, request, *args, **kwargs):
        if any("\x00" in name or "\x00" in value
               for name, values in request.GET.lists() for value in values):
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

    def to_row_dict(self, item):
        row = super().to_row_dict(item)
        empty = self.model_admin.get_empty_value_display()
        return {field: ("" if value == empty else value) for field, value in row.items()}

    def write_csv_row(self, writer, row_dict):
        return writer.writerow({
            field: spreadsheet_safe(self.preprocess_field_value(field, value, self.FORMAT_CSV))
            for field, value in row_dict.items()
        })


class NumericIdURLHelper(AdminURLHelper):
    def _get_object_specific_action_url_pattern(self, action):
        return rf"^{self.base_url_path}/{action}/(?P<instance_pk>[0-9]+)/$"


class OrderNumberSearchHandler(DjangoORMSearchHandler):
    """Searching for an order number (``GP-000012``) finds that order."""

    def search_queryset(self, queryset, search_term, **kwargs):
        prefix = re.escape(guestpay_settings.REFERENCE_PREFIX)
        match = re.fullmatch(rf"\s*{prefix}-?0*(\d{{1,18}})\s*", search_term or "", re.IGNORECASE)
        if match:
            return queryset.filter(pk=int(match.group(1)))
        return super().search_queryset(queryset, search_term, **kwargs)


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

        register_admin_url_finder(self.model, type(
            f"{self.model.__name__}URLFinder", (InspectURLFinder,),
            {"permission_helper": self.permission_helper, "url_helper": self.url_helper},
        ))

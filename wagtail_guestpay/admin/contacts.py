"""Contacts: the CRM of buyers, for staff (wagtail-modeladmin). One row per e-mail address, with
its account, orders, access and registration fields; staff who fix orders may edit the name and
the note (the e-mail changes only through an order's e-mail correction)."""

import json

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail_modeladmin.views import InspectView

from ..fulfilment.accounts import users_with_email
from ..models import AccessGrant, Contact, Order, RegistrationField
from .display import short_datetime
from .filters import ContactAccessFilter, ContactAccountFilter, DateRangeFilter
from .listing import (
    ContactSearchHandler,
    InspectFirstButtonHelper,
    StaffListingAdmin,
    StrictIndexView,
)
from .permissions import ContactPermissionHelper, can_handle_buyer_data, can_manage_access


def _count(queryset, group_by, counted="pk"):
    return Coalesce(
        Subquery(
            queryset.values(group_by).annotate(n=Count(counted, distinct=True)).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def annotate_contacts(queryset):
    """The counts the listing's rows and the export show (a page's rows, an export's)."""
    return queryset.annotate(
        order_count=_count(Order.objects.filter(contact=OuterRef("pk")), "contact"),
        # Products, not grants: a product bought twice (two orders, two grants) counts once.
        access_count=_count(
            AccessGrant.objects.filter(user=OuterRef("user"), revoked_at__isnull=True),
            "user",
            "product",
        ),
    )


def contacts_queryset():
    return annotate_contacts(Contact.objects.select_related("user"))


def registration_items(contact):
    """The contact's registration fields as (label, value), labelled by the site's fields."""
    data = contact.registration_data or {}
    labels = dict(
        RegistrationField.objects.filter(name__in=list(data)).values_list("name", "label")
    )
    return [(labels.get(name, name), value) for name, value in sorted(data.items())]


class ContactIndexView(StrictIndexView):
    page_title = _("Contacts")


class ContactInspectView(InspectView):
    def get_page_title(self):
        return _("Contact")

    def get_page_subtitle(self):
        return self.instance.email

    def get_context_data(self, **kwargs):
        from .history import history_for
        from .links import fix_url, inspect_url
        from .transactions import ACCESS_LABELS, access_state, transactions_queryset

        contact = self.instance
        user = contact.user
        orders = list(transactions_queryset().filter(contact=contact).order_by("-created_at"))
        for order in orders:
            order.access_label = ACCESS_LABELS[access_state(order)]
        grants = list(
            AccessGrant.objects.filter(user=user)
            .select_related("product", "order", "granted_by", "revoked_by")
            .order_by("-granted_at")
            if user
            else []
        )
        may_revoke = can_manage_access(self.request.user)
        for grant in grants:
            grant.revoke_url = (
                fix_url("revoke_grant", grant.pk) if (may_revoke and grant.is_active) else ""
            )
            grant.order_url = inspect_url("transactions", grant.order_id) if grant.order_id else ""
        for order in orders:
            order.url = inspect_url("transactions", order.pk)
        others = (
            users_with_email(contact.email).exclude(pk=user.pk if user else None)
            if not contact.is_placeholder
            else []
        )
        return super().get_context_data(
            contact=contact,
            registration=registration_items(contact),
            orders=orders,
            grants=grants,
            other_accounts=others,
            history=history_for(contact),
            can_manage_access=may_revoke,
            can_edit=self.permission_helper.user_can_edit_obj(self.request.user, contact),
            edit_url=self.url_helper.get_action_url("edit", contact.pk),
            grant_url=f"{fix_url('grant_access')}?contact={contact.pk}",
            can_handle_buyer_data=can_handle_buyer_data(self.request.user),
            export_data_url=fix_url("export_buyer_data", contact.pk),
            erase_data_url=fix_url("erase_buyer_data", contact.pk),
            **kwargs,
        )


class ContactsAdmin(StaffListingAdmin):
    model = Contact
    menu_label = _("Contacts")
    menu_item_name = "contacts"  # not slugified from the label: the same in every language
    menu_icon = "group"
    base_url_path = "guestpay/contacts"
    permission_helper_class = ContactPermissionHelper
    index_view_class = ContactIndexView
    inspect_view_class = ContactInspectView
    inspect_template_name = "wagtail_guestpay/admin/contacts/inspect.html"
    index_template_name = "wagtail_guestpay/admin/contacts/index.html"
    button_helper_class = InspectFirstButtonHelper
    search_handler_class = ContactSearchHandler
    row_annotations = ("order_count", "access_count")
    list_display = (
        "email_col",
        "name",
        "account_col",
        "orders_col",
        "access_col",
        "source",
        "created_col",
    )
    list_filter = (
        "is_placeholder",
        "source",
        ContactAccountFilter,
        ContactAccessFilter,
        DateRangeFilter,
    )
    search_fields = ("email", "name", "user__username", "user__email", "registration_data", "note")
    list_export = (
        "email",
        "name",
        "placeholder_export",
        "account_export",
        "orders_col",
        "access_col",
        "source_export",
        "created_iso",
        "registration_export",
        "note",
    )
    export_filename = "contacts"
    panels = [FieldPanel("name"), FieldPanel("note")]

    def get_queryset(self, request):
        return Contact.objects.select_related("user")

    def annotate_rows(self, queryset):
        return annotate_contacts(queryset)

    def email_col(self, contact):
        if contact.is_placeholder:
            return format_html(
                '<span class="guestpay-code">{}</span><br>'
                '<strong class="guestpay-flag">{}</strong>',
                contact.email,
                _("placeholder e-mail"),
            )
        return format_html('<span class="guestpay-code">{}</span>', contact.email)

    email_col.short_description = _("e-mail")
    email_col.admin_order_field = "email"

    def created_col(self, contact):
        return short_datetime(contact.created_at)

    created_col.short_description = _("created")
    created_col.admin_order_field = "created_at"

    def account_col(self, contact):
        return contact.user.get_username() if contact.user else ""

    account_col.short_description = _("account")

    def orders_col(self, contact):
        return contact.order_count

    orders_col.short_description = _("orders")
    orders_col.admin_order_field = "order_count"

    def access_col(self, contact):
        return contact.access_count

    access_col.short_description = _("products with access")
    access_col.admin_order_field = "access_count"

    # Export-only values ---------------------------------------------------------------------
    def placeholder_export(self, contact):
        return _("yes") if contact.is_placeholder else ""

    placeholder_export.short_description = _("placeholder e-mail")

    def account_export(self, contact):
        return contact.user.get_username() if contact.user else ""

    account_export.short_description = _("account")

    def source_export(self, contact):
        return contact.get_source_display()

    source_export.short_description = _("source")

    def created_iso(self, contact):
        return contact.created_at.isoformat(timespec="seconds")

    created_iso.short_description = _("created")

    def registration_export(self, contact):
        data = contact.registration_data or {}
        return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""

    registration_export.short_description = _("registration fields")

"""Transactions: every order with its payment attempts, for staff (wagtail-modeladmin).

The listing is one row per order, showing its latest payment's payment system and reference;
the inspect view shows all of its payments, the raw notifications, grants, e-mails and the audit
history, with the fixes the viewer may carry out. Everything shown comes from annotated querysets
(a fixed number of queries per page).
"""

from django.db.models import CharField, Count, Exists, IntegerField, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail_modeladmin.views import InspectView

from ..models import (
    AccessGrant,
    Attention,
    Order,
    OrderSource,
    Payment,
    PaymentEvent,
    Receipt,
    Redemption,
)
from .display import ACCESS_LABELS, _iso, access_state, short_datetime
from .filters import (
    AccessStateFilter,
    BoughtTwiceFilter,
    DateRangeFilter,
    NeedsActionFilter,
    ProviderFilter,
)
from .listing import (
    InspectFirstButtonHelper,
    OrderSearchHandler,
    StaffListingAdmin,
    StrictIndexView,
)
from .permissions import ViewOnlyPermissionHelper, staff_permissions
from .redaction import safe_body, safe_data, safe_headers

ROW_ANNOTATIONS = (
    "provider_name",
    "last_provider_reference",
    "processed_at",
    "payment_count",
    "has_active_grant",
    "has_grant",
)


def annotate_transactions(queryset):
    """What the listing's rows and the export show, for the orders of ``queryset``: run on a
    page's rows or an export's, never on the whole table to count it."""
    payments = Payment.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-pk")
    return queryset.annotate(
        provider_name=Subquery(payments.values("account__name")[:1], output_field=CharField()),
        last_provider_reference=Subquery(
            payments.values("provider_reference")[:1], output_field=CharField()
        ),
        processed_at=Subquery(
            Payment.objects.filter(order=OuterRef("pk"))
            .values("order")
            .annotate(last=Max("processed_at"))
            .values("last")[:1]
        ),
        payment_count=Coalesce(
            Subquery(
                Payment.objects.filter(order=OuterRef("pk"))
                .values("order")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        has_active_grant=Exists(
            AccessGrant.objects.filter(order=OuterRef("pk"), revoked_at__isnull=True)
        ),
        has_grant=Exists(AccessGrant.objects.filter(order=OuterRef("pk"))),
    )


def transactions_queryset():
    """Orders annotated with what the listing and the export show."""
    return annotate_transactions(Order.objects.select_related("offer", "contact"))


def processed(order):
    """When the last payment was processed; for a free order (no payment), when it was granted."""
    return order.processed_at or (order.paid_at if order.is_free else None)


def label(choices, value):
    """The label of ``value`` in a TextChoices class, "" for none: an export calls this for
    every row, where get_FOO_display() would hash the whole list of choices each time."""
    try:
        return str(choices(value).label) if value else ""
    except ValueError:
        return value


class TransactionIndexView(StrictIndexView):
    page_title = _("Transactions")


class TransactionInspectView(InspectView):
    def get_page_title(self):
        return _("Transaction")

    def get_page_subtitle(self):
        return self.instance.number

    def get_context_data(self, **kwargs):
        from ..emails import kind_label
        from .actions import order_actions, payment_actions
        from .history import history_for
        from .links import fix_url, inspect_url
        from .permissions import can_manage_access

        order = transactions_queryset().select_related("user", "site").get(pk=self.instance.pk)
        user = self.request.user
        payments = list(order.payments.select_related("account").prefetch_related("references"))
        for payment in payments:
            payment.actions = payment_actions(payment, user)
        events = list(
            PaymentEvent.objects.filter(payment__order=order)
            .select_related("payment", "account")
            .order_by("received_at", "pk")
        )
        for event in events:
            event.shown_headers = safe_headers(event.headers)
            event.shown_body = safe_body(event.body) if event.body else ""
            event.shown_data = safe_data(event.data)
            event.url = inspect_url("events", event.pk)
        grants = list(
            order.grants.select_related("user", "product", "granted_by", "revoked_by").order_by(
                "-granted_at"
            )
        )
        emails = list(order.emails.order_by("-created_at", "-pk"))
        for email in emails:
            email.kind_label = kind_label(email.kind)
        may_revoke = can_manage_access(user)
        for grant in grants:
            grant.revoke_url = (
                fix_url("revoke_grant", grant.pk) if (may_revoke and grant.is_active) else ""
            )
        return super().get_context_data(
            order=order,
            access=ACCESS_LABELS[access_state(order)],
            payments=payments,
            events=events,
            grants=grants,
            refunds=list(order.refunds.select_related("payment", "requested_by")),
            coupon_use=Redemption.objects.select_related("coupon").filter(order=order).first(),
            receipt=Receipt.objects.filter(order=order).first(),
            contact_url=inspect_url("contacts", order.contact_id) if order.contact_id else "",
            emails=emails,
            history=history_for(order),
            actions=order_actions(order, user),
            **kwargs,
        )


class TransactionsAdmin(StaffListingAdmin):
    model = Order
    menu_label = _("Transactions")
    menu_item_name = "transactions"  # not slugified from the label: the same in every language
    menu_icon = "list-ul"
    base_url_path = "guestpay/transactions"
    permission_helper_class = ViewOnlyPermissionHelper
    index_view_class = TransactionIndexView
    inspect_view_class = TransactionInspectView
    inspect_template_name = "wagtail_guestpay/admin/transactions/inspect.html"
    index_template_name = "wagtail_guestpay/admin/transactions/index.html"
    button_helper_class = InspectFirstButtonHelper
    search_handler_class = OrderSearchHandler
    row_annotations = ROW_ANNOTATIONS
    list_display = ("number_col", "dates_col", "offer_col", "email_col", "status_col")
    list_filter = (
        NeedsActionFilter,
        "status",
        "source",
        ProviderFilter,
        "offer",
        DateRangeFilter,
        AccessStateFilter,
        BoughtTwiceFilter,
    )
    search_fields = (
        "email",
        "contact__name",
        "payments__provider_reference",
        "payments__references__value",
        "payments__reference",
        "payments__payer_name",
        "payments__payer_email",
    )
    list_export = (
        "number",
        "created_iso",
        "processed_iso",
        "offer_title",
        "amount",
        "currency",
        "source_export",
        "provider_export",
        "reference_col",
        "email",
        "placeholder_export",
        "status_export",
        "access_export",
        "attention_export",
        "payments_export",
    )
    export_filename = "transactions"

    def get_queryset(self, request):
        return Order.objects.select_related("offer", "contact")

    def annotate_rows(self, queryset):
        return annotate_transactions(queryset)

    def get_permissions_for_registration(self):
        return staff_permissions()

    # Columns --------------------------------------------------------------------------------
    def number_col(self, order):
        return order.number

    number_col.short_description = _("number")
    number_col.admin_order_field = "pk"

    def dates_col(self, order):
        return format_html(
            '{}<br><span class="guestpay-minor">{}</span>',
            short_datetime(order.created_at),
            short_datetime(processed(order)) or "-",
        )

    dates_col.short_description = _("created / processed")
    dates_col.admin_order_field = "created_at"

    def offer_col(self, order):
        return format_html(
            '{}, {}<br><span class="guestpay-minor">{}</span><br>'
            '<span class="guestpay-minor guestpay-code">{}</span>',
            order.offer.title,
            order.amount_display,
            order.provider_name or (label(OrderSource, order.source) if order.is_free else "-"),
            order.last_provider_reference or "",
        )

    offer_col.short_description = _("offer / payment")
    offer_col.admin_order_field = "offer__title"

    def source_export(self, order):
        return label(OrderSource, order.source)

    source_export.short_description = _("source")

    def provider_export(self, order):
        return order.provider_name or ""

    provider_export.short_description = _("payment system")

    def reference_col(self, order):
        return order.last_provider_reference or ""

    reference_col.short_description = _("provider reference")

    def email_col(self, order):
        if order.email_is_placeholder:
            return format_html(
                '<span class="guestpay-code">{}</span><br>'
                '<strong class="guestpay-flag">{}</strong>',
                order.email,
                _("placeholder e-mail"),
            )
        return format_html('<span class="guestpay-code">{}</span>', order.email or "-")

    email_col.short_description = _("buyer e-mail")
    email_col.admin_order_field = "email"

    def status_col(self, order):
        status = format_html(
            '<span class="w-status">{}</span><br><span class="guestpay-minor">{} {}</span>',
            label(Order.Status, order.status),
            _("access:"),
            ACCESS_LABELS[access_state(order)],
        )
        if not order.attention:
            return status
        return format_html(
            '{}<br><strong class="guestpay-flag">{} {}</strong>',
            status,
            _("Needs action:"),
            label(Attention, order.attention),
        )

    status_col.short_description = _("status")
    status_col.admin_order_field = "status"

    # Export-only values ---------------------------------------------------------------------
    def created_iso(self, order):
        return _iso(order.created_at)

    created_iso.short_description = _("created")

    def processed_iso(self, order):
        return _iso(processed(order))

    processed_iso.short_description = _("processed")

    def offer_title(self, order):
        return order.offer.title

    offer_title.short_description = _("offer")

    def placeholder_export(self, order):
        return _("yes") if order.email_is_placeholder else ""

    placeholder_export.short_description = _("placeholder e-mail")

    def status_export(self, order):
        return label(Order.Status, order.status)

    status_export.short_description = _("status")

    def access_export(self, order):
        return ACCESS_LABELS[access_state(order)]

    access_export.short_description = _("access")

    def attention_export(self, order):
        return label(Attention, order.attention)

    attention_export.short_description = _("needs action")

    def payments_export(self, order):
        return order.payment_count

    payments_export.short_description = _("payment attempts")

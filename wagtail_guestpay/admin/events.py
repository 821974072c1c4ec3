"""Payment notifications: the raw log of what payment systems said (PaymentEvent), for staff.

Shown as received, but safely: the templates escape everything, header values that could carry
credentials are masked, and the buyers' secret order links (a provider may echo our return URL)
are cut. Notifications about payments this site does not know, and those that failed to
process, wait in the dashboard panel until staff mark them as reviewed.
"""

from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail_modeladmin.views import InspectView

from ..models import PaymentEvent
from ..staff import fixes
from .display import short_datetime
from .filters import DateRangeFilter, ProviderFilter, YesNoFilter
from .listing import StaffListingAdmin, StrictIndexView
from .permissions import ViewOnlyPermissionHelper, can_fix
from .redaction import safe_body, safe_data, safe_headers


class ReviewedFilter(YesNoFilter):
    title = _("reviewed by staff")
    parameter_name = "reviewed"
    yes_label, no_label = _("Reviewed"), _("Not reviewed")

    def condition(self):
        return fixes.event_reviewed()


class EventProviderFilter(ProviderFilter):
    """Notifications received for one payment system."""

    def made_through(self, account_id):
        return Q(account_id=account_id)


class ReceivedRangeFilter(DateRangeFilter):
    field_name = "received_at"


class EventIndexView(StrictIndexView):
    page_title = _("Payment notifications")


class EventInspectView(InspectView):
    def get_page_title(self):
        return _("Payment notification")

    def get_page_subtitle(self):
        return str(self.instance)

    def get_context_data(self, **kwargs):
        from .history import history_for
        from .links import fix_url

        event = (
            PaymentEvent.objects.select_related("account", "payment__order")
            .annotate(reviewed=fixes.event_reviewed())
            .get(pk=self.instance.pk)
        )
        return super().get_context_data(
            event=event,
            headers=safe_headers(event.headers),
            body=safe_body(event.body) if event.body else "",
            data=safe_data(event.data),
            history=history_for(event),
            review_url=(
                fix_url("event_reviewed", event.pk)
                if can_fix(self.request.user) and not event.reviewed
                else ""
            ),
            **kwargs,
        )


class PaymentEventsAdmin(StaffListingAdmin):
    model = PaymentEvent
    menu_label = _("Payment notifications")
    menu_item_name = "payment-notifications"  # the same in every language
    menu_icon = "history"
    base_url_path = "guestpay/events"
    permission_helper_class = ViewOnlyPermissionHelper
    index_view_class = EventIndexView
    inspect_view_class = EventInspectView
    inspect_template_name = "wagtail_guestpay/admin/events/inspect.html"
    list_display = (
        "received_col",
        "provider_col",
        "what_col",
        "outcome_col",
        "payment_col",
        "reviewed_col",
    )
    list_filter = (
        "outcome",
        ReviewedFilter,
        EventProviderFilter,
        "source",
        "signature_valid",
        ReceivedRangeFilter,
    )
    search_fields = ("provider_event_id", "event_type", "payment__reference", "body")
    list_select_related = ("account", "payment__order")

    def get_queryset(self, request):
        return PaymentEvent.objects.select_related("account", "payment__order").annotate(
            reviewed=fixes.event_reviewed()
        )

    def received_col(self, event):
        return short_datetime(event.received_at)

    received_col.short_description = _("received")
    received_col.admin_order_field = "received_at"

    def provider_col(self, event):
        return event.account.name

    provider_col.short_description = _("payment system")

    def what_col(self, event):
        return format_html(
            '{}<br><span class="guestpay-minor">{}</span>',
            event.event_type or "-",
            event.get_source_display(),
        )

    what_col.short_description = _("type / source")
    what_col.admin_order_field = "event_type"

    def outcome_col(self, event):
        if not event.signature_valid:
            return format_html(
                '<span class="w-status w-status--primary">{}</span>', _("Signature not valid")
            )
        return event.get_outcome_display()

    outcome_col.short_description = _("outcome")
    outcome_col.admin_order_field = "outcome"

    def payment_col(self, event):
        if event.payment is None:
            return ""
        return format_html(
            '{}<br><span class="guestpay-minor guestpay-code">{}</span>',
            event.payment.order.number,
            event.payment.reference,
        )

    payment_col.short_description = _("payment")

    def reviewed_col(self, event):
        return _("yes") if event.reviewed else ""

    reviewed_col.short_description = _("reviewed by staff")

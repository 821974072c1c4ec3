"""The staff fixes' screens for a payment (check it with its payment system, review a held
payment) and for a notification (mark it reviewed); the shared screen is :class:`.fixes.FixView`.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Payment, PaymentEvent
from ..providers.exceptions import ProviderError
from ..staff import fixes
from .fix_forms import ReviewHoldForm
from .fixes import FixView
from .links import index_url, inspect_url


class PaymentFixView(FixView):
    summary_template = "wagtail_guestpay/admin/fixes/payment_summary.html"

    def get_object(self):
        return get_object_or_404(
            Payment.objects.select_related("order__offer", "account"), pk=self.kwargs["payment_pk"]
        )

    def get_success_url(self):
        return inspect_url("transactions", self.object.order_id)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["order"] = self.object.order
        return context


class CheckPaymentView(PaymentFixView):
    action = "check"
    page_title = gettext_lazy("Check with the payment system now")
    submit_label = gettext_lazy("Check now")

    def get_consequences(self):
        return [
            _(
                "The payment system is asked where this payment stands; when it says paid, "
                "the buyer gets access and the access e-mail at once."
            )
        ]

    def perform(self, data, nonce):
        try:
            payment = fixes.recheck_payment(
                self.object, by=self.request.user, reason=data["reason"], form=nonce
            )
        except ProviderError as exc:
            raise ValidationError(
                _("The payment system could not be reached: %(error)s. Try again later.")
                % {"error": exc}
            ) from exc
        return _("Checked: the payment is now “%(status)s”.") % {
            "status": payment.get_status_display()
        }


class ReviewHoldView(PaymentFixView):
    action = "review"
    form_class = ReviewHoldForm
    page_title = gettext_lazy("Review a held payment")
    submit_label = gettext_lazy("Decide")

    def get_consequences(self):
        return [
            _(
                "The payment was held because the amount or currency received does not match "
                "the order: %(note)s"
            )
            % {"note": self.object.order.attention_note or "-"}
        ]

    def perform(self, data, nonce):
        by, reason = self.request.user, data["reason"]
        if data["decision"] == ReviewHoldForm.ACCEPT:
            fixes.accept_held_payment(self.object, by=by, reason=reason, form=nonce)
            return _("Payment accepted: the order is paid.")
        fixes.refuse_held_payment(self.object, by=by, reason=reason, form=nonce)
        return _("Payment refused. Refund it at the payment system.")


class EventReviewedView(FixView):
    action = "event-reviewed"
    page_title = gettext_lazy("Mark the notification as reviewed")
    submit_label = gettext_lazy("Mark as reviewed")
    summary_template = "wagtail_guestpay/admin/fixes/event_summary.html"

    def get_object(self):
        return get_object_or_404(
            PaymentEvent.objects.select_related("account", "payment"), pk=self.kwargs["event_pk"]
        )

    def get_success_url(self):
        return inspect_url("events", self.object.pk)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url("events"), "label": _("Payment notifications")},
            {"url": self.get_success_url(), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_consequences(self):
        return [
            _(
                "The notification leaves the dashboard's “Needs attention” panel; nothing "
                "else changes."
            )
        ]

    def perform(self, data, nonce):
        fixes.mark_event_reviewed(
            self.object, by=self.request.user, reason=data["reason"], form=nonce
        )
        return _("Notification marked as reviewed.")

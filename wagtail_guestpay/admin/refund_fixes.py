"""The "Refund" fix's screen: an order's paid payment refunded at its payment system
(:mod:`wagtail_guestpay.staff.refunds` does it)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..staff import refunds
from .fix_forms import RefundForm
from .fixes import OrderFixView
from .permissions import can_refund


class RefundView(OrderFixView):
    action = "refund"
    form_class = RefundForm
    page_title = gettext_lazy("Refund the order")
    submit_label = gettext_lazy("Refund")
    allowed = staticmethod(can_refund)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        state = self.refundable
        payment = state.payment
        kwargs.update(
            refundable=state.amount,
            partial=state.partial,
            currency=payment.currency if payment else self.object.currency,
        )
        return kwargs

    @property
    def refundable(self):
        if not hasattr(self, "_refundable"):
            self._refundable = refunds.refundable(self.object)
        return self._refundable

    def get_consequences(self):
        state, offer = self.refundable, self.object.offer
        if state.payment is None or state.amount <= 0:
            return [_("This order has no paid payment left to refund: nothing will happen.")]
        system = state.payment.account.get_kind_display()
        if not state.supported:
            return [
                _(
                    "%(system)s cannot refund through its API: refund at the payment "
                    "system's dashboard."
                )
                % {"system": system}
            ]
        lines = [
            _("%(system)s is asked to pay the amount back to the buyer (payment %(reference)s).")
            % {"system": system, "reference": state.payment.reference}
        ]
        if offer.revoke_on_refund:
            lines.append(
                _(
                    "Refunding the whole amount ends the order's access (the offer "
                    "says so); a part keeps it."
                )
            )
        else:
            lines.append(_("The buyer keeps access (the offer says so)."))
        lines.append(_("The buyer gets an e-mail about the refund."))
        return lines

    def perform(self, data, nonce):
        try:
            refund = refunds.refund_order(
                self.object,
                by=self.request.user,
                reason=data["reason"],
                amount=data.get("amount"),
                form=nonce,
            )
        except refunds.RefundRefused as exc:
            raise ValidationError(_("The refund was not made: %(error)s") % {"error": exc}) from exc
        if refund.status == refund.Status.DONE:
            return _("Refunded: %(amount)s.") % {"amount": refund.amount_display}
        return _(
            "%(system)s accepted the refund of %(amount)s; the order changes when it confirms it."
        ) % {"system": refund.payment.account.get_kind_display(), "amount": refund.amount_display}

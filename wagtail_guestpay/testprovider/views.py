"""The test provider's hosted payment page and its merchant dashboard."""

from django import forms
from django.contrib.auth.decorators import user_passes_test
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from .dashboard import DASHBOARD_ACTIONS, apply_action
from .delivery import notify
from .models import TestCharge

staff_member_required = user_passes_test(lambda user: user.is_active and user.is_staff)

OUTCOMES = {
    "paid": TestCharge.Status.PAID,
    "paid_no_email": TestCharge.Status.PAID,
    "pending": TestCharge.Status.PENDING,
    "declined": TestCharge.Status.DECLINED,
    "cancel": TestCharge.Status.CANCELLED,
}


class HostedPageForm(forms.Form):
    email = forms.EmailField(label=_("E-mail for the receipt"), required=False, max_length=254)
    name = forms.CharField(label=_("Name on the card"), required=False, max_length=120)
    outcome = forms.ChoiceField(choices=[(key, key) for key in OUTCOMES])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("outcome") in ("paid", "pending") and not cleaned.get("email"):
            self.add_error("email", _("Enter the e-mail the payment system would return."))
        return cleaned


@require_http_methods(["GET", "POST"])
def hosted(request, charge_id):
    charge = get_object_or_404(TestCharge.objects.select_related("account"), public_id=charge_id)
    if charge.status != TestCharge.Status.CREATED:
        return TemplateResponse(
            request, "wagtail_guestpay_testprovider/done.html", {"charge": charge}
        )
    form = HostedPageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = form.cleaned_data["outcome"]
        with transaction.atomic():
            locked = TestCharge.objects.select_for_update().get(pk=charge.pk)
            if locked.status != TestCharge.Status.CREATED:
                raise Http404
            locked.status = OUTCOMES[outcome]
            if outcome != "cancel":
                locked.email = "" if outcome == "paid_no_email" else form.cleaned_data["email"]
                locked.payer_name = form.cleaned_data["name"]
            locked.save()
            # A cancelled checkout is notified too (as PayPal and Stripe's expiry are), so that
            # staff see the payment "Cancelled" rather than forever "Sent to the payment system".
            notify(locked)
        # Only the buyer leaving uses the cancel URL (its ?cancelled=1 says "you left the payment
        # page"); a declined card comes back like any answer of the payment system, by the
        # return URL, and the result page shows what the notification said.
        url = charge.cancel_url if outcome == "cancel" else charge.return_url
        return HttpResponseRedirect(url)
    return TemplateResponse(
        request, "wagtail_guestpay_testprovider/hosted.html", {"charge": charge, "form": form}
    )


@staff_member_required
def dashboard(request):
    charges = TestCharge.objects.select_related("account")[:100]
    return TemplateResponse(
        request, "wagtail_guestpay_testprovider/dashboard.html", {"charges": charges}
    )


@staff_member_required
@require_POST
def dashboard_action(request, charge_id, action):
    if action not in DASHBOARD_ACTIONS:
        raise Http404
    try:
        apply_action(charge_id, action)
    except TestCharge.DoesNotExist as exc:
        raise Http404 from exc
    return redirect("wagtail_guestpay:testprovider:dashboard")

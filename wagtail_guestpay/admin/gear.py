"""The offer's "gear": payment without login, the coupon code field, the result pages and the
direct payment link.

In the offer's edit form, section "Payment method", :class:`GearPanel` shows a gear button when
the payment system chosen in the form supports payment without login (it follows the select
without saving). The button opens a Wagtail dialog that loads :class:`GearSettingsView` through
Wagtail's modal workflow; saving it saves those settings at once and logs them in the
offer's history. A new offer gets its gear after its first save (the panel says so).
"""

import json

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin.modal_workflow import render_modal_workflow
from wagtail.admin.panels import Panel
from wagtail.admin.widgets import AdminPageChooser
from wagtail.log_actions import LogFormatter, log
from wagtail.models import Page

from ..models import Offer, PaymentResultPage, ProviderAccount
from ..money import format_money
from .links import new_result_page_url
from .listing import is_db_id
from .provider_accounts import absolute_site_url

GEAR_DIALOG_ID = "guestpay-gear-dialog"
GEAR_FIELDS = ("guest_payment", "coupon_field", "success_page", "failure_page")
SWITCHES = ("guest_payment", "coupon_field")


def _not_a_page_id(value):
    """A submitted page that cannot be an id: forged text, or beyond the database's integers.
    Django's field and Wagtail's chooser would hand it to a query (a ValueError, a 500)."""
    return value not in (None, "") and not isinstance(value, Page) and not is_db_id(value)


class ResultPageChooser(AdminPageChooser):
    def get_instance(self, value):
        return None if _not_a_page_id(value) else super().get_instance(value)


class ResultPageField(forms.ModelChoiceField):
    def to_python(self, value):
        if _not_a_page_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class GearSettingsForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = list(GEAR_FIELDS)
        field_classes = {"success_page": ResultPageField, "failure_page": ResultPageField}
        widgets = {
            "success_page": ResultPageChooser(target_models=[PaymentResultPage]),
            "failure_page": ResultPageChooser(target_models=[PaymentResultPage]),
        }

    def clean(self):
        cleaned = super().clean()
        for name, kind in (
            ("success_page", PaymentResultPage.Kind.SUCCESS),
            ("failure_page", PaymentResultPage.Kind.FAILURE),
        ):
            page = cleaned.get(name)
            if page is not None and page.kind != kind:
                message = (
                    _(
                        "“%(page)s” is shown after a successful payment; choose a page made for "
                        "this case."
                    )
                    if page.kind == PaymentResultPage.Kind.SUCCESS
                    else _(
                        "“%(page)s” is shown after a failed payment; choose a page made for "
                        "this case."
                    )
                )
                self.add_error(name, ValidationError(message, params={"page": page.title}))
        return cleaned


def describe_page(page):
    return page.title if page is not None else gettext("the built-in page")


def gear_summary(offer):
    """What the panel shows under the gear, and what the dialog's save sends back."""
    return render_to_string(
        "wagtail_guestpay/admin/offers/gear_summary.html",
        {
            "offer": offer,
            "success_title": describe_page(offer.success_page),
            "failure_title": describe_page(offer.failure_page),
        },
    )


def widget_html(offer, link):
    if offer.is_free:
        label = gettext("Get it free")
    else:
        label = gettext("Pay %(price)s") % {"price": format_money(offer.price, offer.currency)}
    return format_html(
        '<a href="{}" style="display:inline-block;padding:0.75em 1.5em;border-radius:6px;'
        'background:#1d4ed8;color:#fff;font:600 16px/1.2 sans-serif;text-decoration:none">'
        "{}</a>",
        link,
        label,
    )


class GearSettingsView(View):
    """GET: the dialog's form; POST: save it. Answers in Wagtail's modal-workflow JSON."""

    permission_policy = None
    template_name = "wagtail_guestpay/admin/offers/gear_modal.html"

    def dispatch(self, request, pk):
        self.offer = get_object_or_404(Offer.objects.select_related("provider_account"), pk=pk)
        if not self.permission_policy.user_has_permission_for_instance(
            request.user, "change", self.offer
        ):
            raise PermissionDenied
        return super().dispatch(request, pk)

    @cached_property
    def form_account_differs(self):
        """The editor chose another payment system in the form without saving it yet."""
        chosen = self.request.GET.get("provider_account")
        return chosen is not None and chosen != str(self.offer.provider_account_id or "")

    def get(self, request, pk):
        return self.render(GearSettingsForm(instance=self.offer))

    def post(self, request, pk):
        before = {
            name: getattr(self.offer, name if name in SWITCHES else f"{name}_id")
            for name in GEAR_FIELDS
        }
        form = GearSettingsForm(request.POST, instance=self.offer)
        if not form.is_valid():
            return self.render(form)
        offer = form.save()
        after = {
            name: getattr(offer, name if name in SWITCHES else f"{name}_id") for name in GEAR_FIELDS
        }
        changed = [name for name in GEAR_FIELDS if before[name] != after[name]]
        if changed:
            log(
                instance=offer,
                action="wagtail_guestpay.gear_settings",
                user=request.user,
                data={
                    "changed": changed,
                    "guest_payment": offer.guest_payment,
                    "coupon_field": offer.coupon_field,
                    "success_page": _page_data(offer.success_page),
                    "failure_page": _page_data(offer.failure_page),
                },
            )
        return render_modal_workflow(
            request,
            None,
            json_data={
                "step": "gear_settings_done",
                "summary_html": gear_summary(offer),
                "message": gettext("Payment settings of “%(offer)s” saved.")
                % {"offer": offer.title},
            },
        )

    def render(self, form):
        link = absolute_site_url(self.request, self.offer.get_pay_path())
        return render_modal_workflow(
            self.request,
            self.template_name,
            template_vars={
                "offer": self.offer,
                "form": form,
                "action_url": self.request.path,
                "supported": self.offer.supports_guest_payment,
                "form_account_differs": self.form_account_differs,
                "direct_link": link,
                "widget_html": widget_html(self.offer, link),
                "new_result_page_url": new_result_page_url(),
            },
            json_data={"step": "gear_settings"},
        )


def _page_data(page):
    return {"id": page.pk, "title": page.title} if page is not None else None


class GearPanel(Panel):
    """The gear button, its dialog and a summary of the settings; see the module docstring."""

    def __init__(self, account_field="provider_account", method_field="payment_method", **kwargs):
        super().__init__(**kwargs)
        self.account_field = account_field
        self.method_field = method_field

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs.update(account_field=self.account_field, method_field=self.method_field)
        return kwargs

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_guestpay/admin/offers/gear_panel.html"

        @property
        def media(self):
            # The dialog's page choosers need their scripts on the page that opens it.
            return GearSettingsForm().media + forms.Media(js=["wagtail_guestpay/admin/gear.js"])

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            offer = self.instance
            form = self.form
            support = {
                str(pk): ProviderAccount(kind=kind).supports_guest_payment
                for pk, kind in ProviderAccount.objects.values_list("pk", "kind")
            }
            context.update(
                {
                    "offer": offer,
                    "saved": bool(offer and offer.pk),
                    "support_json": json.dumps(support),
                    "account_field_id": _field_id(form, self.panel.account_field),
                    "method_field_id": _field_id(form, self.panel.method_field),
                    "price_field_id": _field_id(form, "price"),
                    "method_provider": Offer.PaymentMethod.PROVIDER,
                    "dialog_id": GEAR_DIALOG_ID,
                }
            )
            if offer and offer.pk:
                context["gear_url"] = reverse(
                    "wagtailsnippets_wagtail_guestpay_offer:gear", args=[offer.pk]
                )
                context["summary_html"] = gear_summary(offer)
            return context


def _field_id(form, name):
    return form[name].id_for_label if form is not None and name in form.fields else ""


class GearSettingsLogFormatter(LogFormatter):
    label = _("Payment settings changed")

    def format_message(self, log_entry):
        data = log_entry.data or {}
        parts = [
            gettext("Payment without login: %(state)s")
            % {"state": gettext("on") if data.get("guest_payment") else gettext("off")}
        ]
        if "coupon_field" in data:
            parts.append(
                gettext("Coupon code field: %(state)s")
                % {"state": gettext("on") if data["coupon_field"] else gettext("off")}
            )
        for key, label in (
            ("success_page", gettext("page after a successful payment")),
            ("failure_page", gettext("page after a failed payment")),
        ):
            page = data.get(key)
            parts.append(f"{label}: {page['title'] if page else gettext('the built-in page')}")
        return "; ".join(parts)

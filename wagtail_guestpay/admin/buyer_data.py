"""A contact's data, for staff with the ``erase_buyer_data`` permission: downloaded as one JSON
document, or erased after a confirmation page that asks why (:mod:`wagtail_guestpay.privacy`
does both)."""

import json

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from ..models import Contact
from ..privacy.erasure import erase_buyer_data, log_export
from ..privacy.export import export_buyer_data
from ..privacy.records import find
from ..staff.common import NothingToDo
from .fix_forms import FixForm
from .fixes import FixView
from .links import index_url, inspect_url
from .permissions import can_handle_buyer_data


class EraseBuyerDataForm(FixForm):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that the buyer's data is erased for good"),
        help_text=gettext_lazy("Export it first if the buyer asked for a copy."),
    )


class ExportBuyerDataView(View):
    """POST (a button on the contact's page): the contact's data as a JSON download."""

    http_method_names = ["post"]

    def post(self, request, contact_pk):
        if not can_handle_buyer_data(request.user):
            raise PermissionDenied
        contact = get_object_or_404(Contact, pk=contact_pk)
        document = export_buyer_data(contact.email)
        log_export(find(contact.email), by=request.user, via="admin")
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        # Named by the contact's id: the address stays out of download folders and logs.
        response["Content-Disposition"] = f'attachment; filename="buyer-data-{contact.pk}.json"'
        response["Cache-Control"] = "no-store"
        return response


class EraseBuyerDataView(FixView):
    action = "erase-buyer-data"
    form_class = EraseBuyerDataForm
    page_title = gettext_lazy("Erase the buyer's data")
    submit_label = gettext_lazy("Erase the data")
    header_icon = "bin"
    summary_template = "wagtail_guestpay/admin/fixes/contact_summary.html"
    allowed = staticmethod(can_handle_buyer_data)

    def get_object(self):
        return get_object_or_404(
            Contact.objects.select_related("user"), pk=self.kwargs["contact_pk"]
        )

    def get_success_url(self):
        return inspect_url("contacts", self.object.pk)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url("contacts"), "label": _("Contacts")},
            {"url": self.get_success_url(), "label": str(self.object)},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_consequences(self):
        if self.object.erased_at:
            return [_("This contact's data was erased already: nothing will happen.")]
        records = find(self.object.email)
        own, mentioning = len(records.own_order_ids), len(records.mentioning_order_ids)
        lines = [
            ngettext(
                "The address, the name and the registration fields are replaced in the "
                "contact, its %(count)s order, its payments, e-mails, claims and "
                "notifications; amounts, dates, statuses and order numbers stay for the "
                "bookkeeping.",
                "The address, the name and the registration fields are replaced in the "
                "contact, its %(count)s orders, their payments, e-mails, claims and "
                "notifications; amounts, dates, statuses and order numbers stay for the "
                "bookkeeping.",
                own,
            )
            % {"count": own}
        ]
        if mentioning:
            lines.append(
                ngettext(
                    "%(count)s order of someone else only mentions the address: it loses "
                    "the address, nothing else.",
                    "%(count)s orders of someone else only mention the address: they lose "
                    "the address, nothing else.",
                    mentioning,
                )
                % {"count": mentioning}
            )
        lines += [
            _(
                "An account a payment created for the address is anonymised and deactivated, "
                "and its access revoked; an account the site created is left as it is."
            ),
            _("This cannot be undone. The audit log keeps who, when and why, not the address."),
        ]
        return lines

    def perform(self, data, nonce):
        contact = Contact.objects.get(pk=self.object.pk)
        if contact.erased_at:
            raise NothingToDo(_("This contact's data was erased already."))
        erasure = erase_buyer_data(
            contact.email, reason=data["reason"], by=self.request.user, via="admin"
        )
        message = _("The buyer's data was erased.")
        if erasure.kept_accounts:
            message += " " + _(
                "Accounts the site created hold the address and were left as they are: "
                "%(accounts)s."
            ) % {"accounts": ", ".join(str(pk) for pk in erasure.kept_accounts)}
        return message

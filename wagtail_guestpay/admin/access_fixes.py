"""The staff fixes' screens for access outside an order: revoke one grant, grant products to an
address; the shared screen is :class:`.fixes.FixView`.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.models import Page

from ..models import AccessGrant, Contact
from ..products import product_models
from ..staff import fixes
from .fix_forms import GrantAccessForm
from .fixes import FixView
from .links import index_url, inspect_url
from .listing import is_db_id
from .permissions import can_manage_access


class RevokeGrantView(FixView):
    action = "revoke-grant"
    page_title = gettext_lazy("Revoke access")
    submit_label = gettext_lazy("Revoke access")
    summary_template = "wagtail_guestpay/admin/fixes/grant_summary.html"
    allowed = staticmethod(can_manage_access)

    def get_object(self):
        return get_object_or_404(
            AccessGrant.objects.select_related("user", "product", "order"),
            pk=self.kwargs["grant_pk"],
        )

    def get_success_url(self):
        grant = self.object
        if grant.order_id:
            return inspect_url("transactions", grant.order_id)
        contact = Contact.objects.filter(user=grant.user_id).first()
        return inspect_url("contacts", contact.pk) if contact else index_url("contacts")

    def get_consequences(self):
        return [
            _("%(account)s loses access to %(product)s.")
            % {"account": self.object.user.get_username(), "product": self.object.product.title}
        ]

    def perform(self, data, nonce):
        fixes.revoke_grant(self.object, by=self.request.user, reason=data["reason"], form=nonce)
        return _("Access revoked.")


class GrantAccessView(FixView):
    action = "grant"
    form_class = GrantAccessForm
    page_title = gettext_lazy("Grant access")
    submit_label = gettext_lazy("Grant access")
    allowed = staticmethod(can_manage_access)

    def get_success_url(self):
        return getattr(self, "done_url", None) or index_url("contacts")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url("contacts"), "label": _("Contacts")},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        models = product_models()
        kwargs["products"] = (
            Page.objects.type(*models).order_by("title") if models else Page.objects.none()
        )
        return kwargs

    def get_initial(self):
        contact_id = self.request.GET.get("contact", "")
        contact = (
            Contact.objects.select_related("user").filter(pk=int(contact_id)).first()
            if is_db_id(contact_id)
            else None
        )
        if contact is not None:
            return {"target": contact.user.get_username() if contact.user else contact.email}
        return {"target": self.request.GET.get("email", "")[:254]}

    def get_consequences(self):
        return [
            _(
                "The account gets access to the chosen products; an e-mail without an account "
                "gets a new account."
            ),
            _(
                "An e-mail tells the account's owner, with a link to set a password for a new "
                "account."
            ),
        ]

    def perform(self, data, nonce):
        target = data["target"]
        result = fixes.grant_manually(
            list(data["products"]),
            by=self.request.user,
            reason=data["reason"],
            email=target.get("email", ""),
            user=target.get("user"),
            form=nonce,
        )
        contact = Contact.objects.filter(user=result.user).first()
        if contact is not None:
            self.done_url = inspect_url("contacts", contact.pk)
        message = _("Access granted to %(account)s: %(products)s.") % {
            "account": result.user.get_username(),
            "products": ", ".join(grant.product.title for grant in result.created),
        }
        if result.existing:
            message += " " + _("Already held: %(products)s.") % {
                "products": ", ".join(page.title for page in result.existing)
            }
        return message

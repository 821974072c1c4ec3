"""The staff fixes' screens: one confirmation page per action (what will happen, a required
reason, one submit button that disables itself), permission-checked on every request, carried out
by :mod:`wagtail_guestpay.staff.fixes`, then back to the order with a message.

A fix that the current state makes pointless (it was just done, e.g. a second submission) changes
nothing and says so. URLs are in :mod:`.urls`; what the inspect views offer in :mod:`.actions`.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic.edit import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ..fulfilment.accounts import users_with_email
from ..models import Order
from ..staff import fixes
from .fix_forms import CorrectEmailForm, FixForm, MoveAccessForm, ResolveAttentionForm
from .links import index_url, inspect_url
from .permissions import can_fix, can_manage_access


class FixView(WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_guestpay/admin/fixes/confirm.html"
    form_class = FixForm
    action = ""
    submit_label = gettext_lazy("Confirm")
    header_icon = "cog"
    summary_template = ""

    @staticmethod
    def allowed(user):
        return can_fix(user)

    def dispatch(self, request, *args, **kwargs):
        if not self.allowed(request.user):
            raise PermissionDenied
        self.object = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    def get_object(self):
        return None

    def get_success_url(self):
        return index_url("transactions")

    def get_consequences(self):
        return []

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["key"] = f"{self.action}:{self.object.pk if self.object is not None else '-'}"
        return kwargs

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": index_url("transactions"), "label": _("Transactions")},
            {"url": self.get_success_url(), "label": str(self.object or _("Access"))},
            {"url": "", "label": self.get_page_title()},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.object,
            consequences=self.get_consequences(),
            submit_label=self.submit_label,
            cancel_url=self.get_success_url(),
            summary_template=self.summary_template,
        )
        return context

    def form_valid(self, form):
        nonce = form.cleaned_data["form_token"]
        try:
            message = self.perform(form.cleaned_data, nonce)
        except fixes.NothingToDo as exc:
            messages.warning(self.request, str(exc))
            return redirect(self.get_success_url())
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(self.get_success_url())

    def perform(self, data, nonce):
        raise NotImplementedError


# Order fixes ---------------------------------------------------------------------------------
class OrderFixView(FixView):
    summary_template = "wagtail_guestpay/admin/fixes/order_summary.html"

    def get_object(self):
        return get_object_or_404(
            Order.objects.select_related("offer", "user", "contact"), pk=self.kwargs["order_pk"]
        )

    def get_success_url(self):
        return inspect_url("transactions", self.object.pk)


class CorrectEmailView(OrderFixView):
    action = "correct-email"
    form_class = CorrectEmailForm
    page_title = gettext_lazy("Correct the buyer's e-mail")
    submit_label = gettext_lazy("Correct the e-mail")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.object.user_id is None:  # no wrong account to keep or retire
            del form.fields["unused_account"]
        return form

    def get_consequences(self):
        lines = [
            _(
                "The order and its contact get the new e-mail; the account of that e-mail is "
                "found, or created when there is none."
            )
        ]
        if self.object.is_settled:
            lines.append(
                _(
                    "The order's access moves to that account, and the access e-mail "
                    "goes to the new address only."
                )
            )
        if self.object.email_is_placeholder:
            lines.append(_("The placeholder contact is removed when no other order uses it."))
        return lines

    def perform(self, data, nonce):
        correction = fixes.correct_email(
            self.object,
            data["email"],
            by=self.request.user,
            reason=data["reason"],
            unused_account=data.get("unused_account") or fixes.UnusedAccount.KEEP,
            form=nonce,
        )
        if correction.account_created:
            message = _("E-mail corrected to %(email)s: a new account was created for it.")
        else:
            message = _("E-mail corrected to %(email)s: the existing account was used.")
        extra = {
            "deleted": _("The wrong, unused account was deleted."),
            "deactivated": _("The wrong, unused account was deactivated."),
        }
        message = message % {"email": data["email"]}
        if correction.previous_account in extra:
            message += " " + extra[correction.previous_account]
        return message


class MoveAccessView(OrderFixView):
    action = "move-access"
    page_title = gettext_lazy("Move the access to another account")
    submit_label = gettext_lazy("Move the access")

    def get_form_class(self):
        return MoveAccessForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["candidates"] = self.candidates()
        return kwargs

    def candidates(self):
        """Other accounts of the buyer: those of the order's e-mail and of its contact."""
        order = self.object
        users = (
            list(users_with_email(order.email).order_by("-last_login", "pk")) if order.email else []
        )
        if order.contact and order.contact.user and order.contact.user not in users:
            users.append(order.contact.user)
        return [user for user in users if user.pk != order.user_id]

    def get_consequences(self):
        lines = [_("The order is given to the chosen account.")]
        if self.object.is_settled:
            lines.append(
                _(
                    "Its access is revoked from the current account, granted to the chosen "
                    "one, and the access e-mail goes to the chosen account's address."
                )
            )
        return lines

    def perform(self, data, nonce):
        user = data["user"]
        fixes.move_access(
            self.object, user, by=self.request.user, reason=data["reason"], form=nonce
        )
        return _("The order's access now belongs to %(account)s.") % {
            "account": user.get_username()
        }


class GrantOrderAccessView(OrderFixView):
    action = "grant-order"
    page_title = gettext_lazy("Grant the order's access")
    submit_label = gettext_lazy("Grant access")
    allowed = staticmethod(can_manage_access)

    def get_consequences(self):
        order = self.object
        lines = [
            _("The account %(account)s gets access to: %(products)s.")
            % {
                "account": order.user.get_username() if order.user else "-",
                "products": ", ".join(page.title for page in order.offer.get_products()),
            }
        ]
        lines.append(_("The access e-mail is sent to the account's address."))
        if not order.is_settled:
            lines.append(
                _("Careful: this order is not paid (%(status)s).")
                % {"status": order.get_status_display()}
            )
        return lines

    def perform(self, data, nonce):
        result = fixes.grant_order_access(
            self.object, by=self.request.user, reason=data["reason"], form=nonce
        )
        return _("Access granted to %(account)s.") % {"account": result.user.get_username()}


class RevokeOrderAccessView(OrderFixView):
    action = "revoke-order"
    page_title = gettext_lazy("Revoke the order's access")
    submit_label = gettext_lazy("Revoke access")
    allowed = staticmethod(can_manage_access)

    def get_consequences(self):
        grants = self.object.grants.active().select_related("user", "product")
        return [
            _("%(account)s loses access to %(product)s.")
            % {"account": grant.user.get_username(), "product": grant.product.title}
            for grant in grants
        ] or [_("The order gives no access: nothing to revoke.")]

    def perform(self, data, nonce):
        revoked = fixes.revoke_order(
            self.object, by=self.request.user, reason=data["reason"], form=nonce
        )
        return ngettext(
            "%(count)s access grant revoked.", "%(count)s access grants revoked.", len(revoked)
        ) % {"count": len(revoked)}


class ResendAccessEmailView(OrderFixView):
    action = "resend"
    page_title = gettext_lazy("Send the access e-mail again")
    submit_label = gettext_lazy("Send it")

    def get_consequences(self):
        user = self.object.user
        email = getattr(user, user.get_email_field_name(), "") if user else ""
        return [
            _(
                "A new access e-mail goes to %(email)s; an account that was never used gets a "
                "new link to set its password."
            )
            % {"email": email or "-"}
        ]

    def perform(self, data, nonce):
        outbound = fixes.resend_access_email(
            self.object, by=self.request.user, reason=data["reason"], form=nonce
        )
        return _("The access e-mail to %(email)s is on its way.") % {"email": outbound.to_email}


class ResolveAttentionView(OrderFixView):
    action = "resolve"
    form_class = ResolveAttentionForm
    page_title = gettext_lazy("Mark as dealt with")
    submit_label = gettext_lazy("Mark as dealt with")

    def get_initial(self):
        return {"attention": self.object.attention}

    def get_consequences(self):
        return [
            _("The order leaves the “needs action” list (%(reason)s); nothing else changes.")
            % {"reason": self.object.get_attention_display()}
        ]

    def perform(self, data, nonce):
        fixes.resolve_attention(
            self.object,
            expected=data["attention"],
            by=self.request.user,
            reason=data["reason"],
            form=nonce,
        )
        return _("Marked as dealt with.")

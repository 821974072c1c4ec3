"""Payment systems in the Wagtail admin: add, edit, disable a ProviderAccount, check its
credentials and copy its webhook URL.

Adding one is two steps: choose the kind (Stripe, PayPal...), then fill the form built from that
provider's ``credentials``. The kind of a saved account never changes.
"""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.ui.tables import Column, StatusTagColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import log
from wagtail.models import Site

from ..crypto import CredentialDecryptionError
from ..models import ProviderAccount
from ..providers.exceptions import ProviderError
from ..providers.registry import get_provider_class, provider_kind_choices
from .credentials import ProviderAccountForm

logger = logging.getLogger(__name__)


def absolute_site_url(request, path_):
    """``path_`` on the public site: WAGTAIL_GUESTPAY_BASE_URL, else the site's root URL."""
    from ..adapter import get_adapter

    site = Site.find_for_request(request) or Site.objects.filter(is_default_site=True).first()
    base = get_adapter().get_base_url(site)
    return (base or request.build_absolute_uri("/").rstrip("/")) + path_


def webhook_url(request, account):
    return absolute_site_url(request, account.notification_path())


def provider_info(kind):
    """What templates show about a provider class (templates would call the class itself)."""
    cls = get_provider_class(kind)
    return {
        "label": dict(provider_kind_choices()).get(kind, kind),
        "supports_guest_payment": cls.supports_guest_payment,
        "can_check_credentials": cls.can_check_credentials,
    }


def kind_options():
    """The registered kinds, for the "choose a payment system" step."""
    options = []
    for kind, label in provider_kind_choices():
        cls = get_provider_class(kind, missing_ok=True)
        if cls is not None:
            options.append(
                {"kind": kind, "label": label, "supports_guest_payment": cls.supports_guest_payment}
            )
    return options


class ChooseKindView(PermissionCheckedMixin, generic.base.WagtailAdminTemplateMixin, TemplateView):
    """First step of adding a payment system: which one."""

    model = ProviderAccount
    permission_required = "add"
    template_name = "wagtail_guestpay/admin/provider_accounts/choose_kind.html"
    page_title = _("Add a payment system")
    header_icon = "key"
    index_url_name = None
    add_kind_url_name = None

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse(self.index_url_name), "label": _("Payment systems")},
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["kinds"] = [
            {**option, "url": reverse(self.add_kind_url_name, args=[option["kind"]])}
            for option in kind_options()
        ]
        return context


class ProviderAccountCreateView(generic.CreateView):
    """Second step: the form of the chosen kind (``kind`` comes from the URL)."""

    template_name = "wagtail_guestpay/admin/provider_accounts/create.html"
    add_kind_url_name = None
    success_message = _(
        "Payment system “%(object)s” added. Copy its webhook URL below into "
        "the payment system's dashboard, then check its credentials."
    )

    def setup(self, request, *args, **kwargs):
        self.kind = kwargs.get("kind", "")
        if self.kind not in dict(provider_kind_choices()):
            raise Http404
        super().setup(request, *args, **kwargs)

    def get_page_subtitle(self):
        return _("%(kind)s payment system") % {"kind": dict(provider_kind_choices())[self.kind]}

    def get_add_url(self):
        return reverse(self.add_kind_url_name, args=[self.kind])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["kind"] = self.kind
        return kwargs

    def get_success_url(self):
        return reverse(self.edit_url_name, args=[self.object.pk])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["provider"] = provider_info(self.kind)
        # The account's webhook URL, before it exists (see ProviderAccountForm._keep_public_id).
        context["webhook_url"] = webhook_url(self.request, self.form.instance)
        return context


class ProviderAccountEditView(generic.EditView):
    template_name = "wagtail_guestpay/admin/provider_accounts/edit.html"
    check_url_name = None

    def save_instance(self):
        instance = super().save_instance()
        changed = self.form.changed_credentials
        if changed:
            # Which credentials changed, never their values.
            log(
                instance=instance,
                action="wagtail_guestpay.credentials_changed",
                user=self.request.user,
                data={"credentials": changed},
            )
        return instance

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        provider_class = get_provider_class(self.object.kind)
        context["provider"] = provider_info(self.object.kind)
        context["webhook_url"] = webhook_url(self.request, self.object)
        context["can_check_credentials"] = bool(
            provider_class.can_check_credentials
            and self.permission_policy.user_has_permission_for_instance(
                self.request.user, "change", self.object
            )
        )
        context["check_url"] = reverse(self.check_url_name, args=[self.object.pk])
        return context


class ProviderAccountDeleteView(generic.DeleteView):
    """Only an unused payment system can be deleted; one that took payments is disabled."""

    def is_in_use(self):
        account = self.object
        return account.offers.exists() or account.payments.exists() or account.events.exists()

    def get(self, request, *args, **kwargs):
        if self.is_in_use():
            return self.refuse()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.is_in_use():
            return self.refuse()
        return super().post(request, *args, **kwargs)

    def refuse(self):
        messages.error(
            self.request,
            gettext(
                "“%(name)s” has offers or payments: it cannot be deleted. Untick “active” to "
                "disable it instead."
            )
            % {"name": self.object.name},
        )
        return redirect(self.edit_url_name, self.object.pk)


class CheckCredentialsView(View):
    """POST: ask the provider whether the account's credentials work, and say what it answered."""

    permission_policy = None
    edit_url_name = None
    http_method_names = ["post"]

    def post(self, request, pk):
        account = get_object_or_404(ProviderAccount, pk=pk)
        if not self.permission_policy.user_has_permission_for_instance(
            request.user, "change", account
        ):
            raise PermissionDenied
        provider_class = get_provider_class(account.kind)
        if not provider_class.can_check_credentials:
            messages.warning(
                request,
                gettext("%(kind)s offers no way to check credentials.")
                % {"kind": account.get_kind_display()},
            )
            return redirect(self.edit_url_name, account.pk)
        ok, message = self.check(account)
        log(
            instance=account,
            action="wagtail_guestpay.credentials_checked",
            user=request.user,
            data={"ok": ok},
        )
        if ok:
            messages.success(
                request, gettext("Credentials work: %(message)s") % {"message": message}
            )
        else:
            messages.error(
                request, gettext("Credentials do not work: %(message)s") % {"message": message}
            )
        return redirect(self.edit_url_name, account.pk)

    @staticmethod
    def check(account):
        try:
            result = account.get_provider().check_credentials()
        except CredentialDecryptionError:
            return False, gettext(
                "the stored credentials cannot be decrypted with the "
                "configured keys; enter them again."
            )
        except ProviderError as exc:
            return False, gettext("the payment system could not be reached (%(error)s).") % {
                "error": exc
            }
        except Exception as exc:
            # Its message or traceback may quote a request holding a credential: log the type.
            logger.error(
                "Checking the credentials of payment system %s failed: %s",
                account.pk,
                type(exc).__name__,
            )
            return False, gettext("the check failed unexpectedly; see the server log.")
        return result.ok, str(result.message)


class ProviderAccountViewSet(ModelViewSet):
    model = ProviderAccount
    icon = "key"
    menu_label = _("Payment systems")
    menu_name = "payment-systems"  # not slugified from the label: the same in every language
    menu_order = 200
    add_to_admin_menu = False
    url_prefix = "guestpay/payment-systems"
    add_view_class = ProviderAccountCreateView
    edit_view_class = ProviderAccountEditView
    delete_view_class = ProviderAccountDeleteView
    inspect_view_enabled = False
    copy_view_enabled = False
    search_fields = ["name"]
    list_filter = ["kind", "mode", "is_active"]

    @property
    def list_display(self):
        return [
            TitleColumn("name", label=_("Name"), url_name=self.get_url_name("edit")),
            Column("kind", label=_("Payment system"), accessor="get_kind_display"),
            Column("mode", label=_("Mode"), accessor="get_mode_display"),
            StatusTagColumn(
                "is_active",
                label=_("Status"),
                accessor=_active_label,
                primary=lambda account: account.is_active,
            ),
            StatusTagColumn(
                "guest",
                label=_("Payment without login"),
                accessor=_guest_support_label,
                primary=lambda account: account.supports_guest_payment,
            ),
        ]

    def get_form_class(self, for_update=False):
        return ProviderAccountForm

    def get_add_view_kwargs(self, **kwargs):
        return super().get_add_view_kwargs(
            add_kind_url_name=self.get_url_name("add_kind"), **kwargs
        )

    @property
    def choose_kind_view(self):
        return self.construct_view(
            ChooseKindView,
            index_url_name=self.get_url_name("index"),
            add_kind_url_name=self.get_url_name("add_kind"),
        )

    def get_edit_view_kwargs(self, **kwargs):
        return super().get_edit_view_kwargs(check_url_name=self.get_url_name("check"), **kwargs)

    @property
    def check_view(self):
        return CheckCredentialsView.as_view(
            permission_policy=self.permission_policy, edit_url_name=self.get_url_name("edit")
        )

    def get_urlpatterns(self):
        patterns = [p for p in super().get_urlpatterns() if p.name != "add"]
        return patterns + [
            path("new/", self.choose_kind_view, name="add"),
            path("new/<slug:kind>/", self.add_view, name="add_kind"),
            path("check/<int:pk>/", self.check_view, name="check"),
        ]


def _active_label(account):
    return gettext("Active") if account.is_active else gettext("Disabled")


def _guest_support_label(account):
    return gettext("Supported") if account.supports_guest_payment else gettext("Not supported")

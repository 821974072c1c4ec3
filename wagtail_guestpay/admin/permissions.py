"""Who may see and fix what in the staff admin (Transactions, Contacts, payment events, fixes and
the "Needs attention" panel). The permissions are custom permissions of the Order model, assigned
to groups in Settings > Groups:

- ``view_transactions``: see Transactions, Contacts, payment events and the dashboard panel;
- ``fix_orders``: correct an e-mail, move access to another account, resend the access e-mail,
  re-check a payment, accept or refuse a held payment, settle an order or a notification;
- ``manage_access``: grant access manually and revoke access;
- ``refund_orders``: refund a paid order at its payment system (the money goes back);
- ``erase_buyer_data``: export a contact's data as JSON and erase it (docs/how-to/buyer-data.md).

Every fix also needs ``view_transactions``.
"""

from django.contrib.auth.models import Permission
from wagtail_modeladmin.helpers import PermissionHelper

APP = "wagtail_guestpay"
VIEW = "view_transactions"
FIX = "fix_orders"
ACCESS = "manage_access"
REFUND = "refund_orders"
BUYER_DATA = "erase_buyer_data"
CODENAMES = (VIEW, FIX, ACCESS, REFUND, BUYER_DATA)


def can_view(user):
    return bool(user.is_active and user.has_perm(f"{APP}.{VIEW}"))


def can_fix(user):
    return can_view(user) and user.has_perm(f"{APP}.{FIX}")


def can_manage_access(user):
    return can_view(user) and user.has_perm(f"{APP}.{ACCESS}")


def can_refund(user):
    return can_view(user) and user.has_perm(f"{APP}.{REFUND}")


def can_handle_buyer_data(user):
    return can_view(user) and user.has_perm(f"{APP}.{BUYER_DATA}")


def staff_permissions():
    """The Permission rows to offer in Wagtail's group editor."""
    return Permission.objects.filter(content_type__app_label=APP, codename__in=CODENAMES)


class ViewOnlyPermissionHelper(PermissionHelper):
    """Listing and inspecting need ``view_transactions``; nothing is created, edited or deleted
    through the generic views (changes go through the staff fixes)."""

    def user_can_list(self, user):
        return can_view(user)

    def user_can_inspect_obj(self, user, obj):
        return self.inspect_view_enabled and can_view(user)

    def user_can_create(self, user):
        return False

    def user_can_edit_obj(self, user, obj):
        return False

    def user_can_delete_obj(self, user, obj):
        return False


class ContactPermissionHelper(ViewOnlyPermissionHelper):
    """Contacts' name and note can be edited by staff who fix orders."""

    def user_can_edit_obj(self, user, obj):
        return can_fix(user)

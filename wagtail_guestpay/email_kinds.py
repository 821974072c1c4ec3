"""The kinds of e-mail the outbox sends, and what staff see of them (shared by
:mod:`wagtail_guestpay.emails` and :mod:`wagtail_guestpay.email_builders`)."""

from django.utils.translation import gettext_lazy as _

ACCESS = "access"
ACCESS_LINK = "access_link"
ACCESS_GRANTED = "access_granted"  # access a member of staff granted outside an order
STAFF_NOTICE = "staff_notice"
CLAIM_CODE = "claim_code"
REGISTRATION_CODE = "registration_code"
REGISTRATION_EXISTING = "registration_existing_account"
FREE_CODE = "free_code"
SIGNIN_CODE = "signin_code"
EMAIL_CHANGE_CODE = "email_change_code"
EMAIL_CHANGED = "email_changed"
PASSWORD_RESET = "password_reset"
REFUND = "refund"
SEALED = "sealed"

# What staff see of each kind of e-mail (the transactions' inspect view).
KIND_LABELS = {
    ACCESS: _("Access to the purchase"),
    ACCESS_LINK: _("New access link"),
    ACCESS_GRANTED: _("Access granted by staff"),
    STAFF_NOTICE: _("Notice to staff"),
    CLAIM_CODE: _("Confirmation code"),
    REGISTRATION_CODE: _("Registration code"),
    REGISTRATION_EXISTING: _("Registration of an address that has an account"),
    FREE_CODE: _("Code for a free offer"),
    SIGNIN_CODE: _("Sign-in code"),
    EMAIL_CHANGE_CODE: _("Code for a new e-mail address"),
    EMAIL_CHANGED: _("E-mail address changed"),
    PASSWORD_RESET: _("Password reset"),
    REFUND: _("Refund"),
}

# The staff notices that are not about an order's "needs attention" reason.
STAFF_NOTICE_REASONS = {
    "event_failed": _("A payment notification could not be processed"),
    "unknown_payment": _("A notification about a payment this site does not know"),
}


def kind_label(kind):
    return KIND_LABELS.get(kind, kind)

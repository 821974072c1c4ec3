"""Why an order waits for staff (``Order.attention``): its own module, so the reasons of every
concern (payments, refunds, free offers, coupons) read in one place."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Attention(models.TextChoices):
    """Why an order waits for staff. Empty when it does not."""

    NONE = "", _("Nothing")
    PLACEHOLDER_EMAIL = "placeholder_email", _("No e-mail from the payment system")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount or currency does not match")
    SEVERAL_ACCOUNTS = "several_accounts", _("Several accounts share the e-mail")
    PARTIAL_REFUND = "partial_refund", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded or charged back")
    INACTIVE_ACCOUNT = "inactive_account", _("The buyer's account is deactivated")
    BOUGHT_TWICE = "bought_twice", _("Bought twice: the account already had it")
    COUPON_OVERSHOOT = "coupon_overshoot", _("Coupon used more often than its limit")

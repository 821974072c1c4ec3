from django.utils.translation import gettext_lazy as _
from wagtail import blocks


class OrderStatusBlock(blocks.StaticBlock):
    """On a payment result page: the buyer's order, its real state and where the e-mail went.

    A result page without this block shows the status above its body.
    """

    class Meta:
        icon = "info-circle"
        label = _("Order status")
        admin_text = _("Shows the buyer's order: paid, being confirmed or failed.")
        template = "wagtail_guestpay/blocks/order_status.html"

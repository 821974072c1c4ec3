from django.utils.translation import gettext_lazy as _
from wagtail import blocks


class MerchantContactsBlock(blocks.StaticBlock):
    """The merchant's contact details (site setting), so a buyer can always reach the merchant."""

    class Meta:
        icon = "mail"
        label = _("Merchant contacts")
        admin_text = _("Shows the merchant's contact details from the site settings.")
        template = "wagtail_guestpay/blocks/merchant_contacts.html"

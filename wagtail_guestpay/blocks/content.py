from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageBlock

from .merchant import MerchantContactsBlock
from .order_status import OrderStatusBlock
from .pay_button import PayButtonBlock

BODY_BLOCKS = [
    (
        "heading",
        blocks.CharBlock(
            form_classname="title",
            icon="title",
            label=_("Heading"),
            template="wagtail_guestpay/blocks/heading.html",
        ),
    ),
    ("paragraph", blocks.RichTextBlock(label=_("Paragraph"))),
    ("image", ImageBlock(label=_("Image"))),
    ("pay_button", PayButtonBlock()),
    ("merchant_contacts", MerchantContactsBlock()),
]

RESULT_PAGE_BLOCKS = [*BODY_BLOCKS, ("order_status", OrderStatusBlock())]

"""StreamField blocks: the "pay without login" button and the blocks of the mini landing pages."""

from .content import BODY_BLOCKS, RESULT_PAGE_BLOCKS
from .merchant import MerchantContactsBlock
from .order_status import OrderStatusBlock
from .pay_button import PayButtonBlock

__all__ = [
    "BODY_BLOCKS",
    "RESULT_PAGE_BLOCKS",
    "MerchantContactsBlock",
    "OrderStatusBlock",
    "PayButtonBlock",
]


from django import template

from ..blocks.button_html import PAY_BUTTON_TEMPLATE, pay_button_context
from ..models import MerchantContacts

register = template.Library()


@register.inclusion_tag(PAY_BUTTON_TEMPLATE, takes_context=True)
def guestpay_pay_button(context, offer, label="", show_price=False):
    """The Pay button of an offer: straight to the payment system when the visitor may pay
    without login (or is logged in), to the registration step otherwise."""
    return pay_button_context(context.get("request"), offer, label, show_price)


@register.inclusion_tag("wagtail_guestpay/includes/merchant_contacts.html", takes_context=True)
def guestpay_merchant_contacts(context, merchant=None):
    request = context.get("request")
    if not merchant and request is not None:
        merchant = MerchantContacts.for_request(request)
    return {"merchant": merchant}

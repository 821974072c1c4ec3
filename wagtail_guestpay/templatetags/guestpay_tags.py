from django import template

from ..models import MerchantContacts

register = template.Library()


@register.inclusion_tag("wagtail_guestpay/includes/pay_button.html", takes_context=True)
def guestpay_pay_button(context, offer, label="", show_price=False):
    """The Pay button of an offer: straight to the payment system when the visitor may pay
    without login (or is logged in), to the registration step otherwise."""
    request = context.get("request")
    user = getattr(request, "user", None)
    url = ""
    if offer is not None and offer.can_take_payment:
        if (user is not None and user.is_authenticated) or offer.takes_guest_payment:
            url = offer.get_pay_path()
        else:
            url = offer.get_checkout_path()
    return {"offer": offer, "url": url, "label": label, "show_price": show_price}


@register.inclusion_tag("wagtail_guestpay/includes/merchant_contacts.html", takes_context=True)
def guestpay_merchant_contacts(context, merchant=None):
    request = context.get("request")
    if not merchant and request is not None:
        merchant = MerchantContacts.for_request(request)
    return {"merchant": merchant}

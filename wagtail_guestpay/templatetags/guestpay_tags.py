from django import template
from django.urls import reverse
from django.utils.html import format_html

from ..adapter import get_adapter
from ..blocks.button_html import PAY_BUTTON_TEMPLATE, pay_button_context
from ..conf import guestpay_settings
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
        merchant = MerchantContacts.for_request(request).in_language()
    return {"merchant": merchant}


@register.simple_tag(takes_context=True)
def guestpay_account_links(context):
    """The account links of the package's pages: ``enabled`` (``ACCOUNT_LINKS``),
    ``personal_area_url``, ``logout_url`` and ``login_url`` (back to this page after signing in)."""
    request = context.get("request")
    adapter = get_adapter()
    return {
        "enabled": guestpay_settings.ACCOUNT_LINKS,
        "personal_area_url": adapter.get_personal_area_url(),
        "logout_url": reverse("wagtail_guestpay:logout"),
        "login_url": adapter.get_login_url(request.get_full_path() if request else ""),
    }


@register.simple_tag(takes_context=True)
def guestpay_login_url(context, next_url=""):
    """Where the package sends people to sign in (the adapter decides), with ``?next=``."""
    return get_adapter().get_login_url(next_url)


@register.simple_tag
def guestpay_password_reset_url():
    return get_adapter().get_password_reset_url()


@register.simple_tag
def guestpay_product_image(page, spec="fill-640x360"):
    """The card image of a product in "My purchases": the page's ``search_image`` where its model
    has one (a Wagtail image), else nothing. Needs no image template library."""
    image = getattr(page, "search_image", None)
    if image is None or not hasattr(image, "get_rendition"):
        return ""
    rendition = image.get_rendition(spec)
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="" class="guestpay-product__image">',
        rendition.url,
        rendition.width,
        rendition.height,
    )

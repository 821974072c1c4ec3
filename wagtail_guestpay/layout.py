"""The one base template every buyer-facing page extends.

The package's pages extend ``wagtail_guestpay/base.html``, which extends ``{{ guestpay_base }}``:
``WAGTAIL_GUESTPAY_BASE_TEMPLATE`` when set, else the site's own ``base.html`` where it exists (so
buyer pages look like the site and keep its Wagtail userbar), else the package's plain
``wagtail_guestpay/layout/plain.html``. The package fills that template's ``content`` block and
links its stylesheet from inside it, so the choice of base never drops the package's CSS.

:class:`BuyerPageResponse` puts ``guestpay_base`` into the context of the package's views; the
package's pages (offer, result, locked product) add it in ``get_context``.
"""

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.template.response import TemplateResponse

from .conf import guestpay_settings

PLAIN = "wagtail_guestpay/layout/plain.html"


def base_template():
    name = guestpay_settings.BASE_TEMPLATE
    if name:
        return name
    try:
        get_template("base.html")
    except TemplateDoesNotExist:
        return PLAIN
    return "base.html"


def layout_context():
    return {"guestpay_base": base_template()}


class BuyerPageResponse(TemplateResponse):
    """A TemplateResponse whose template may extend ``wagtail_guestpay/base.html``."""

    def resolve_context(self, context):
        context = {**layout_context(), **(context or {})}
        return super().resolve_context(context)


def private(response):
    """Headers of a page that must not be cached, indexed or leak its URL."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def buyer_page(request, template, context=None, status=None, *, is_private=True):
    response = BuyerPageResponse(request, template, context or {}, status=status)
    return private(response) if is_private else response

"""The Pay button's markup, shared by the pay block and the ``guestpay_pay_button`` template tag
(templatetags/guestpay_tags.py): imported by both, it imports neither."""

from pathlib import Path
from urllib.parse import quote

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from ..localization import i18n_enabled, localize, remembered_translation

PAY_BUTTON_TEMPLATE = "wagtail_guestpay/includes/pay_button.html"


def render_pay_button(request, offer, label="", show_price=False):
    """The same button, for the pay block: a page may hold dozens, so with the package's own
    template it is built directly (the same markup and message), and a site that overrides
    ``includes/pay_button.html`` gets its template rendered."""
    from django.template.loader import get_template

    if not _own_template_in_use():
        return get_template(PAY_BUTTON_TEMPLATE).render(
            pay_button_context(request, offer, label, show_price)
        )
    key = _memo_key(request, offer, label, show_price, get_language())
    html = _MEMO.get(key) if key is not None else None
    if html is None:
        html = _button_html(**pay_button_context(request, offer, label, show_price))
        if key is not None:
            if len(_MEMO) >= MEMO_SIZE:
                _MEMO.clear()
            _MEMO[key] = html
    return html


def _own_template_in_use():
    """Whether ``includes/pay_button.html`` resolves to the package's own template: looked up
    once per template engine (a change of TEMPLATES makes new engines), not once per block."""
    from django.template import engines
    from django.template.loader import get_template

    holder = engines.all()[0]
    own = getattr(holder, "_guestpay_own_pay_button", None)
    if own is None:
        template = get_template(PAY_BUTTON_TEMPLATE)
        own = getattr(template.origin, "name", "") == _OWN_TEMPLATE
        holder._guestpay_own_pay_button = own
    return own


# An anonymous visitor's button is a function of what _memo_key() lists: a page of 50 pay
# blocks renders each (offer's translation, label, language) once per process, then looks it up
# (bench/results: 50 pay blocks against 50 text blocks). The key holds the values themselves, not a version, so an
# offer changed in another process (or unsaved, in a preview) can never be shown stale.
MEMO_SIZE = 4096
_MEMO = {}


def _memo_key(request, offer, label, show_price, language):
    """None (not remembered) for a signed-in visitor: their button depends on what they hold."""
    user = getattr(request, "user", None)
    if offer is None or offer.pk is None or (user is not None and user.is_authenticated):
        return None
    # the translation shown (remembered per request)
    offer = localize_offer(request, offer, language)
    if offer is None:
        return None
    account = offer.provider_account if offer.provider_account_id else None
    return (
        offer.pk,
        offer.slug,
        offer.price,
        offer.currency,
        offer.is_active,
        offer.payment_method,
        offer.guest_payment,
        offer.coupon_field,
        offer.provider_account_id,
        account.is_active if account else None,
        account.kind if account else None,
        str(label),
        bool(show_price),
        language,
        *_urls_of(request),
    )


def _urls_of(request):
    """The URLconf and script prefix the button's link is reversed with: set before the view
    runs, the same for every block of a request (read once: each is a context-local lookup)."""
    if request is None:
        return get_urlconf(), get_script_prefix()
    urls = request.__dict__.get("_guestpay_urls")
    if urls is None:
        urls = request._guestpay_urls = (get_urlconf(), get_script_prefix())
    return urls


_OWN_TEMPLATE = str(Path(__file__).resolve().parents[1] / "templates" / PAY_BUTTON_TEMPLATE)


def _button_html(offer, url, label, show_price, open_url=""):
    """What includes/pay_button.html renders, character for character: like the template, the
    catalog's translations are not escaped ({% translate %} output), the values put in them
    are."""
    if open_url:
        return format_html(
            '<p class="guestpay-pay guestpay-pay--owned">{} <a class="guestpay-button" '
            'href="{}">{}</a></p>\n',
            mark_safe(gettext("You have this:")),
            open_url,
            mark_safe(gettext("open it")),
        )
    if url:
        if offer.is_free:
            price = mark_safe(gettext("Free"))
            text = label or mark_safe(gettext("Get it free"))
        else:
            price = offer.price_display
            text = label or mark_safe(
                gettext("Pay %(price)s") % {"price": conditional_escape(price)}
            )
        after = (
            format_html('<span class="guestpay-price">{}</span>', price)
            if show_price and label
            else ""
        )
        if offer.coupon_field and not offer.is_free:
            return format_html(
                '<form class="guestpay-pay guestpay-pay--coupon" method="get" action="{}">\n'
                '  <label class="guestpay-coupon">{} <input type="text" name="coupon" '
                'maxlength="40" autocomplete="off" spellcheck="false"></label>\n'
                '  <button class="guestpay-button" type="submit">{}</button>\n  {}\n</form>\n',
                url,
                mark_safe(gettext("Coupon code (optional)")),
                text,
                after,
            )
        return format_html(
            '<p class="guestpay-pay">\n  <a class="guestpay-button" href="{}" '
            'rel="nofollow">{}</a>\n  {}\n</p>\n',
            url,
            text,
            after,
        )
    if offer is not None:
        return format_html(
            '<p class="guestpay-pay guestpay-pay--closed">{}</p>\n',
            mark_safe(gettext("This offer is not on sale at the moment.")),
        )
    return "\n"


_PATHS = {}


def _offer_path(name, slug):
    """reverse() of the pay/checkout URL, computed once per URLconf and script prefix."""
    key = (name, get_urlconf(), get_script_prefix())
    pattern = _PATHS.get(key)
    if pattern is None:
        pattern = _PATHS[key] = reverse(name, args=["0slug0"]).replace("0slug0", "{}")
    return pattern.format(quote(slug, safe=""))


def localize_offer(request, offer, language=None):
    """The offer's translation in the visitor's language (``language``: the active one, when the
    caller has it), looked up once per request and offer (a page may show the same offer many
    times; the pay block looks them up beforehand)."""
    if offer is None or not i18n_enabled():
        return offer
    remembered = remembered_translation(offer, language)
    if remembered is not None:
        return remembered
    cache = getattr(request, "_guestpay_offers", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._guestpay_offers = cache
    key = (offer.pk, translation.get_language())
    if key not in cache:
        cache[key] = localize(offer, type(offer).objects.select_related("provider_account"))
    return cache[key]


def pay_button_context(request, offer, label="", show_price=False):
    """``open_url`` instead of a Pay button when the signed-in visitor already holds everything
    the offer sells (whether or not it is on sale)."""
    offer = localize_offer(request, offer)
    user = getattr(request, "user", None)
    url = ""
    open_url = offer.already_yours_url(request) if offer is not None and request else ""
    if not open_url and offer is not None and offer.can_take_payment:
        if (user is not None and user.is_authenticated) or offer.takes_guest_payment:
            url = _offer_path("wagtail_guestpay:pay", offer.slug)
        else:
            url = _offer_path("wagtail_guestpay:checkout", offer.slug)
    return {
        "offer": offer,
        "url": url,
        "label": label,
        "show_price": show_price,
        "open_url": open_url,
    }

"""Already yours: a signed-in buyer who holds every product of an offer is shown the way to it
instead of a Pay button (offer page, pay block, direct payment link).

A guest is never asked who they are: a guest who pays again for what their e-mail's account holds
is served, and the confirmation pipeline marks that order ``bought_twice`` for staff.
"""

from ..access import holds_every
from ..adapter import get_adapter


def already_yours_url(request, offer):
    """Where the signed-in visitor opens what ``offer`` sells, when they hold all of it: the
    product page when the offer sells one, their personal area otherwise; '' when they do not
    (or nobody is signed in)."""
    user = getattr(request, "user", None)
    if offer is None or user is None or not user.is_authenticated:
        return ""
    known = request.__dict__.setdefault("_guestpay_already_yours", {})  # a page of pay blocks
    if offer.pk not in known:
        known[offer.pk] = _open_url(request, user, offer)
    return known[offer.pk]


def _open_url(request, user, offer):
    products = offer.get_products()
    if not holds_every(user, products):
        return ""
    if len(products) == 1:
        url = products[0].get_url(request)
        if url:
            return url
    return get_adapter().get_personal_area_url()

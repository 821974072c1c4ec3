"""A mixin for product pages: serve the content only to holders of a grant."""

from .fulfilment.access import has_access
from .layout import BuyerPageResponse
from .localization import one_per_translation, same_page_ids


class GuestPayProductMixin:
    """Mix into a product page model, before ``Page``::

        class CoursePage(GuestPayProductMixin, Page): ...

    Visitors without a grant get ``locked_template`` (status 403) with the offers that sell the
    page; holders of a grant and editors who may change the page get the page itself.
    """

    locked_template = "wagtail_guestpay/pages/locked_product.html"

    def user_can_view_content(self, request):
        user = request.user
        if has_access(user, self):
            return True
        return bool(user.is_authenticated and self.permissions_for_user(user).can_edit())

    def guestpay_offers(self):
        """The offers on sale that grant this page (a list), each in the visitor's language."""
        from .models import Offer

        # With translated content: the offers of any translation of this page, each once, in
        # the visitor's language.
        return one_per_translation(
            Offer.objects.on_sale()
            .filter(products__page__in=same_page_ids(self))
            .select_related("provider_account")
            .distinct()
        )

    def serve(self, request, *args, **kwargs):
        if self.user_can_view_content(request):
            return super().serve(request, *args, **kwargs)
        from .adapter import get_adapter

        context = {
            "page": self,
            "self": self,
            "offers": self.guestpay_offers(),
            "login_url": get_adapter().get_login_url(request.get_full_path()),
        }
        response = BuyerPageResponse(request, self.locked_template, context, status=403)
        response["Cache-Control"] = "private, no-store"
        return response

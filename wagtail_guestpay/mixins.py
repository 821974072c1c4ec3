"""A mixin for product pages: serve the content only to holders of a grant."""

from django.template.response import TemplateResponse

from .fulfilment.access import has_access


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
        from .models import Offer

        return (
            Offer.objects.on_sale()
            .filter(products__page=self)
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
        response = TemplateResponse(request, self.locked_template, context, status=403)
        response["Cache-Control"] = "private, no-store"
        return response

"""What a "product" is: a Wagtail page of one of the types the site declares in
``WAGTAIL_GUESTPAY_PRODUCT_MODELS``."""

from django.apps import apps

from .conf import guestpay_settings


def product_models():
    return [apps.get_model(label) for label in guestpay_settings.PRODUCT_MODELS]


def is_product_page(page):
    models = tuple(product_models())
    page_class = page.specific_class
    return bool(models) and page_class is not None and issubclass(page_class, models)


def product_models_label():
    return ", ".join(str(model._meta.verbose_name) for model in product_models()) or "-"

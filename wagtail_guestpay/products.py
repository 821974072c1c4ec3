"""What a "product" is: a Wagtail page of one of the types the site declares in
``WAGTAIL_GUESTPAY_PRODUCT_MODELS``."""

from django.apps import apps

from .conf import guestpay_settings


def product_models():
    """The declared models that exist. A label naming none (its app not installed, a typo) is
    left out here, so that Wagtail's own checks and the admin keep working, and named by system
    check E002 instead of a LookupError traceback."""
    models = []
    for label in guestpay_settings.PRODUCT_MODELS:
        try:
            models.append(apps.get_model(label))
        except (LookupError, ValueError):
            continue
    return models


def is_product_page(page):
    models = tuple(product_models())
    page_class = page.specific_class
    return bool(models) and page_class is not None and issubclass(page_class, models)


def product_models_label():
    return ", ".join(str(model._meta.verbose_name) for model in product_models()) or "-"

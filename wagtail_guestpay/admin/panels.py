from wagtail.admin.panels import PageChooserPanel

from ..products import product_models


class ProductChooserPanel(PageChooserPanel):
    """A page chooser limited to the product page types the site declares (read when the form is
    built, not at import)."""

    def get_form_options(self):
        self.page_type = product_models() or None
        return super().get_form_options()

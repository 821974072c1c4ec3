"""The pay block renders its button without a template round trip (pages may hold dozens): the
markup must be exactly what includes/pay_button.html renders, and a site's own template wins."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import get_template
from django.test import RequestFactory

from wagtail_guestpay.blocks import PayButtonBlock
from wagtail_guestpay.blocks.button_html import pay_button_context
from wagtail_guestpay.models import Offer

pytestmark = pytest.mark.django_db
TEMPLATE = "wagtail_guestpay/includes/pay_button.html"


def by_template(request, offer, label="", show_price=False):
    return get_template(TEMPLATE).render(pay_button_context(request, offer, label, show_price))


@pytest.mark.parametrize("language", ["en", "fr"])
def test_direct_rendering_is_the_template_s_markup(offer, members_offer, user, language):
    from django.utils import translation

    block = PayButtonBlock()
    anonymous = RequestFactory().get("/")
    anonymous.user = AnonymousUser()
    logged_in = RequestFactory().get("/")
    logged_in.user = user
    with translation.override(language):
        for request in (anonymous, logged_in):
            for current in (offer, members_offer):
                current = Offer.objects.select_related("provider_account").get(pk=current.pk)
                for label, show_price in (("", True), ("Buy <now> & save", True),
                                          ("Buy", False), ("", False)):
                    value = block.to_python({"offer": current.pk, "label": label,
                                             "show_price": show_price})
                    html = block.render(value, {"request": request})
                    assert html == by_template(request, current, label, show_price)
                    assert "&lt;now&gt;" in html or "<now>" not in label
                current.is_active = False  # not on sale
                value = block.to_python({"offer": current.pk, "label": "", "show_price": False})
                value["offer"].is_active = False
                assert block.render(value, {"request": request}) == by_template(
                    request, value["offer"])


def test_a_site_template_overrides_the_direct_rendering(offer, settings, tmp_path):
    (tmp_path / "wagtail_guestpay" / "includes").mkdir(parents=True)
    (tmp_path / TEMPLATE).write_text("<b>{{ url }}</b>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    block = PayButtonBlock()
    value = block.to_python({"offer": offer.pk, "label": "", "show_price": False})
    assert block.render(value, {"request": request}) == f"<b>{offer.get_pay_path()}</b>"

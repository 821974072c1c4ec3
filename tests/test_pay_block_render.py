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
                for label, show_price in (
                    ("", True),
                    ("Buy <now> & save", True),
                    ("Buy", False),
                    ("", False),
                ):
                    value = block.to_python(
                        {"offer": current.pk, "label": label, "show_price": show_price}
                    )
                    html = block.render(value, {"request": request})
                    assert html == by_template(request, current, label, show_price)
                    assert "&lt;now&gt;" in html or "<now>" not in label
                current.is_active = False  # not on sale
                value = block.to_python({"offer": current.pk, "label": "", "show_price": False})
                value["offer"].is_active = False
                assert block.render(value, {"request": request}) == by_template(
                    request, value["offer"]
                )


def test_a_site_template_overrides_the_direct_rendering(offer, settings, tmp_path):
    (tmp_path / "wagtail_guestpay" / "includes").mkdir(parents=True)
    (tmp_path / TEMPLATE).write_text("<b>{{ url }}</b>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    block = PayButtonBlock()
    value = block.to_python({"offer": offer.pk, "label": "", "show_price": False})
    assert block.render(value, {"request": request}) == f"<b>{offer.get_pay_path()}</b>"


def test_remembered_buttons_stay_the_template_s_markup_and_follow_every_change(offer, user):
    """Buttons are remembered per process (a page may hold dozens): what they are remembered by
    is what they show, so a changed price, an offer taken off sale (saved or not), a logged-in
    visitor or another language each get the template's markup, never a stale button."""
    from decimal import Decimal

    from django.utils import translation

    block = PayButtonBlock()
    chooser = block.child_blocks["offer"]
    anonymous = RequestFactory().get("/")
    anonymous.user = AnonymousUser()
    logged_in = RequestFactory().get("/")
    logged_in.user = user

    def both(request):
        [loaded] = chooser.bulk_to_python([offer.pk])
        value = block.to_python({"offer": offer.pk, "label": "", "show_price": True})
        value["offer"] = loaded
        return block.render(value, {"request": request}), by_template(request, loaded, "", True)

    first = both(anonymous)
    assert first[0] == first[1] and both(anonymous) == first  # the second from memory
    assert both(logged_in)[0] == both(logged_in)[1]
    with translation.override("fr"):
        french = both(anonymous)
        assert french[0] == french[1] != first[0]

    offer.price += Decimal("1.00")
    offer.save()
    changed = both(anonymous)
    assert changed[0] == changed[1] != first[0]

    [loaded] = chooser.bulk_to_python([offer.pk])
    loaded.is_active = False  # unsaved, as in a preview
    value = block.to_python({"offer": offer.pk, "label": "", "show_price": True})
    value["offer"] = loaded
    html = block.render(value, {"request": anonymous})
    assert html == by_template(anonymous, loaded, "", True)
    assert "guestpay-pay--closed" in html


def test_a_page_of_pay_blocks_costs_the_same_queries_for_1_and_for_20_blocks(offer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    block = PayButtonBlock()
    chooser = block.child_blocks["offer"]
    offers = [offer] + [
        Offer.objects.create(
            title=f"More {index}",
            slug=f"more-{index}",
            price=offer.price,
            currency=offer.currency,
            provider_account=offer.provider_account,
            guest_payment=True,
            payment_method=offer.payment_method,
        )
        for index in range(19)
    ]
    counts = []
    chooser.bulk_to_python([offer.pk])  # the Locale's id, looked up once per process
    for count in (1, 20):
        with CaptureQueriesContext(connection) as queries:
            loaded = chooser.bulk_to_python([item.pk for item in offers[:count]])
            assert [item.pk for item in loaded] == [item.pk for item in offers[:count]]
            assert {item.provider_account.pk for item in loaded} == {offer.provider_account_id}
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3  # offers, payment systems, translations


def test_the_block_reads_well_in_the_editor_and_is_found_by_both_names():
    """Wagtail shows a block's help text as HTML: "<price>" must be escaped to be seen. The
    block menu searches label and description: "Pay button" and "pay without login" both work."""
    from django.utils import translation

    from wagtail_guestpay.blocks.pay_button import PayButtonBlock

    block = PayButtonBlock()
    with translation.override("en"):
        assert str(block.child_blocks["label"].field.help_text) == (
            "Defaults to “Pay &lt;price&gt;”."
        )
        assert [str(child.label) for child in block.child_blocks.values()] == [
            "Offer",
            "Button label",
            "Show the price beside the button",
        ]
        assert str(block.meta.label) == "Pay button"
        assert "pay without login" in str(block.get_description()).lower()

"""Orders marked "bought twice" (a guest paid again for what their account held) in the
needs-attention panel and the Transactions filter."""

import pytest

from tests.staff.test_attention_panel import fix, panel
from tests.staff.test_transactions import INDEX, rows
from wagtail_guestpay.models import Attention
from wagtail_guestpay.staff.fixes import resolve_attention

pytestmark = pytest.mark.django_db


@pytest.fixture
def twice(pay):
    first = pay("again@example.com")
    return first, pay("again@example.com")


def test_the_panel_lists_it_with_its_fix(twice, fixer, viewer, login):
    _first, second = twice
    html = panel(login(fixer))
    assert "Bought twice (1)" in html
    assert fix("resolve_attention", second.pk) in html
    assert fix("resolve_attention", second.pk) not in panel(login(viewer))  # may not fix


def test_transactions_filter_keeps_it_after_staff_dealt_with_it(twice, fixer, viewer, login):
    first, second = twice
    client = login(viewer)
    assert set(rows(client.get(INDEX + "?bought_twice=yes"))) == {second.number}
    assert set(rows(client.get(INDEX + "?bought_twice=no"))) == {first.number}
    assert set(rows(client.get(INDEX + "?attention=bought_twice"))) == {second.number}
    assert client.get(INDEX + "?bought_twice=maybe").status_code == 400

    resolve_attention(second, expected=Attention.BOUGHT_TWICE, by=fixer, reason="refunded")
    assert "Bought twice" not in panel(login(fixer))
    assert set(rows(client.get(INDEX + "?bought_twice=yes"))) == {second.number}

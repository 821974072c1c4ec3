"""Who sees and does what: staff without the guestpay permissions see no Transactions, Contacts,
notifications, fixes or panel and cannot act by URL; ``view_transactions`` only looks;
``fix_orders`` fixes but does not grant or revoke; ``manage_access`` does."""

import pytest
from django.urls import reverse

from tests.staff.conftest import form_token
from wagtail_guestpay.models import AccessGrant, Contact, Order, PaymentEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(pay):
    """A paid order with access, a placeholder order, their contacts, grants and events."""
    paid = pay("buyer@example.com")
    wallet = pay("")
    return {
        "order": paid,
        "wallet": wallet,
        "contact": paid.contact,
        "grant": paid.grants.get(),
        "payment": paid.payments.get(),
        "event": PaymentEvent.objects.filter(payment__order=paid).first(),
    }


def listing_urls(w):
    return [
        "/admin/guestpay/transactions/",
        "/admin/guestpay/transactions/?export=csv",
        reverse("guestpay_transactions_modeladmin_inspect", args=[w["order"].pk]),
        "/admin/guestpay/contacts/",
        reverse("guestpay_contacts_modeladmin_inspect", args=[w["contact"].pk]),
        "/admin/guestpay/events/",
        reverse("guestpay_events_modeladmin_inspect", args=[w["event"].pk]),
    ]


def fix_urls(w):
    """(url, POST data) of every fix, by the permission it needs."""

    def url(name, *args):
        return reverse(f"wagtail_guestpay_staff:{name}", args=args)

    product = w["order"].offer.get_products()[0].pk
    fixing = [
        (
            url("correct_email", w["wallet"].pk),
            {"email": "real@example.com", "unused_account": "keep"},
        ),
        (url("move_access", w["order"].pk), {"other": "editor"}),
        (url("resend_access_email", w["order"].pk), {}),
        (url("resolve_attention", w["wallet"].pk), {"attention": "placeholder_email"}),
        (url("check_payment", w["payment"].pk), {}),
        (url("review_hold", w["payment"].pk), {"decision": "refuse"}),
        (url("event_reviewed", w["event"].pk), {}),
    ]
    access = [
        (url("grant_access"), {"target": "gift@example.com", "products": [product]}),
        (url("grant_order_access", w["order"].pk), {}),
        (url("revoke_order_access", w["order"].pk), {}),
        (url("revoke_grant", w["grant"].pk), {}),
    ]
    return fixing, access


def snapshot():
    return (
        list(Order.objects.values_list("pk", "email", "user", "attention", "status")),
        list(AccessGrant.objects.values_list("pk", "revoked_at")),
        Contact.objects.count(),
    )


def denied(response):
    """Wagtail answers a PermissionDenied in its admin with a redirect to the dashboard (and a
    "no permission" message); other views with a 403."""
    return response.status_code == 403 or (
        response.status_code == 302 and response.url == "/admin/"
    )


def assert_forbidden(client, url, data):
    before = snapshot()
    assert denied(client.get(url)), url
    response = client.post(url, {"reason": "trying", "form_token": "x", **data})
    assert denied(response), url
    assert snapshot() == before


def test_staff_without_the_permissions_see_nothing_and_cannot_act(world, editor, login):
    client = login(editor)
    dashboard = client.get("/admin/").content.decode()
    assert "Needs attention" not in dashboard
    for label in ("Transactions", "Contacts", "Payment notifications"):
        assert label not in dashboard
    for url in listing_urls(world):
        assert denied(client.get(url)), url
    fixing, access = fix_urls(world)
    for url, data in fixing + access:
        assert_forbidden(client, url, data)
    contact_edit = f"/admin/guestpay/contacts/edit/{world['contact'].pk}/"
    assert_forbidden(client, contact_edit, {"name": "Hacked"})
    # modeladmin's own create/delete/history routes are closed too.
    for url in (
        "/admin/guestpay/transactions/create/",
        f"/admin/guestpay/transactions/delete/{world['order'].pk}/",
        f"/admin/guestpay/contacts/delete/{world['contact'].pk}/",
    ):
        assert denied(client.get(url)), url
    assert (
        client.get(f"/admin/guestpay/transactions/history/{world['order'].pk}/").status_code == 404
    )


def test_viewers_see_everything_but_no_fixes(world, viewer, login):
    client = login(viewer)
    dashboard = client.get("/admin/").content.decode()
    assert "Needs attention" in dashboard and "Transactions" in dashboard
    for url in listing_urls(world):
        assert client.get(url).status_code == 200, url
    page = client.get(listing_urls(world)[2]).content.decode()
    assert "/admin/guestpay/orders/" not in page and "/admin/guestpay/grants/" not in page
    fixing, access = fix_urls(world)
    for url, data in fixing + access:
        assert_forbidden(client, url, data)
    assert_forbidden(
        client, f"/admin/guestpay/contacts/edit/{world['contact'].pk}/", {"name": "Changed"}
    )


def test_fixers_fix_but_cannot_grant_or_revoke(world, fixer, login):
    client = login(fixer)
    fixing, access = fix_urls(world)
    for url, _data in fixing:
        assert client.get(url).status_code == 200, url
    for url, data in access:
        assert_forbidden(client, url, data)
    page = client.get(listing_urls(world)[2]).content.decode()
    assert "correct-email" in page and "revoke-access" not in page


def test_access_managers_may_grant_and_revoke(world, granter, login):
    client = login(granter)
    _fixing, access = fix_urls(world)
    for url, _data in access:
        assert client.get(url).status_code == 200, url
    url = access[3][0]  # revoke the grant
    response = client.post(url, {"reason": "allowed", "form_token": form_token(client.get(url))})
    assert response.status_code == 302
    assert not AccessGrant.objects.get(pk=world["grant"].pk).is_active


def test_the_permissions_are_offered_in_the_group_editor(admin_client):
    page = admin_client.get("/admin/groups/new/").content.decode()
    for label in (
        "Can see transactions and contacts",
        "Can grant and revoke access manually",
        "Can fix orders: e-mail, account, resend, re-check, review",
    ):
        assert label in page


def test_anonymous_visitors_are_sent_to_the_login_page(world, client):
    fixing, access = fix_urls(world)
    for url in [*listing_urls(world), *(url for url, _data in fixing + access)]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/"), url


def test_transactions_contacts_and_notifications_are_in_the_payments_menu(
    viewer, editor, rf, login
):
    from wagtail.admin.menu import admin_menu

    login(viewer).get("/admin/")  # loads the admin's URLs, which register the menu's viewsets

    def payments_items(user):
        request = rf.get("/admin/")
        request.user = user
        for item in admin_menu.menu_items_for_request(request):
            if item.name == "guestpay_menu":
                return [sub.label for sub in item.menu.menu_items_for_request(request)]
        return None

    assert payments_items(viewer) == ["Transactions", "Contacts", "Payment notifications"]
    assert payments_items(editor) in (None, [])

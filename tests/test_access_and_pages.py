"""The access API and signals, the product page mixin, offer pages and the pay block."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from tests.factories import OfferFactory, UserFactory, course_page
from wagtail_guestpay import signals
from wagtail_guestpay.fulfilment.access import grant_access, has_access, products_for, revoke_access
from wagtail_guestpay.models import AccessGrant, Offer, OfferPage, OfferProduct

pytestmark = pytest.mark.django_db


class TestAccessApi:
    def test_grant_is_idempotent_and_signals_once(self, run_on_commit):
        user, product = UserFactory(), course_page()
        received = []
        handler = lambda sender, grant, **kw: received.append(grant.pk)  # noqa: E731
        signals.access_granted.connect(handler)
        try:
            first, created = grant_access(user, product, source=AccessGrant.Source.API)
            again, created_again = grant_access(user, product, source=AccessGrant.Source.API)
            run_on_commit()
        finally:
            signals.access_granted.disconnect(handler)
        assert created and not created_again and first == again
        assert received == [first.pk]
        assert has_access(user, product)
        assert list(products_for(user)) == [product.specific]

    def test_revoke_signals_and_ends_access(self, run_on_commit):
        user, product = UserFactory(), course_page()
        grant, _ = grant_access(user, product, source=AccessGrant.Source.STAFF)
        received = []
        handler = lambda sender, grant, **kw: received.append(grant.revoked_at)  # noqa: E731
        signals.access_revoked.connect(handler)
        try:
            assert revoke_access(grant, note="refund")
            assert not revoke_access(grant)
            run_on_commit()
        finally:
            signals.access_revoked.disconnect(handler)
        assert len(received) == 1 and received[0] is not None
        assert not has_access(user, product)
        assert list(products_for(user)) == []

    def test_inactive_and_anonymous_users_hold_nothing(self):
        from django.contrib.auth.models import AnonymousUser

        user, product = UserFactory(), course_page()
        grant_access(user, product, source=AccessGrant.Source.API)
        assert has_access(user, product)  # the grant holds while the account is active
        assert list(products_for(user)) == [product.specific]
        assert not has_access(AnonymousUser(), product)
        assert list(products_for(AnonymousUser())) == []
        user.is_active = False
        assert not has_access(user, product)
        assert list(products_for(user)) == []

    def test_unpublished_products_are_not_listed(self):
        user, product = UserFactory(), course_page()
        grant_access(user, product, source=AccessGrant.Source.API)
        assert list(products_for(user)) == [product.specific]
        product.unpublish()
        assert list(products_for(user)) == []

    def test_order_status_signal(self, offer, testpay, run_on_commit):
        seen = []
        handler = lambda sender, order, old_status, new_status, **kw: seen.append(  # noqa: E731
            (old_status, new_status)
        )
        signals.order_status_changed.connect(handler)
        try:
            _order, payment, _charge = testpay.start(offer)
            testpay.notify(payment, "pending", email="sig@example.com")
            testpay.notify(payment, "paid", email="sig@example.com")
        finally:
            signals.order_status_changed.disconnect(handler)
        assert seen == [("created", "pending"), ("pending", "paid")]


class TestProductPage:
    def test_locked_for_visitors_open_for_holders_and_editors(self, client, offer, admin_user):
        product = offer.get_products()[0]
        locked = client.get(product.url)
        assert locked.status_code == 403
        assert b"Lesson one" not in locked.content
        assert offer.get_pay_path().encode() in locked.content

        buyer = UserFactory()
        grant_access(buyer, product, source=AccessGrant.Source.STAFF)
        client.force_login(buyer)
        assert b"Lesson one" in client.get(product.url).content

        client.force_login(admin_user)
        assert client.get(product.url).status_code == 200

    def test_the_offer_is_not_a_second_heading_when_it_has_the_page_s_title(
        self, client, offer, account
    ):
        """ "Demo course" twice on the locked page: an offer named like its product gets no h2;
        with several offers, each is named."""
        product = offer.get_products()[0]
        Offer.objects.filter(pk=offer.pk).update(title=product.title)
        page = client.get(product.url).content.decode()
        assert page.count(f">{product.title}<") == 1 and "<h2>" not in page
        other = OfferFactory(provider_account=account, slug="other", title="Gift edition")
        OfferProduct.objects.create(offer=other, page=product)
        page = client.get(product.url).content.decode()
        assert f"<h2>{product.title}</h2>" in page and "<h2>Gift edition</h2>" in page

    def test_login_link_comes_back_to_the_page(self, client, offer):
        from urllib.parse import quote

        product = offer.get_products()[0]
        locked = client.get(product.url)
        assert (
            f'href="/guestpay/login/?next={quote(product.url, safe="")}"'.encode() in locked.content
        )


class TestOffers:
    def test_guest_payment_needs_a_provider_that_supports_it(self, account):
        offer = Offer(title="x", slug="x", price="10", currency="EUR", guest_payment=True)
        with pytest.raises(ValidationError):
            offer.full_clean()
        offer.provider_account = account
        offer.full_clean()
        assert offer.takes_guest_payment

    def test_products_must_be_of_a_declared_type(self, offer):
        from wagtail_guestpay.models import OfferProduct

        root = Site.objects.get(is_default_site=True).root_page
        plain = root.add_child(instance=Page(title="Plain", slug="plain"))
        with pytest.raises(ValidationError):
            OfferProduct(offer=offer, page=plain).full_clean()
        OfferProduct(offer=offer, page=course_page()).full_clean()

    def test_offer_page_renders_the_pay_button_and_merchant_contacts(self, client, offer):
        from wagtail_guestpay.models import MerchantContacts

        site = Site.objects.get(is_default_site=True)
        merchant = MerchantContacts.for_site(site)
        merchant.email = "sales@shop.example"
        merchant.save()
        page = site.root_page.add_child(
            instance=OfferPage(
                title="Buy it",
                slug="buy-it",
                offer=offer,
                body=[("paragraph", RichText("<p>Great course</p>"))],
            )
        )
        response = client.get(page.url)
        assert response.status_code == 200
        assert b"Great course" in response.content
        assert b'href="/guestpay/pay/demo-course/"' in response.content
        assert b"sales@shop.example" in response.content


def test_pay_blocks_load_offers_in_a_constant_number_of_queries(client, account):
    site = Site.objects.get(is_default_site=True)
    offers = [OfferFactory(provider_account=account) for _ in range(12)]

    def page_with(count, slug):
        body = [
            ("pay_button", {"offer": offers[i % len(offers)], "label": "", "show_price": True})
            for i in range(count)
        ]
        return site.root_page.add_child(
            instance=OfferPage(title=slug, slug=slug, offer=offers[0], body=body)
        )

    counts = {}
    for count in (1, 10, 40):
        page = page_with(count, f"blocks-{count}")
        client.get(page.url)  # warm the site-wide caches (root paths, content types)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.url)
        assert response.status_code == 200
        assert response.content.count(b'class="guestpay-button"') == count + 1
        counts[count] = len(queries)
    assert counts[1] == counts[10] == counts[40], counts

"""Content in the visitor's language (WAGTAIL_I18N_ENABLED, on in the sandbox): offers and result
pages translated with Wagtail, pay links and result pages following the active language, and the
same package working with i18n off."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings
from django.utils import translation
from wagtail.models import Locale, Site
from wagtail.rich_text import RichText

from tests.factories import UserFactory, course_page
from wagtail_guestpay.blocks.button_html import pay_button_context
from wagtail_guestpay.fulfilment.access import grant_access, has_access, products_for
from wagtail_guestpay.localization import find_offer, localize
from wagtail_guestpay.models import (
    AccessGrant,
    MerchantContacts,
    MerchantContactsTranslation,
    Offer,
    OfferPage,
    OfferProduct,
    Order,
    PaymentResultPage,
    RegistrationField,
    RegistrationSettings,
    RegistrationTranslation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fr(db):
    return Locale.objects.get_or_create(language_code="fr")[0]


@pytest.fixture
def uk(db):
    return Locale.objects.get_or_create(language_code="uk")[0]


def in_french(client):
    client.cookies["django_language"] = "fr"
    return client


def translated(obj, locale, **fields):
    """``obj`` translated as simple_translation does it (a copy in ``locale``), then saved."""
    copy = obj.copy_for_translation(locale)
    for name, value in fields.items():
        setattr(copy, name, value)
    if hasattr(copy, "save_revision"):
        copy.save_revision().publish()
        return copy.specific_class.objects.get(pk=copy.pk)
    copy.save()
    return copy


@pytest.fixture
def result_pages(fr):
    root = Site.objects.get(is_default_site=True).root_page
    success = root.add_child(
        instance=PaymentResultPage(
            title="Thank you",
            slug="thanks",
            kind="success",
            body=[("paragraph", RichText("<p>Welcome aboard</p>"))],
        )
    )
    failure = root.add_child(
        instance=PaymentResultPage(title="Not paid", slug="not-paid", kind="failure")
    )
    translated(root, fr)  # the French tree's home, as simple_translation makes it
    french_success = translated(
        success, fr, title="Merci", body=[("paragraph", RichText("<p>Bienvenue à bord</p>"))]
    )
    french_failure = translated(failure, fr, title="Paiement non abouti")
    return success, failure, french_success, french_failure


@pytest.fixture
def bilingual(offer, fr, result_pages):
    success, failure, *_french = result_pages
    offer.success_page, offer.failure_page = success, failure
    offer.description = "Lifetime access"
    offer.save()
    french = translated(offer, fr, title="Cours", description="Accès à vie")
    return offer, french


def return_path(client):
    from wagtail_guestpay.testprovider.models import TestCharge

    return TestCharge.objects.order_by("-pk").first().return_url.removeprefix("http://testserver")


# Offers --------------------------------------------------------------------------------------


def test_pay_link_in_french_pays_the_french_offer_and_keeps_the_english_one_in_english(
    client, bilingual
):
    english, french = bilingual
    assert french.slug == english.slug and french.pk != english.pk

    assert in_french(client).get(english.get_pay_path()).status_code == 303
    order = Order.objects.get()
    assert order.offer == french and order.language == "fr"

    client.cookies["django_language"] = "en"
    assert client.get(english.get_pay_path()).status_code == 303
    assert Order.objects.latest("pk").offer == english


def test_a_language_without_a_translation_falls_back_to_the_default_locale(bilingual, uk):
    english, french = bilingual
    with translation.override("uk"):
        assert find_offer(english.slug, Offer.objects.all()) == english
        assert localize(french) == english  # chosen in French, shown in the default language
    with translation.override("fr"):
        assert localize(english) == french


def test_translations_share_everything_but_their_words(bilingual, fr):
    english, french = bilingual
    other_course = course_page("Another course")
    english.price = "59.00"
    english.save()
    OfferProduct.objects.create(offer=english, page=other_course)
    english.save()  # the admin saves the offer with its products

    french.refresh_from_db()
    assert str(french.price) == "59.00"
    assert french.title == "Cours" and english.title != "Cours"
    assert set(french.products.values_list("page", flat=True)) == set(
        english.products.values_list("page", flat=True)
    )
    french.is_active = False
    french.save(update_fields=["is_active"])  # as a partial save does
    english.refresh_from_db()
    assert english.is_active is False


def test_a_slug_names_one_offer_and_its_translations(bilingual, account):
    from django.core.exceptions import ValidationError

    english, _french = bilingual
    other = Offer(title="Other", slug=english.slug, price="1.00", provider_account=account)
    with pytest.raises(ValidationError) as error:
        other.full_clean()
    assert "slug" in error.value.message_dict


def test_pay_blocks_and_offer_pages_show_the_offer_in_the_visitors_language(client, bilingual, fr):
    english, _french = bilingual
    root = Site.objects.get(is_default_site=True).root_page
    page = root.add_child(
        instance=OfferPage(
            title="Course",
            slug="course-offer",
            offer=english,
            body=[("pay_button", {"offer": english, "label": "", "show_price": False})],
        )
    )
    french_page = translated(page, fr, title="Le cours")
    assert french_page.offer == english  # a copy still chooses the original offer

    response = in_french(client).get("/course-offer/")
    assert response.status_code == 200
    assert b"Le cours" in response.content and "Accès à vie".encode() in response.content
    assert b"Lifetime" not in response.content
    # The value stored stays the editor's choice (the admin's form shows the English offer);
    # the button is built for the French one.
    french_page = OfferPage.objects.get(pk=french_page.pk)
    assert french_page.body[0].value["offer"] == english
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with translation.override("fr"):
        assert pay_button_context(request, french_page.body[0].value["offer"])["offer"] == _french
        assert pay_button_context(request, english)["offer"] == _french
    with translation.override("en"):
        assert pay_button_context(request, english)["offer"] == english


# Result pages ------------------------------------------------------------------------------


def test_an_order_made_in_french_lands_on_the_french_result_page(
    client, bilingual, testpay, run_on_commit
):
    in_french(client).get(bilingual[0].get_pay_path())
    path = return_path(client)
    testpay.notify(Order.objects.get().payments.get(), "paid", email="fr@example.com")
    page = client.get(path)
    assert "Bienvenue à bord".encode() in page.content
    assert b"Welcome aboard" not in page.content
    assert "Paiement reçu".encode() in page.content  # the package's own strings, translated

    client.cookies["django_language"] = "en"
    assert b"Welcome aboard" in client.get(path).content  # the visitor's language decides


def test_a_french_result_page_chosen_in_the_gear_shows_in_english_to_english_visitors(
    client, bilingual, result_pages, testpay, run_on_commit
):
    english, french = bilingual
    french.failure_page = result_pages[3]  # the editor chose the French page, on the translation
    french.save()
    english.refresh_from_db()
    assert english.failure_page_id == result_pages[3].pk  # shared with the translations
    client.get(english.get_pay_path())
    testpay.notify(Order.objects.get().payments.get(), "declined")
    page = client.get(return_path(client))
    assert b"Not paid" in page.content and b"Paiement non abouti" not in page.content


# Products, settings --------------------------------------------------------------------------


def test_access_holds_for_every_translation_of_a_product(fr):
    course = course_page("Course")
    Site.objects.get(is_default_site=True).root_page.copy_for_translation(fr)
    french_course = translated(course, fr, title="Cours")
    buyer = UserFactory()
    grant_access(buyer, course, source=AccessGrant.Source.STAFF)
    assert has_access(buyer, french_course)
    with translation.override("fr"):
        assert [page.pk for page in products_for(buyer)] == [french_course.pk]


def test_merchant_hours_and_registration_texts_follow_the_language(client, fr, members_offer):
    site = Site.objects.get(is_default_site=True)
    merchant = MerchantContacts.for_site(site)
    merchant.hours, merchant.email = "Mon-Fri", "help@shop.example"
    merchant.save()
    MerchantContactsTranslation.objects.create(contacts=merchant, locale=fr, hours="Lun-Ven")
    registration = RegistrationSettings.for_site(site)
    registration.intro = "About you"
    registration.save()
    RegistrationField.objects.create(
        settings=registration,
        label="Level",
        name="level",
        field_type="choice",
        choices="Beginner\nExpert",
    )
    RegistrationTranslation.objects.create(
        settings=registration,
        locale=fr,
        field_name="level",
        label="Niveau",
        choices="Débutant\nExpert·e",
    )
    RegistrationTranslation.objects.create(settings=registration, locale=fr, intro="Vous")

    page = in_french(client).get(members_offer.get_checkout_path()).content.decode()
    assert "Lun-Ven" in page and "Mon-Fri" not in page
    assert "Niveau" in page and ">Débutant<" in page and "About you" not in page
    # The value stored is the original choice, whatever the language shown.
    assert 'value="Beginner"' in page
    client.cookies["django_language"] = "en"
    page = client.get(members_offer.get_checkout_path()).content.decode()
    assert "Mon-Fri" in page and "Level" in page and ">Beginner<" in page


# Admin ---------------------------------------------------------------------------------------


def test_editor_translates_an_offer_in_the_admin(client, offer, fr):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(
        f"/admin/translation/submit/snippet/wagtail_guestpay/offer/{offer.pk}/",
        {"locales": [fr.pk]},
    )
    assert response.status_code == 302, response.content[:500]
    french = Offer.objects.get(locale=fr)
    assert french.translation_key == offer.translation_key and french.slug == offer.slug
    assert list(french.products.values_list("page", flat=True)) == list(
        offer.products.values_list("page", flat=True)
    )
    assert (
        client.get(f"/admin/snippets/wagtail_guestpay/offer/edit/{french.pk}/").status_code == 200
    )
    assert client.get("/admin/snippets/wagtail_guestpay/offer/").status_code == 200


# I18n off ------------------------------------------------------------------------------------


@override_settings(WAGTAIL_I18N_ENABLED=False)
def test_with_i18n_off_the_chosen_offer_and_pages_serve_every_language(
    client, offer, testpay, run_on_commit, django_assert_max_num_queries
):
    root = Site.objects.get(is_default_site=True).root_page
    success = root.add_child(
        instance=PaymentResultPage(
            title="Thank you",
            slug="thanks",
            kind="success",
            body=[("paragraph", RichText("<p>Welcome aboard</p>"))],
        )
    )
    offer.success_page = success
    offer.save()
    with translation.override("fr"):
        assert localize(offer) is offer and localize(success) is success
        with django_assert_max_num_queries(0):
            assert localize(offer) is offer

    in_french(client).get(offer.get_pay_path())
    assert Order.objects.get().offer == offer
    testpay.notify(Order.objects.get().payments.get(), "paid", email="off@example.com")
    page = client.get(return_path(client))
    assert b"Welcome aboard" in page.content and "Paiement reçu".encode() in page.content


def test_the_settings_pages_offer_rows_in_other_languages(client, fr):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    site = Site.objects.get(is_default_site=True)
    for model in ("merchantcontacts", "registrationsettings"):
        response = client.get(f"/admin/settings/wagtail_guestpay/{model}/{site.pk}/")
        assert response.status_code == 200
        assert b"In other languages" in response.content


@pytest.mark.django_db(transaction=True)
def test_migration_puts_existing_offers_in_the_default_locale():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("wagtail_guestpay", "0002_guestaccount_retired_at")]
    after = [("wagtail_guestpay", "0005_offer_locale")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_apps = executor.loader.project_state(before).apps
        OldOffer = old_apps.get_model("wagtail_guestpay", "Offer")
        OldOffer.objects.create(title="Old one", slug="old-one", price="5.00")
        OldOffer.objects.create(title="Old two", slug="old-two", price="6.00")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new_apps = executor.loader.project_state(after).apps
        NewOffer = new_apps.get_model("wagtail_guestpay", "Offer")
        default = Locale.get_default()
        offers = list(NewOffer.objects.order_by("slug"))
        assert [offer.locale_id for offer in offers] == [default.pk, default.pk]
        assert len({offer.translation_key for offer in offers}) == 2
        assert None not in {offer.translation_key for offer in offers}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())

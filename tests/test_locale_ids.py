"""The id of each language's Locale is remembered per process (a pay click asked for it every
time): a Locale saved or deleted, a language setting changed, or another process's change once
LOCALE_IDS_SECONDS have passed, is seen without restarting anything."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from wagtail.models import Locale

from wagtail_guestpay import localization
from wagtail_guestpay.localization import active_locale_id, find_offer, locale_id_for
from wagtail_guestpay.models import Offer

pytestmark = pytest.mark.django_db


def locale_queries(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, [q["sql"] for q in captured.captured_queries if "wagtailcore_locale" in q["sql"]]


def test_a_pay_click_looks_the_locale_up_once_per_process(client, offer):
    """The click's 7th query was the Locale of the visitor's language."""
    assert client.get(offer.get_pay_path()).status_code == 303
    client.cookies.clear()  # a new order, not the open one
    response, queries = locale_queries(lambda: client.get(offer.get_pay_path()))
    assert response.status_code == 303
    assert queries == []


def test_a_locale_saved_or_deleted_here_is_seen_at_once(offer):
    english = Locale.objects.get(language_code="en")
    with translation.override("fr"):
        assert locale_id_for("fr") is None
        assert active_locale_id() == english.pk  # Wagtail's fallback: the default locale
        assert find_offer(offer.slug, Offer.objects.all()) == offer

        french = Locale.objects.create(language_code="fr")
        assert locale_id_for("fr") == french.pk
        french_offer = offer.copy_for_translation(french)
        french_offer.save()
        assert find_offer(offer.slug, Offer.objects.all()) == french_offer
        assert locale_queries(lambda: active_locale_id()) == (french.pk, [])  # remembered

        french_offer.delete()
        french.delete()
        assert locale_id_for("fr") is None
        assert active_locale_id() == english.pk
        assert find_offer(offer.slug, Offer.objects.all()) == offer

        again = Locale.objects.create(language_code="fr")
        assert again.pk != french.pk
        assert locale_id_for("fr") == again.pk


def test_a_language_without_a_locale_is_not_remembered():
    """A Locale created by another process (here: without signals) is used at once."""
    assert locale_id_for("uk") is None
    [ukrainian] = Locale.objects.bulk_create([Locale(language_code="uk")])
    assert locale_id_for("uk") == Locale.objects.get(language_code="uk").pk == ukrainian.pk


def test_a_changed_language_setting_is_seen_at_once():
    english = Locale.objects.get(language_code="en")
    french = Locale.objects.create(language_code="fr")
    with translation.override("uk"):  # no Ukrainian locale: the default one
        assert active_locale_id() == english.pk
        with override_settings(LANGUAGE_CODE="fr"):
            assert active_locale_id() == french.pk
        assert active_locale_id() == english.pk
    with override_settings(WAGTAIL_CONTENT_LANGUAGES=[("en", "English")]):
        assert locale_id_for("fr") is None  # French is no content language any more


def test_another_process_s_change_is_seen_after_the_time_limit(monkeypatch):
    """Another process's delete or rename sends no signal here: after LOCALE_IDS_SECONDS the id
    is looked up again."""
    french = Locale.objects.create(language_code="fr")
    now = [1000.0]
    monkeypatch.setattr(localization.time, "monotonic", lambda: now[0])
    assert locale_id_for("fr") == french.pk
    Locale.objects.filter(pk=french.pk).update(language_code="de")  # no signal
    now[0] += localization.LOCALE_IDS_SECONDS - 1
    assert locale_id_for("fr") == french.pk  # still trusted
    now[0] += 2
    assert locale_id_for("fr") is None

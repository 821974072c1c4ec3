"""Translations: the catalogs are complete and consistent, the committed .mo files are what the
.po files say, and the buyer pages, the e-mails and the admin really come out in French and
Ukrainian.

Plural rules: GNU gettext manual, "Plural forms" (French ``nplurals=2; plural=(n > 1)``, the
Slavic rule with three forms for Ukrainian), the same as Django's own fr and uk catalogs use.
"""

import gettext
import html as html_lib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from wagtail.models import Site
from wagtail.users.models import UserProfile

from tests.conftest import order_of, run_pending_on_commit
from tests.factories import OfferFactory, UserFactory
from wagtail_guestpay.models import MerchantContacts, OfferPage, Order

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("fr", "uk")
# Where makemessages is run (``make messages``), with what it ignores, and its catalogs.
SOURCES = {
    "wagtail_guestpay": ["testprovider/*"],
    "wagtail_guestpay/testprovider": [],
    "sandbox": ["var/*", "static/*"],
}
CATALOGS = [
    ROOT / source / "locale" / lang / "LC_MESSAGES" / "django.po"
    for source in SOURCES
    for lang in LANGUAGES
]
NPLURALS = {"fr": 2, "uk": 3}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
TAG = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?>")
HTML_TAGS = {"a", "strong", "em", "b", "i", "br", "span", "p", "code", "abbr"}


def catalog_id(path):
    return str(path.relative_to(ROOT))


def lang_of(path):
    return path.parts[-3]


def entries(po):
    """``{(context, msgid): translation}`` of the translated entries; plural translations as a
    tuple of their forms."""
    return {
        (entry.msgctxt, entry.msgid): (
            tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            if entry.msgid_plural
            else entry.msgstr
        )
        for entry in po.translated_entries()
    }


def html_tags(text):
    return sorted(
        tag for tag in TAG.findall(text) if re.match(r"</?([a-z0-9]+)", tag).group(1) in HTML_TAGS
    )


# The catalogs ---------------------------------------------------------------------------------
def test_every_catalog_is_there():
    found = set(ROOT.glob("wagtail_guestpay/**/locale/*/LC_MESSAGES/django.po"))
    found |= set(ROOT.glob("sandbox/locale/*/LC_MESSAGES/django.po"))
    assert found == set(CATALOGS)


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_catalog_is_complete_and_not_fuzzy(path):
    po = polib.pofile(str(path))
    assert len(po) > 5  # a catalog really in use (the sandbox's holds 8 strings)
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == lang_of(path)
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.obsolete_entries()] == []
    for entry in po:
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        assert all(form.strip() for form in forms), entry.msgid


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_plural_forms(path):
    po = polib.pofile(str(path))
    lang = lang_of(path)
    header = po.metadata["Plural-Forms"]
    nplurals = int(re.search(r"nplurals=(\d+)", header).group(1))
    assert nplurals == NPLURALS[lang]
    plural = gettext.c2py(re.search(r"plural=(.*?);?$", header).group(1))
    expected = {
        "fr": {0: 0, 1: 0, 2: 1, 5: 1, 21: 1, 100: 1},
        "uk": {
            1: 0,
            21: 0,
            101: 0,
            2: 1,
            4: 1,
            22: 1,
            34: 1,
            0: 2,
            5: 2,
            11: 2,
            12: 2,
            14: 2,
            25: 2,
            111: 2,
            112: 2,
        },
    }[lang]
    assert {n: plural(n) for n in expected} == expected
    for entry in po:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(nplurals)), entry.msgid


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_placeholders_and_markup_are_kept(path):
    """%(name)s placeholders (python-format, and {{ var }} of blocktranslate as makemessages
    writes them) and HTML tags of each translation are those of the English text."""
    problems = []
    for entry in polib.pofile(str(path)):
        if entry.msgid_plural:
            pairs = [(entry.msgid_plural, form) for form in entry.msgstr_plural.values()]
        else:
            pairs = [(entry.msgid, entry.msgstr)]
        for source, text in pairs:
            if sorted(set(PLACEHOLDER.findall(source))) != sorted(set(PLACEHOLDER.findall(text))):
                problems.append(("placeholders", entry.msgid, text))
            if text.count("%") != source.count("%"):
                problems.append(("stray %", entry.msgid, text))
            if html_tags(source) != html_tags(text):
                problems.append(("markup", entry.msgid, text))
            if ("{{" in text or "{%" in text) and "{{" not in source and "{%" not in source:
                problems.append(("template syntax", entry.msgid, text))
        if "python-format" in entry.flags or PLACEHOLDER.search(entry.msgid):
            assert "python-format" in entry.flags, entry.msgid
            assert not re.search(r"%[sd]", entry.msgid), f"positional placeholder: {entry.msgid}"
    assert problems == []


@pytest.mark.parametrize("path", CATALOGS, ids=catalog_id)
def test_committed_mo_is_the_compiled_po(path, tmp_path):
    po = polib.pofile(str(path))
    mo_path = path.with_suffix(".mo")
    assert mo_path.exists(), "compile the catalogs: make messages"
    mo = polib.mofile(str(mo_path))
    assert entries(mo) == entries(po)
    assert mo.metadata["Plural-Forms"] == po.metadata["Plural-Forms"]

    # What Python's gettext reads (and Django) is the same from both: compile in memory.
    compiled = tmp_path / "django.mo"
    po.save_as_mofile(str(compiled))
    with mo_path.open("rb") as committed, compiled.open("rb") as fresh:
        committed_catalog = gettext.GNUTranslations(committed)._catalog
        fresh_catalog = gettext.GNUTranslations(fresh)._catalog
    committed_catalog.pop("", None)
    fresh_catalog.pop("", None)
    assert committed_catalog == fresh_catalog


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_text_shared_by_several_catalogs_reads_the_same_in_each(lang):
    """Django merges the catalogs of all apps; one of them wins for a text several hold."""
    seen = {}
    for path in CATALOGS:
        if lang_of(path) != lang:
            continue
        for key, text in entries(polib.pofile(str(path))).items():
            seen.setdefault(key, set()).add(text)
    assert {key: texts for key, texts in seen.items() if len(texts) > 1} == {}


@pytest.mark.skipif(
    not shutil.which("xgettext"),
    reason="GNU gettext is not installed (scripts/system-deps.sh installs it)",
)
@pytest.mark.parametrize("source", list(SOURCES))
def test_catalogs_hold_every_marked_string(source, tmp_path):
    """makemessages on a copy of the sources finds no string the committed catalogs lack (and
    none they hold in vain): `make messages` was run after the last change."""
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT / source, copy, ignore=shutil.ignore_patterns("__pycache__", "var", "*.mo")
    )
    command = [sys.executable, "-m", "django", "makemessages", "-l", "fr", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in SOURCES[source]]
    env = {
        key: value
        for key, value in __import__("os").environ.items()
        if key != "DJANGO_SETTINGS_MODULE"
    }
    subprocess.run(command, cwd=copy, env=env, check=True, capture_output=True, timeout=120)
    fresh = polib.pofile(str(copy / "locale/fr/LC_MESSAGES/django.po"))
    committed = polib.pofile(str(ROOT / source / "locale/fr/LC_MESSAGES/django.po"))
    keys = {(entry.msgctxt, entry.msgid, entry.msgid_plural) for entry in committed}
    fresh_keys = {(entry.msgctxt, entry.msgid, entry.msgid_plural) for entry in fresh}
    assert fresh_keys - keys == set(), "new strings: run make messages and translate them"
    assert keys - fresh_keys == set(), "strings no longer used: run make messages"


@pytest.mark.parametrize(
    "count, expected",
    [
        (1, "1 година"),
        (21, "21 година"),
        (2, "2 години"),
        (24, "24 години"),
        (5, "5 годин"),
        (11, "11 годин"),
        (12, "12 годин"),
    ],
)
def test_ukrainian_plurals_at_run_time(count, expected):
    """Django's own uk catalogs use another plural rule; ours must still pick the right form."""
    with translation.override("uk"):
        assert translation.ngettext("%(n)s hour", "%(n)s hours", count) % {"n": count} == expected


def test_contexts_tell_the_genders_apart():
    with translation.override("fr"):
        assert translation.pgettext("order status", "Paid") == "Payée"
        assert translation.pgettext("payment status", "Paid") == "Payé"
        assert translation.pgettext("date of payment", "Paid") == "Payée le"
        assert translation.pgettext("order number", "Number") == "Numéro"
        assert translation.gettext("Number") == "Nombre"  # a registration field's type
    with translation.override("uk"):
        assert translation.pgettext("of a person", "Name") == "Ім'я"
        assert translation.gettext("Name") == "Назва"


# Buyer pages ----------------------------------------------------------------------------------
def speaking(lang):
    """A browser whose visitor chose ``lang`` with the site's language switcher."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client


def text_of(response):
    assert response.status_code in (200, 410), response.status_code
    return html_lib.unescape(response.content.decode()).replace("\u00a0", " ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lang, words, amount",
    [
        (
            "fr",
            ["Payer 49,00 EUR", "Une question sur votre paiement ?", "Téléphone :"],
            "49,00 EUR",
        ),
        ("uk", ["Оплатити 49,00 EUR", "Маєте запитання щодо оплати?", "Телефон:"], "49,00 EUR"),
    ],
)
def test_offer_page(offer, lang, words, amount):
    site = Site.objects.get(is_default_site=True)
    merchant = MerchantContacts.for_site(site)
    merchant.phone = "+33 1 23 45 67 89"
    merchant.save()
    page = site.root_page.add_child(instance=OfferPage(title="Course", slug="buy", offer=offer))
    html = text_of(speaking(lang).get(page.url))
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html
    assert "Pay 49" not in html and "Questions about your payment" not in html


@pytest.mark.django_db
def test_testpay_pages_and_the_return_page(offer, testpay, run_on_commit):
    buyer = speaking("fr")
    _order, _payment, charge = testpay.start(offer, client=buyer)
    hosted_url = reverse("wagtail_guestpay:testprovider:hosted", args=[charge.public_id])
    hosted = text_of(buyer.get(hosted_url))
    assert "Choisissez la réponse du moyen de paiement" in hosted
    assert "E-mail pour le reçu" in hosted and "Payer (carte, e-mail transmis)" in hosted
    refused = text_of(buyer.post(hosted_url, {"outcome": "paid", "email": ""}))
    assert "Saisissez l'e-mail que le moyen de paiement transmettrait." in refused

    return_path = charge.return_url.removeprefix("http://testserver")
    confirming = text_of(buyer.get(return_path))
    assert "Votre paiement est en cours de confirmation" in confirming
    assert (
        buyer.post(hosted_url, {"outcome": "paid", "email": "acheteur@example.com"}).status_code
        == 302
    )
    run_pending_on_commit()  # TestPay's signed notification reaches the shop
    paid = text_of(buyer.get(return_path))
    assert "Paiement reçu, merci !" in paid
    assert (
        "Nous avons envoyé un lien vers votre achat à <strong>acheteur@example.com</strong>" in paid
    )
    assert "<dt>Commande</dt>" in paid and "<dt>Montant</dt><dd>49,00 EUR</dd>" in paid
    assert "Payment received" not in paid
    done = text_of(buyer.get(hosted_url))
    assert "Ce paiement a déjà été traité" in done and "<p>Payé</p>" in done


@pytest.mark.django_db
def test_access_email_link_setup_and_personal_area_in_the_order_language(
    offer, testpay, run_on_commit, outbox
):
    """The buyer paid in Ukrainian: the access e-mail is in Ukrainian although the provider's
    notification (which sends it) carries no language; the pages follow the visitor's."""
    buyer = speaking("uk")
    _order, payment, _charge = testpay.start(offer, client=buyer)
    assert order_of(payment).language == "uk"
    testpay.notify(payment, "paid", email="pokupets@example.com")  # a client without language

    message = outbox[-1]
    assert message.to == ["pokupets@example.com"]
    assert message.subject == f"Ваш доступ до {offer.title}"
    assert f"Дякуємо за покупку: {offer.title}." in message.body
    assert "Посилання працює один раз протягом 7 днів." in message.body
    assert f"Замовлення: {order_of(payment).number} (49,00 EUR)" in message.body
    html_body = message.alternatives[0][0]
    assert '<html lang="uk">' in html_body and "Відкрити мій обліковий запис" in html_body
    assert "Thank you" not in message.body

    link = next(line.strip() for line in message.body.splitlines() if "/guestpay/access/" in line)
    path = link.removeprefix("http://testserver")
    landing = text_of(buyer.get(path))
    assert (
        "Відкрийте свій обліковий запис" in landing
        and "Перейти до мого облікового запису" in landing
    )
    setup = buyer.post(path)
    assert setup.status_code == 302
    form = text_of(buyer.get(setup["Location"]))
    assert "Вітаємо! Встановіть пароль" in form
    assert ">Пароль</label>" in form and ">Повторіть пароль</label>" in form
    done = buyer.post(
        setup["Location"], {"password1": "Kyiv-kashtan-2024", "password2": "Kyiv-kashtan-2024"}
    )
    assert done.status_code == 302
    area = text_of(buyer.get(done["Location"]))
    assert "<h1>Мої покупки</h1>" in area
    assert '<th scope="col">Замовлення</th>' in area and ">Оплачено</td>" in area
    assert ">Відкрити</a>" in area and "Змінити пошту" in area

    french = text_of(speaking("fr").get(path))  # the link is used: the page says so, in French
    assert "Ce lien ne peut plus être utilisé" in french


@pytest.mark.django_db
def test_claim_form_and_its_code_email(offer, testpay, run_on_commit, outbox):
    buyer = speaking("fr")
    _order, payment, charge = testpay.start(offer, client=buyer)
    testpay.notify(payment, "paid", email="")  # a wallet gave no e-mail
    path = charge.return_url.removeprefix("http://testserver")
    page = text_of(buyer.get(path))
    assert "Où devons-nous envoyer votre accès ?" in page
    assert '<label for="guestpay-claim-email">Votre adresse e-mail</label>' in page
    assert "M'envoyer un code" in page

    outbox.clear()
    sent = buyer.post(path + "claim/", {"email": "acheteur@example.com"})
    assert sent.status_code == 303
    run_pending_on_commit()
    code_mail = outbox[-1]
    assert code_mail.subject.startswith("Votre code de confirmation")
    assert "Il est valable 15 minutes." in code_mail.body
    step = text_of(buyer.get(path))
    assert "Saisissez le code que nous vous avons envoyé par e-mail" in step
    assert "Il est valable 15 minutes ;" in step


@pytest.mark.django_db
def test_registration_code_page_and_both_of_its_emails(members_offer, outbox):
    UserFactory(email="existe@example.com")
    Site.objects.filter(is_default_site=True).update(site_name="Guestpay demo")
    data = {"password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"}
    for lang, email in (("uk", "novyi@example.com"), ("fr", "existe@example.com")):
        visitor = speaking(lang)
        form = text_of(visitor.get(members_offer.get_checkout_path()))
        sent = visitor.post(members_offer.get_checkout_path(), {**data, "email": email})
        assert sent.status_code == 303
        run_pending_on_commit()
        page = text_of(visitor.get(sent["Location"]))
        if lang == "uk":
            assert "Продовжити" in form
            assert f"Введіть код, який ми надіслали на {email}" in page
            assert "Код дійсний 15 хвилин;" in page and "Надіслати новий код" in page
            assert "Уже маєте обліковий запис?" in page
            wrong = visitor.post(sent["Location"], {"code": "000000"})
            assert wrong.status_code == 303  # shown by GET: a reload sends no code again
            assert "Це не той код, який ми надіслали." in text_of(visitor.get(wrong["Location"]))
        else:
            assert "nous vous envoyons un code par e-mail pour confirmer l'adresse" in form
            assert f"Saisissez le code que nous avons envoyé à {email}" in page
            assert "Le code est valable 15 minutes ;" in page
    code_mail, account_mail = outbox
    assert code_mail.subject == "Ваш код для створення облікового запису на Guestpay demo"
    assert "Він дійсний 15 хвилин." in code_mail.body
    assert account_mail.subject == "Vous avez déjà un compte sur Guestpay demo"
    assert (
        "Vous avez déjà un compte\u00a0: connectez-vous pour poursuivre votre achat."
        in account_mail.body
    )


@pytest.mark.django_db
def test_new_access_link_is_asked_and_sent_in_the_visitor_language(
    offer, testpay, run_on_commit, outbox
):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="nouveau@example.com")
    outbox.clear()
    visitor = speaking("fr")
    response = visitor.get(reverse("wagtail_guestpay:request_link"))
    page = text_of(response)
    assert "Obtenir un nouveau lien d'accès" in page and "M'envoyer un nouveau lien" in page
    # email-typo.js gets its words through the e-mail input's data attribute.
    attribute = re.search(r'data-guestpay-typo="([^"]*)"', response.content.decode()).group(1)
    hint = json.loads(html_lib.unescape(attribute))
    assert hint["question"] == "Vouliez-vous dire %(suggestion)s\u00a0?"
    assert hint["use"] == "Utiliser %(suggestion)s"
    visitor.post(reverse("wagtail_guestpay:request_link"), {"email": "nouveau@example.com"})
    run_pending_on_commit()
    assert [message.subject for message in outbox] == ["Votre nouveau lien d'accès"]
    assert "Le lien fonctionne une seule fois, pendant 7 jours." in outbox[0].body


@pytest.mark.django_db
def test_staff_notices_go_out_in_the_site_language(offer, testpay, run_on_commit, outbox, settings):
    settings.LANGUAGE_CODE = "fr"
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="")
    notice = next(message for message in outbox if message.to == ["staff@localhost"])
    assert notice.subject.startswith("[Paiements sans connexion] ")
    assert notice.subject.endswith("Aucun e-mail transmis par le moyen de paiement")
    assert "Statut : Payée" in notice.body.replace("\u00a0", " ")


# The sandbox's language switcher --------------------------------------------------------------
@pytest.mark.django_db
def test_sandbox_header_switches_the_language():
    visitor = Client()
    page = text_of(visitor.get(reverse("wagtail_guestpay:request_link")))
    assert '<label for="site-language">Language</label>' in page
    assert '<select name="language" id="site-language">' in page
    assert '<option value="uk" lang="uk">Українська</option>' in page
    switched = visitor.post(
        reverse("set_language"),
        {"language": "uk", "next": reverse("wagtail_guestpay:request_link")},
    )
    assert switched.status_code == 302
    page = text_of(visitor.get(switched["Location"]))
    assert '<label for="site-language">Мова</label>' in page
    assert "Отримати нове посилання для доступу" in page and "Мої покупки" not in page
    assert '<option value="uk" lang="uk" selected>' in page


# The admin ------------------------------------------------------------------------------------
def admin_speaking(lang, user=None):
    user = user or UserFactory(is_superuser=True, is_staff=True)
    profile = UserProfile.get_for_user(user)
    profile.preferred_language = lang
    profile.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lang, words",
    [
        (
            "fr",
            [
                '<td class="field-status_col',
                "Payée",
                "accès :",
                "Accordé",
                "adresse provisoire",
                "Action requise :",
            ],
        ),
        (
            "uk",
            ["Транзакції", "Оплачено", "доступ:", "Надано", "тимчасова адреса", "Потребує дій:"],
        ),
    ],
)
def test_transactions_listing_for_a_staff_user_who_prefers(
    lang, words, offer, testpay, run_on_commit
):
    for email in ("paid@example.com", ""):
        _order, payment, _charge = testpay.start(offer)
        testpay.notify(payment, "paid", email=email)
    html = text_of(admin_speaking(lang).get(reverse("guestpay_transactions_modeladmin_index")))
    assert f'lang="{lang}"' in html
    for word in words:
        assert word in html, word
    assert ">Paid<" not in html and "Needs action:" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "lang, words",
    [
        (
            "fr",
            [
                "Paiement sans connexion",
                "Lien de paiement direct",
                "Copier le lien",
                "Copié",
                "Enregistrer les paramètres de paiement",
            ],
        ),
        (
            "uk",
            [
                "Оплата без входу",
                "Пряме посилання на оплату",
                "Скопіювати посилання",
                "Скопійовано",
                "Зберегти налаштування оплати",
            ],
        ),
    ],
)
def test_gear_dialog_for_a_staff_user_who_prefers(lang, words, account):
    offer = OfferFactory(provider_account=account, guest_payment=False)
    response = admin_speaking(lang).get(
        reverse("wagtailsnippets_wagtail_guestpay_offer:gear", args=[offer.pk])
    )
    assert response.status_code == 200
    html = response.json()["html"].replace("\u00a0", " ")
    for word in words:
        assert word in html, word
    assert "Direct payment link" not in html


@pytest.mark.django_db
def test_admin_follows_each_staff_user_preference(offer, testpay, run_on_commit):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="paid@example.com")
    url = reverse("guestpay_transactions_modeladmin_inspect", args=[order_of(payment).pk])
    french = text_of(admin_speaking("fr").get(url))
    ukrainian = text_of(admin_speaking("uk").get(url))
    english = text_of(admin_speaking("en").get(url))
    assert "<dt>Payée le</dt>" in french and "Tentatives de paiement" in french
    assert "Спроби оплати" in ukrainian and "Журнал аудиту" in ukrainian
    assert "Payment attempts" in english and "Audit history" in english
    # The audit history spells out the statuses an entry records, in the reader's language.
    assert "<li>après : Payée</li>" in french and "<li>après : Payé</li>" in french
    assert "<li>стало: Оплачено</li>" in ukrainian
    assert "<li>to: Paid</li>" in english and "<li>to: paid</li>" not in english
    assert Order.objects.get().status == "paid"


def test_payments_menu_item_names_do_not_depend_on_the_language(rf, admin_user):
    """Wagtail builds its menu once per process, maybe during a French request: the items' names
    (used by CSS, scripts and construct_main_menu hooks) must not follow that language."""
    from wagtail_guestpay.admin.menu import PaymentsMenu

    request = rf.get("/admin/")
    request.user = admin_user
    with translation.override("fr"):
        submenu = PaymentsMenu().get_menu_item()
        items = {
            item.name: str(item.label) for item in submenu.menu.menu_items_for_request(request)
        }
    assert items == {
        "offers": "Offres",
        "coupons": "Coupons",
        "payment-systems": "Moyens de paiement",
        "transactions": "Transactions",
        "contacts": "Contacts",
        "payment-notifications": "Notifications de paiement",
    }

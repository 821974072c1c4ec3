"""The demo in French and Ukrainian, in Chromium: the editors' content (offers, offer pages,
result pages, merchant hours, registration labels) is in the visitor's language, not only the
package's own strings."""

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def french_page(browser):
    context = browser.new_context(locale="fr-FR")  # Accept-Language: fr-FR
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()


def test_the_demo_in_french_shows_french_offer_and_result_page_content(sandbox, french_page):
    page = french_page
    email = f"francais-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(sandbox.url + "/demo-course/")
    expect(page.get_by_role("heading", name="Cours de démonstration")).to_be_visible()
    expect(page.get_by_text("Accès à vie au cours de démonstration.")).to_be_visible()
    expect(page.get_by_text("Payez maintenant, recevez votre compte ensuite")).to_be_visible()
    expect(page.get_by_text("Du lundi au vendredi, 9 h - 18 h (CET)")).to_be_visible()
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Demo course")
    expect(main).not_to_contain_text("Lifetime access")

    page.get_by_role("link", name="Payer 49,00 EUR").click()
    expect(page.get_by_text("TestPay : un moyen de paiement de test")).to_be_visible()
    page.get_by_label("E-mail pour le reçu").fill(email)
    page.get_by_role("button", name="Payer (carte, e-mail transmis)").click()

    expect(page.get_by_role("heading", name="Paiement reçu, merci !")).to_be_visible(timeout=20_000)
    # The French result page (its title is the page's <title>: the status box holds the heading).
    expect(page).to_have_title(re.compile(r"\bMerci\b"))
    expect(page.get_by_text("Merci pour votre commande. Le cadre ci-dessus")).to_be_visible()
    expect(page.get_by_text("Cours de démonstration").first).to_be_visible()  # the order's offer
    main = page.get_by_role("main")
    expect(main).not_to_contain_text("Welcome aboard")
    expect(main).not_to_contain_text("Thank you")

    # The French e-mail names the French offer.
    message = sandbox.wait_for_mail(email)[0]
    assert "Cours de démonstration" in sandbox.text_of(message)


def test_a_declined_payment_in_french_lands_on_the_french_failure_page(sandbox, french_page):
    page = french_page
    page.goto(sandbox.url + "/")
    expect(page.get_by_role("heading", name="Cours", exact=True)).to_be_visible()
    page.get_by_role("link", name="Acheter le cours de démonstration").click()
    page.get_by_role("button", name="Carte refusée").click()
    expect(page.get_by_role("heading", name="Le paiement n'a pas abouti")).to_be_visible(
        timeout=20_000
    )
    expect(page).to_have_title(re.compile("Paiement non abouti"))  # the French failure page
    expect(page.get_by_role("main")).not_to_contain_text("Payment not completed")


def test_the_registration_form_in_ukrainian_has_ukrainian_labels(sandbox, browser):
    context = browser.new_context(locale="uk-UA")
    page = context.new_page()
    try:
        page.goto(sandbox.url + "/members-only/")
        expect(page.get_by_role("heading", name="Курс для учасників")).to_be_visible()
        page.get_by_role("link", name="19,00 EUR").click()
        expect(page.get_by_label("Повне ім'я")).to_be_visible()
        expect(page.get_by_text("Розкажіть трохи про себе.")).to_be_visible()
        expect(page.get_by_text("Пн-Пт, 9:00-18:00 (CET)")).to_be_visible()
        expect(page.get_by_role("main")).not_to_contain_text("Full name")
    finally:
        context.close()

"""Load the sandbox's demo content (idempotent): a home page, two courses, the test provider,
result pages, two offers (``demo-course`` with payment without login, ``members-only`` without),
the coupon ``WELCOME10`` (10 % off ``demo-course``: ``/guestpay/pay/demo-course/?coupon=WELCOME10``),
merchant contacts, registration fields and an admin account; then their French and Ukrainian
translations (home/demo_translations.py), made with Wagtail's localisation as an editor would.

Real payment systems join when their keys are in the environment (read when used, never copied
into the database): ``GUESTPAY_STRIPE_SECRET_KEY`` and ``GUESTPAY_STRIPE_WEBHOOK_SECRET`` add a
Stripe account (test or live mode from the key) and a third offer, ``demo-course-stripe``.
``GUESTPAY_PAYPAL_CLIENT_ID``, ``GUESTPAY_PAYPAL_CLIENT_SECRET`` and ``GUESTPAY_PAYPAL_WEBHOOK_ID``
add a PayPal account (sandbox unless ``GUESTPAY_PAYPAL_MODE=live``; webhook verification by
PayPal's API unless ``GUESTPAY_PAYPAL_VERIFICATION=offline``) and ``demo-course-paypal``; the
client and webhook ids are not secret and are stored as the account's settings.
The test provider stays the default of the other offers.
"""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Locale, Page, Site
from wagtail.rich_text import RichText

from home import demo_translations
from home.models import CoursePage, HomePage
from wagtail_guestpay.conf import guestpay_settings
from wagtail_guestpay.models import (
    Coupon,
    MerchantContacts,
    MerchantContactsTranslation,
    Offer,
    OfferPage,
    OfferProduct,
    PaymentResultPage,
    ProviderAccount,
    ReceiptSettings,
    RegistrationField,
    RegistrationSettings,
    RegistrationTranslation,
)

ADMIN_USERNAME = "admin"
# Credential name -> environment variable the Stripe account reads it from.
STRIPE_ENV = {
    "secret_key": "GUESTPAY_STRIPE_SECRET_KEY",
    "webhook_secret": "GUESTPAY_STRIPE_WEBHOOK_SECRET",
}

# PayPal: the secret is read from the environment; the ids are copied into the settings.
PAYPAL_SECRET_ENV = {"client_secret": "GUESTPAY_PAYPAL_CLIENT_SECRET"}
PAYPAL_OPTION_ENV = {
    "client_id": "GUESTPAY_PAYPAL_CLIENT_ID",
    "webhook_id": "GUESTPAY_PAYPAL_WEBHOOK_ID",
}


class Command(BaseCommand):
    help = "Create the sandbox's demo site (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            home = self._home()
            demo_course = self._child(
                home,
                CoursePage,
                "demo-course-lessons",
                title="Demo course",
                intro="Ten short lessons on paying first and logging in afterwards.",
                lessons="<h2>Lesson 1</h2><p>Welcome to the course!</p>"
                "<h2>Lesson 2</h2><p>The access e-mail.</p>",
            )
            members_course = self._child(
                home,
                CoursePage,
                "members-course-lessons",
                title="Members course",
                intro="A course sold to registered members only.",
                lessons="<p>Members-only material.</p>",
            )
            account = self._provider()
            success = self._child(
                home,
                PaymentResultPage,
                "thank-you",
                title="Thank you",
                kind="success",
                show_in_menus=False,
                body=[
                    ("order_status", None),
                    # True in every state the page shows (being confirmed,
                    # paid without an e-mail, refunded): the status box above
                    # says which, and what comes next.
                    (
                        "paragraph",
                        RichText(
                            "<p>Thank you for your order. The box above shows "
                            "where it stands and what happens next; if anything "
                            "is unclear, our contacts are below.</p>"
                        ),
                    ),
                    ("merchant_contacts", None),
                ],
            )
            failure = self._child(
                home,
                PaymentResultPage,
                "payment-not-completed",
                title="Payment not completed",
                kind="failure",
                show_in_menus=False,
                body=[("order_status", None), ("merchant_contacts", None)],
            )
            demo = self._offer(
                "demo-course",
                "Demo course",
                "49.00",
                account,
                demo_course,
                guest=True,
                success=success,
                failure=failure,
            )
            members = self._offer(
                "members-only",
                "Members course",
                "19.00",
                account,
                members_course,
                guest=False,
                success=success,
                failure=failure,
            )
            self._coupon(demo)
            free = self._free_guide(home, success, failure)
            self._child(
                home,
                OfferPage,
                "demo-course",
                title="Demo course",
                offer=demo,
                body=[
                    (
                        "paragraph",
                        RichText(
                            "<p>Pay now, get your account afterwards: no "
                            "registration form before paying.</p>"
                        ),
                    )
                ],
            )
            self._child(
                home,
                OfferPage,
                "members-only",
                title="Members course",
                offer=members,
                body=[
                    ("paragraph", RichText("<p>This offer asks you to register before paying.</p>"))
                ],
            )
            stripe_account = self._stripe_offer(home, demo_course, success, failure)
            paypal_account = self._paypal_offer(home, demo_course, success, failure)
            home.body = [
                ("heading", "Courses"),
                ("paragraph", RichText("<p>Buy the demo course without an account:</p>")),
                ("pay_button", {"offer": demo, "label": "Buy the demo course", "show_price": True}),
                ("paragraph", RichText("<p>The members course needs an account first:</p>")),
                ("pay_button", {"offer": members, "label": "", "show_price": False}),
                ("paragraph", RichText("<p>The guide is free: no payment, just your e-mail:</p>")),
                ("pay_button", {"offer": free, "label": "", "show_price": False}),
                ("merchant_contacts", None),
            ]
            home.save_revision().publish()
            self._site_settings(home)
            self._translations(home)
            password = self._admin()
        self.stdout.write(self.style.SUCCESS("Demo content ready."))
        if stripe_account is not None:
            notify_url = guestpay_settings.BASE_URL + stripe_account.notification_path()
            mode = stripe_account.get_mode_display().lower()
            self.stdout.write(
                f"Stripe ({mode} mode, keys from the environment): offer at "
                f"/demo-course-stripe/; webhook endpoint {notify_url}\n"
                f"  test mode: stripe listen --forward-to {notify_url}"
            )
        if paypal_account is not None:
            notify_url = guestpay_settings.BASE_URL + paypal_account.notification_path()
            mode = "live" if paypal_account.is_live else "sandbox"
            self.stdout.write(
                f"PayPal ({mode}, secret from the environment): offer at /demo-course-paypal/; "
                f"webhook URL {notify_url} (PayPal needs it public, https on port 443)"
            )
        self.stdout.write(f"Admin login: {ADMIN_USERNAME} / {password}")

    def _home(self):
        site = Site.objects.filter(is_default_site=True).first()
        root = Page.get_first_root_node()
        home = HomePage.objects.filter(locale=Locale.get_default()).first()
        if home is None:
            home = root.add_child(instance=HomePage(title="Guestpay Sandbox", slug="home-sandbox"))
        if site is None:
            site = Site.objects.create(
                hostname="localhost",
                port=8000,
                root_page=home,
                is_default_site=True,
                site_name="Guestpay Sandbox",
            )
        if site.root_page_id != home.pk:
            old_root = site.root_page
            site.root_page = home
            site.site_name = "Guestpay Sandbox"
            site.save()
            if old_root.specific_class is Page and not old_root.get_children().exists():
                old_root.delete()
        return home

    def _child(self, parent, model, slug, **fields):
        page = model.objects.child_of(parent).filter(slug=slug).first()
        if page is None:
            page = parent.add_child(instance=model(slug=slug, **fields))
        else:
            for name, value in fields.items():
                setattr(page, name, value)
        page.save_revision().publish()
        return page

    def _provider(self):
        account = ProviderAccount.objects.filter(kind="test").first()
        if account is None:
            account = ProviderAccount(name="TestPay (offline)", kind="test")
            account.set_secrets({"signing_secret": secrets.token_urlsafe(32)})
            account.save()
        return account

    def _stripe_offer(self, home, product, success, failure):
        """A Stripe account and offer, when the keys are in the environment."""
        if not all(os.environ.get(name) for name in STRIPE_ENV.values()):
            return None
        live = os.environ[STRIPE_ENV["secret_key"]].startswith(("sk_live_", "rk_live_"))
        account, _created = ProviderAccount.objects.update_or_create(
            kind="stripe",
            name="Stripe (keys from the environment)",
            defaults={
                "mode": ProviderAccount.Mode.LIVE if live else ProviderAccount.Mode.TEST,
                "secrets_from_env": dict(STRIPE_ENV),
            },
        )
        offer = self._offer(
            "demo-course-stripe",
            "Demo course (Stripe)",
            "49.00",
            account,
            product,
            guest=True,
            success=success,
            failure=failure,
        )
        self._child(
            home,
            OfferPage,
            "demo-course-stripe",
            title="Demo course (Stripe)",
            offer=offer,
            body=[
                ("paragraph", RichText("<p>The same course, paid on Stripe's checkout page.</p>"))
            ],
        )
        return account

    def _paypal_offer(self, home, product, success, failure):
        """A PayPal account and offer, when its credentials are in the environment."""
        names = [*PAYPAL_SECRET_ENV.values(), *PAYPAL_OPTION_ENV.values()]
        if not all(os.environ.get(name) for name in names):
            return None
        live = os.environ.get("GUESTPAY_PAYPAL_MODE", "").lower() == "live"
        options = {name: os.environ[env].strip() for name, env in PAYPAL_OPTION_ENV.items()}
        options["verification"] = (
            "offline" if os.environ.get("GUESTPAY_PAYPAL_VERIFICATION") == "offline" else "api"
        )
        account, _created = ProviderAccount.objects.update_or_create(
            kind="paypal",
            name="PayPal (secret from the environment)",
            defaults={
                "mode": ProviderAccount.Mode.LIVE if live else ProviderAccount.Mode.TEST,
                "options": options,
                "secrets_from_env": dict(PAYPAL_SECRET_ENV),
            },
        )
        offer = self._offer(
            "demo-course-paypal",
            "Demo course (PayPal)",
            "49.00",
            account,
            product,
            guest=True,
            success=success,
            failure=failure,
        )
        self._child(
            home,
            OfferPage,
            "demo-course-paypal",
            title="Demo course (PayPal)",
            offer=offer,
            body=[("paragraph", RichText("<p>The same course, paid on PayPal.</p>"))],
        )
        return account

    def _free_guide(self, home, success, failure):
        """A free offer (price 0, no payment system): the pay link asks for the e-mail and a
        code, then grants the guide (docs/how-to/free-offers.md)."""
        guide = self._child(
            home,
            CoursePage,
            "free-guide-lessons",
            title="Free guide",
            intro="A short guide to paying first and logging in afterwards.",
            lessons="<h2>Chapter 1</h2><p>Why buyers hate registration forms.</p>",
        )
        offer = self._offer(
            "free-guide",
            "Free guide",
            "0.00",
            None,
            guide,
            guest=True,
            success=success,
            failure=failure,
        )
        self._child(
            home,
            OfferPage,
            "free-guide",
            title="Free guide",
            offer=offer,
            body=[
                (
                    "paragraph",
                    RichText(
                        "<p>Free: type your e-mail address, confirm it with the code we send, "
                        "and the guide is yours.</p>"
                    ),
                )
            ],
        )
        return offer

    def _offer(self, slug, title, price, account, product, *, guest, success, failure):
        offer, _created = Offer.objects.update_or_create(
            slug=slug,
            locale=Locale.get_default(),
            defaults={
                "title": title,
                "price": price,
                "currency": "EUR",
                "provider_account": account,
                "guest_payment": guest,
                "success_page": success,
                "failure_page": failure,
                "description": f"Lifetime access to the {title.lower()}.",
            },
        )
        OfferProduct.objects.get_or_create(offer=offer, page=product)
        offer.share_with_translations()  # the product, to the translations of a previous run
        return offer

    def _coupon(self, demo):
        """WELCOME10: 10 % off the demo course (49.00 EUR -> 44.10 EUR), no limit."""
        coupon = Coupon.objects.filter(code__iexact="WELCOME10").first() or Coupon(code="WELCOME10")
        coupon.kind = Coupon.Kind.PERCENT
        coupon.percent_off = "10.00"
        coupon.is_active = True
        coupon.save()
        coupon.offers.set([demo])

    def _site_settings(self, home):
        site = Site.objects.get(is_default_site=True)
        merchant = MerchantContacts.for_site(site)
        merchant.name = "Guestpay Sandbox Academy"
        merchant.email = "help@localhost"
        merchant.phone = "+33 1 23 45 67 89"
        merchant.hours = "Mon-Fri, 9:00-18:00 CET"
        merchant.save()
        seller = ReceiptSettings.for_site(site)  # the legal details on receipts
        seller.legal_name = "Guestpay Sandbox Academy SAS"
        seller.address = "1 rue de l'Exemple\n75002 Paris, France"
        seller.tax_id = "FR00 123456789"
        seller.footer = "Demo receipt: no real money was taken."
        seller.save()
        registration = RegistrationSettings.for_site(site)
        registration.intro = "Tell us a little about you."
        registration.save()
        if not registration.fields.exists():
            RegistrationField.objects.create(
                settings=registration,
                label="Full name",
                name="full_name",
                required=True,
                sort_order=0,
            )
            RegistrationField.objects.create(
                settings=registration, label="Phone", name="phone", field_type="phone", sort_order=1
            )

    def _translations(self, home):
        """The French and Ukrainian versions of every demo page, offer and setting text."""
        pages = [home, *home.get_descendants().filter(locale=home.locale).order_by("path")]
        offers = Offer.objects.filter(locale=home.locale)
        site = Site.objects.get(is_default_site=True)
        merchant = MerchantContacts.for_site(site)
        registration = RegistrationSettings.for_site(site)
        for language in demo_translations.LANGUAGES:
            locale, _created = Locale.objects.get_or_create(language_code=language)
            for offer in offers:
                if offer.slug not in demo_translations.OFFERS[language]:
                    continue  # not the demo's (bench/inproc.py adds offers, editors too)
                title, description = demo_translations.OFFERS[language][offer.slug]
                translated = offer.get_translation_or_none(locale) or offer.copy_for_translation(
                    locale
                )
                translated.title, translated.description = title, description
                translated.save()
            for page in pages:
                key = "home" if page.pk == home.pk else page.slug
                if key in demo_translations.PAGES[language]:
                    self._translate_page(
                        page.specific, locale, demo_translations.PAGES[language][key]
                    )
            MerchantContactsTranslation.objects.update_or_create(
                contacts=merchant, locale=locale, defaults=demo_translations.MERCHANT[language]
            )
            for name, text in demo_translations.REGISTRATION[language].items():
                RegistrationTranslation.objects.update_or_create(
                    settings=registration,
                    locale=locale,
                    field_name=name,
                    defaults={"intro": text} if not name else {"label": text},
                )

    def _translate_page(self, page, locale, texts):
        translated = page.get_translation_or_none(locale)
        if translated is None:
            translated = page.copy_for_translation(locale)
        translated = translated.specific
        for name, value in texts.items():
            if name == "body":
                value = _translated_body(page.body, value)
            setattr(translated, name, value)
        translated.save_revision().publish()

    def _admin(self):
        User = get_user_model()
        password_file = settings.VAR_DIR / "admin-password.txt"
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is not None and password_file.exists():
            return password_file.read_text().strip()
        password = secrets.token_urlsafe(9)
        if user is None:
            user = User.objects.create_superuser(ADMIN_USERNAME, "admin@localhost", password)
        else:
            user.set_password(password)
            user.save()
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        return password


def _translated_body(body, texts):
    """``body``'s blocks with its texts (headings, paragraphs, button labels) replaced in order."""
    texts = iter(texts)
    blocks = []
    for block in body:
        value = block.value
        if block.block_type == "heading":
            value = next(texts)
        elif block.block_type == "paragraph":
            value = RichText(next(texts))
        elif block.block_type == "pay_button" and value["label"]:
            value = {**dict(value), "label": next(texts)}
        blocks.append((block.block_type, value))
    return blocks

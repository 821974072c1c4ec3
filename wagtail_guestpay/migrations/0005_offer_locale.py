"""Offers become translatable with Wagtail (locale, translation_key; a slug is unique per locale,
shared by an offer's translations), and merchant contacts and registration fields get values per
language. Existing offers join the default locale, each its own translation key."""

import uuid

import django.db.models.deletion
import modelcluster.fields
from django.conf import settings
from django.db import migrations, models
from django.utils.translation import get_supported_language_variant


def _default_language():
    try:
        from wagtail.coreutils import get_supported_content_language_variant

        return get_supported_content_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return get_supported_language_variant(settings.LANGUAGE_CODE)


def offers_in_default_locale(apps, schema_editor):
    Offer = apps.get_model("wagtail_guestpay", "Offer")
    Locale = apps.get_model("wagtailcore", "Locale")
    if not Offer.objects.exists():
        return
    locale, _created = Locale.objects.get_or_create(language_code=_default_language())
    for offer in Offer.objects.filter(translation_key__isnull=True).only("pk").iterator():
        Offer.objects.filter(pk=offer.pk).update(translation_key=uuid.uuid4(), locale=locale)


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_guestpay", "0004_order_bought_twice"),
        ("wagtailcore", "0094_alter_page_locale"),
    ]

    operations = [
        migrations.CreateModel(
            name="MerchantContactsTranslation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sort_order", models.IntegerField(blank=True, editable=False, null=True)),
                (
                    "name",
                    models.CharField(blank=True, max_length=255, verbose_name="merchant name"),
                ),
                ("address", models.TextField(blank=True, verbose_name="postal address")),
                (
                    "hours",
                    models.CharField(blank=True, max_length=255, verbose_name="support hours"),
                ),
                (
                    "contacts",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="translations",
                        to="wagtail_guestpay.merchantcontacts",
                    ),
                ),
                (
                    "locale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtailcore.locale",
                        verbose_name="language",
                    ),
                ),
            ],
            options={
                "verbose_name": "merchant contacts in another language",
                "ordering": ["sort_order"],
                "abstract": False,
                "constraints": [
                    models.UniqueConstraint(
                        fields=("contacts", "locale"), name="guestpay_merchant_contacts_locale_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RegistrationTranslation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sort_order", models.IntegerField(blank=True, editable=False, null=True)),
                (
                    "field_name",
                    models.CharField(
                        blank=True,
                        help_text="The name of the field translated here; empty: the introduction.",
                        max_length=64,
                        verbose_name="field",
                    ),
                ),
                ("label", models.CharField(blank=True, max_length=255, verbose_name="label")),
                (
                    "help_text",
                    models.CharField(blank=True, max_length=255, verbose_name="help text"),
                ),
                (
                    "choices",
                    models.TextField(
                        blank=True,
                        help_text="One choice per line, in the field's order.",
                        verbose_name="choices",
                    ),
                ),
                ("intro", models.TextField(blank=True, verbose_name="introduction")),
                (
                    "locale",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="wagtailcore.locale",
                        verbose_name="language",
                    ),
                ),
                (
                    "settings",
                    modelcluster.fields.ParentalKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="translations",
                        to="wagtail_guestpay.registrationsettings",
                    ),
                ),
            ],
            options={
                "verbose_name": "registration texts in another language",
                "ordering": ["sort_order"],
                "abstract": False,
                "constraints": [
                    models.UniqueConstraint(
                        fields=("settings", "locale", "field_name"),
                        name="guestpay_registration_text_once",
                    )
                ],
            },
        ),
        # Offers: nullable fields, filled, then required (Wagtail's bootstrap pattern).
        migrations.AddField(
            model_name="offer",
            name="locale",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wagtailcore.locale",
                verbose_name="locale",
            ),
        ),
        migrations.AddField(
            model_name="offer",
            name="translation_key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(offers_in_default_locale, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="offer",
            name="locale",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wagtailcore.locale",
                verbose_name="locale",
            ),
        ),
        migrations.AlterField(
            model_name="offer",
            name="translation_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="offer",
            name="slug",
            field=models.SlugField(
                help_text="Used in the direct payment link: /guestpay/pay/<slug>/",
                max_length=100,
                verbose_name="slug",
            ),
        ),
        migrations.AlterUniqueTogether(
            name="offer", unique_together={("translation_key", "locale")}
        ),
        migrations.AddConstraint(
            model_name="offer",
            constraint=models.UniqueConstraint(
                fields=("slug", "locale"), name="guestpay_offer_slug_locale"
            ),
        ),
    ]

"""Indexes of the staff listings at scale (issue 14, docs/deployment.md).

The B-tree indexes are the models' (Meta.indexes). On PostgreSQL, trigram indexes (pg_trgm) serve
the staff search's "contains" matches; they exist only there (a no-op on other databases) and
are not part of the models' state: ``TRIGRAM_INDEXES`` is what wagtail_guestpay.staff.search
relies on. Creating the extension needs the CREATE privilege on the database (pg_trgm is a
trusted extension since PostgreSQL 13); without it, migrate stops with PostgreSQL's error.
"""

from django.db import migrations, models

# name: (table, column); each indexes UPPER(column), what Django's icontains compares.
TRIGRAM_INDEXES = {
    "guestpay_order_email_trgm": ("wagtail_guestpay_order", "email"),
    "guestpay_payment_ref_trgm": ("wagtail_guestpay_payment", "provider_reference"),
    "guestpay_payment_payer_trgm": ("wagtail_guestpay_payment", "payer_name"),
    "guestpay_providerref_trgm": ("wagtail_guestpay_providerreference", "value"),
    "guestpay_contact_email_trgm": ("wagtail_guestpay_contact", "email"),
    "guestpay_contact_name_trgm": ("wagtail_guestpay_contact", "name"),
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("wagtail_guestpay", "0008_refunds")]

    operations = [
        # The single-column indexes of 0001 give way to the composite ones below.
        migrations.AlterField(
            model_name="order",
            name="attention",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Nothing"),
                    ("placeholder_email", "No e-mail from the payment system"),
                    ("amount_mismatch", "Amount or currency does not match"),
                    ("several_accounts", "Several accounts share the e-mail"),
                    ("partial_refund", "Partially refunded"),
                    ("refunded", "Refunded or charged back"),
                    ("inactive_account", "The buyer's account is deactivated"),
                    ("bought_twice", "Bought twice: the account already had it"),
                ],
                default="",
                max_length=32,
                verbose_name="needs attention",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=[
                    ("created", "Sent to the payment system"),
                    ("pending", "Being confirmed"),
                    ("paid", "Paid"),
                    ("on_hold", "Held for review"),
                    ("failed", "Failed"),
                    ("expired", "Expired"),
                    ("cancelled", "Cancelled"),
                    ("refunded", "Refunded"),
                ],
                default="created",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["created_at", "id"], name="guestpay_contact_created"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["created_at", "id"], name="guestpay_order_created"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["status", "created_at", "id"], name="guestpay_order_status"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["offer", "created_at", "id"], name="guestpay_order_offer"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("attention", ""), _negated=True),
                fields=["attention", "created_at", "id"],
                name="guestpay_order_attention",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["status", "paid_at", "id"], name="guestpay_order_paid"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("bought_twice", True)),
                fields=["created_at", "id"],
                name="guestpay_order_bought_twice",
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["order", "created_at", "id"], name="guestpay_payment_order"),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["account", "order"], name="guestpay_payment_account_order"),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                fields=["status", "created_at", "id"], name="guestpay_payment_status"
            ),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(fields=["payer_email"], name="guestpay_payment_payer_email"),
        ),
        migrations.AddIndex(
            model_name="paymentevent",
            index=models.Index(
                condition=models.Q(("outcome__in", ["unknown_payment", "failed"])),
                fields=["received_at", "id"],
                name="guestpay_event_to_review",
            ),
        ),
        migrations.AddIndex(
            model_name="providerreference",
            index=models.Index(fields=["value"], name="guestpay_provider_reference"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]

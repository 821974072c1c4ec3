"""Seeding for the staff-at-scale benchmark (bench/staff.py): orders, payments, contacts and
grants inserted in bulk with INSERT ... SELECT over a generated series."""

from datetime import timedelta

YEARS = 3


# Seeding ------------------------------------------------------------------------------------
def _series(count):
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"generate_series(1, {count}) AS s(i)"
    return (
        f"(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"
        f" SELECT i FROM n) AS s"
    )


def _at(seconds_sql, start):
    from django.db import connection

    if connection.vendor == "postgresql":
        return (
            f"(TIMESTAMPTZ '{start:%Y-%m-%d %H:%M:%S}+00' + ({seconds_sql}) * INTERVAL '1 second')"
        )
    return f"datetime('{start:%Y-%m-%d %H:%M:%S}', '+' || ({seconds_sql}) || ' seconds')"


def _padded(sql):
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"lpad(({sql})::text, 64, '0')"
    return f"printf('%%064d', {sql})"


def insert_select(model, exprs, count, where=""):
    """INSERT INTO model's table SELECT ... over i = 1..count; columns not in ``exprs`` get
    the field's default (so that fields added later need no change here)."""
    from django.db import connection

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.column in exprs:
            values.append(exprs[field.column])
        elif field.primary_key:
            continue
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        columns.append(connection.ops.quote_name(field.column))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(values)} FROM {_series(count)} {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _secondary_indexes(table):
    """(name, CREATE statement) of the table's indexes that no constraint owns."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                "(quote_ident(schemaname) || '.' || quote_ident(indexname))::regclass)",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                "tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
        return cursor.fetchall()


def without_indexes(models):
    """Drop the tables' secondary indexes; the returned function builds them again (once,
    after the bulk insert: much faster than keeping them up to date row by row)."""
    from django.db import connection

    kept = [index for model in models for index in _secondary_indexes(model._meta.db_table)]
    with connection.cursor() as cursor:
        for name, _sql in kept:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")

    def rebuild():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # the deferred foreign key checks first
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET maintenance_work_mem = '256MB'")
            for _name, sql in kept:
                cursor.execute(sql)

    return rebuild


def seed(count):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from wagtail.models import Page

    from wagtail_guestpay.models import (
        AccessGrant,
        Contact,
        Offer,
        Order,
        Payment,
        PaymentEvent,
        ProviderAccount,
        ProviderReference,
    )

    if Order.objects.filter(pk=count).exists():
        return False
    if Order.objects.exists():
        raise SystemExit("bench.staff: the database holds other orders; delete it first")
    User = get_user_model()
    offers = list(Offer.objects.values_list("pk", flat=True))
    accounts = list(ProviderAccount.objects.values_list("pk", flat=True))
    page = Page.objects.filter(depth=2).values_list("pk", flat=True).first()
    User.objects.bulk_create(
        [User(username=f"bench-buyer-{n}", email=f"bb{n}@example.com") for n in range(1000)],
        batch_size=500,
    )
    first_user = User.objects.get(username="bench-buyer-0").pk
    step = int(YEARS * 365 * 86400 / count)
    start = timezone.now() - timedelta(seconds=step * count + 3600)
    created = _at(f"i * {step}", start)
    status = (
        "CASE WHEN i %% 100 < 80 THEN 'paid' WHEN i %% 100 < 88 THEN 'failed' "
        "WHEN i %% 100 < 95 THEN 'expired' WHEN i %% 100 < 98 THEN 'cancelled' "
        "WHEN i %% 100 = 98 THEN 'refunded' ELSE 'pending' END"
    )
    paid = "i %% 100 < 80 OR i %% 100 = 98"
    email = "'buyer' || i || '@example' || (i %% 50) || '.com'"
    with transaction.atomic():
        rebuild = without_indexes(
            [Contact, Order, Payment, ProviderReference, AccessGrant, PaymentEvent]
        )
        insert_select(
            Contact,
            {
                "id": "i",
                "email": email,
                "name": "'Buyer ' || i || ' Name' || (i %% 997)",
                "source": "'guest_payment'",
                "created_at": created,
                "updated_at": created,
            },
            count,
        )
        insert_select(
            Order,
            {
                "id": "i",
                "offer_id": f"{offers[0]} + 0 * i"
                if len(offers) == 1
                else f"CASE i %% {len(offers)} "
                + " ".join(f"WHEN {n} THEN {pk}" for n, pk in enumerate(offers))
                + " END",
                "token_hash": _padded("i"),
                "email": email,
                "contact_id": "i",
                "amount": "49",
                "currency": "'EUR'",
                "status": status,
                "attention": "CASE i %% 2000 WHEN 7 THEN 'placeholder_email' "
                "WHEN 8 THEN 'amount_mismatch' WHEN 9 THEN 'several_accounts' "
                "ELSE '' END",
                "created_at": created,
                "updated_at": created,
                "paid_at": f"CASE WHEN {paid} THEN {_at(f'i * {step} + 60', start)} END",
            },
            count,
        )
        insert_select(
            Payment,
            {
                "id": "i",
                "order_id": "i",
                "account_id": f"CASE i %% {len(accounts)} "
                + " ".join(f"WHEN {n} THEN {pk}" for n, pk in enumerate(accounts))
                + " END",
                "reference": "'GPB' || i",
                "provider_reference": "'ch_' || i",
                "amount": "49",
                "currency": "'EUR'",
                "status": status,
                "payer_email": email,
                "payer_name": "'Buyer ' || i",
                "created_at": created,
                "updated_at": created,
                "processed_at": _at(f"i * {step} + 60", start),
            },
            count,
        )
        insert_select(
            ProviderReference,
            {"account_id": str(accounts[0]), "payment_id": "i", "value": "'pi_' || i"},
            count,
            where="WHERE i %% 10 = 0",
        )
        insert_select(
            AccessGrant,
            {
                "user_id": f"{first_user} + i %% 1000",
                "product_id": str(page),
                "order_id": "i",
                "source": "'order'",
                "granted_at": created,
            },
            count,
            where=f"WHERE ({paid}) AND i %% 5000 <> 11",
        )
        insert_select(
            PaymentEvent,
            {
                "account_id": str(accounts[0]),
                "provider_event_id": "'evt_' || i",
                "source": "'notification'",
                "payment_id": "i",
                "received_at": created,
                "processed_at": created,
                "outcome": "CASE WHEN i %% 5000 = 3 THEN 'unknown_payment' ELSE 'applied' END",
            },
            count,
            where="WHERE i %% 100 = 0",
        )
        rebuild()
    if connection.vendor == "postgresql":
        for model in (Contact, Order, Payment, ProviderReference, AccessGrant, PaymentEvent):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', "
                    f"'id'), (SELECT max(id) FROM {model._meta.db_table}))"
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return True

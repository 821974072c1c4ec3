"""Staff at scale (issue 14): the listings' queries use the indexes of migration 0008, counts
never run the annotated query, search answers through indexes (exact matches first), and an
export too large for a request goes to a task whose link needs the permission and expires.

Query plans: SQLite's EXPLAIN QUERY PLAN in the SQLite run; PostgreSQL's EXPLAIN in the
PostgreSQL pass (``python -m tests.servers -- pytest``), with sequential scans disabled so that
the planner shows which index serves the query on a test-sized table.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import OfferFactory
from wagtail_guestpay.admin import exports
from wagtail_guestpay.admin.attention import attention_sections
from wagtail_guestpay.models import Contact, Order, PaymentEvent, ProviderReference

pytestmark = pytest.mark.django_db

INDEX = "/admin/guestpay/transactions/"
CONTACTS = "/admin/guestpay/contacts/"
POSTGRES = connection.vendor == "postgresql"


def numbers(response):
    return set(re.findall(r">\s*(GP-\d{6})\s*<", response.content.decode()))


def plan(sql):
    with connection.cursor() as cursor:
        if POSTGRES:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(str(row) for row in cursor.fetchall())


def fresh_statistics():
    """On PostgreSQL, the planner's statistics of this test's rows, not of an earlier test's
    (ANALYZE's row counts in pg_class outlive the rolled-back test transaction). On SQLite,
    without statistics the planner prefers indexes, as it does on large tables."""
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def queries_of(client, path, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {})
    assert response.status_code in (200, 302), response.status_code
    return [query["sql"] for query in captured.captured_queries]


def listing_query(sqls):
    """The query that reads the page's rows of orders (ordered, limited)."""
    return next(
        sql
        for sql in sqls
        if sql.startswith('SELECT "wagtail_guestpay_order"."id"')
        and "ORDER BY" in sql
        and "LIMIT" in sql
    )


# Query plans --------------------------------------------------------------------------------
@pytest.fixture
def many_orders(offer):
    """``many_orders()``: 2,000 plain orders (most orders need nothing), then fresh planner
    statistics, so that the planner weighs a small set (needs attention) as it would at scale."""

    def make():
        now = timezone.now()
        Order.objects.bulk_create(
            [
                Order(
                    offer=offer,
                    token_hash=f"{n:064d}",
                    email=f"many{n}@example.com",
                    amount=offer.price,
                    currency=offer.currency,
                    status=Order.Status.FAILED,
                    created_at=now - timedelta(minutes=n),
                )
                for n in range(2000)
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    return make


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "guestpay_order_created"),
        ({"status__exact": "paid"}, "guestpay_order_status"),
        ({"attention": "any"}, "guestpay_order_attention"),
        ({"attention": "placeholder_email"}, "guestpay_order_attention"),
        ({"date_from": "2020-01-01"}, "guestpay_order_created"),
    ],
)
def test_the_listing_and_its_filters_read_an_index_in_the_listing_order(
    pay, viewer, login, many_orders, params, index
):
    pay("buyer@example.com")
    pay("")
    many_orders()
    sql = listing_query(queries_of(login(viewer), INDEX, params))
    assert index in plan(sql)


def test_the_offer_filter_reads_its_composite_index(pay, viewer, login, offer):
    pay("buyer@example.com")
    OfferFactory()  # the offer filter shows with two offers
    sql = listing_query(queries_of(login(viewer), INDEX, {"offer__id__exact": offer.pk}))
    assert "guestpay_order_offer" in plan(sql)


def test_the_payment_system_filter_probes_payments_by_system_and_order(pay, viewer, login, offer):
    pay("buyer@example.com")
    sql = listing_query(queries_of(login(viewer), INDEX, {"provider": offer.provider_account_id}))
    assert "guestpay_payment_account_order" in plan(sql)


def test_the_panel_reads_small_indexed_sets(pay, viewer, many_orders):
    pay("")  # needs attention
    pay("buyer@example.com")
    if POSTGRES:
        # Small sets among many orders, as at scale: with two rows and fresh statistics, the
        # planner once joined through the offer's primary key instead (CI). SQLite plans without
        # statistics, which is how it prefers indexes on large tables.
        many_orders()
    with CaptureQueriesContext(connection) as captured:
        attention_sections(viewer)
    plans = "\n".join(
        plan(query["sql"])
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT")
    )
    for index in (
        "guestpay_order_attention",
        "guestpay_order_paid",
        "guestpay_payment_status",
        "guestpay_event_to_review",
    ):
        assert index in plans, index


@pytest.mark.parametrize(
    ("term", "index"),
    [
        ("buyer@example.com", "guestpay_payment_payer_email"),
        ("pi_XYZ987", "guestpay_provider_reference"),
    ],
)
def test_exact_search_reads_indexes(pay, viewer, login, term, index):
    order = pay("buyer@example.com")
    payment = order.payments.get()
    ProviderReference.objects.bulk_create(
        [  # a payment system's ids of many payments
            ProviderReference(account=payment.account, payment=payment, value=f"pi_other{n}")
            for n in range(2000)
        ]
        + [ProviderReference(account=payment.account, payment=payment, value="pi_XYZ987")]
    )
    fresh_statistics()
    sqls = queries_of(login(viewer), INDEX, {"q": term})
    plans = [plan(sql) for sql in sqls if sql.startswith("SELECT") and "wagtail_guestpay_" in sql]
    assert any(index in text for text in plans), "\n\n".join(plans)


@pytest.mark.skipif(not POSTGRES, reason="trigram indexes exist on PostgreSQL only")
def test_partial_text_search_reads_the_trigram_indexes(pay, viewer, login):
    pay("someone@example.com")
    sqls = queries_of(login(viewer), INDEX, {"q": "eone@exa"})
    plans = "\n".join(plan(sql) for sql in sqls if "LIKE" in sql)
    assert "guestpay_order_email_trgm" in plans
    sqls = queries_of(login(viewer), CONTACTS, {"q": "eone@exa"})
    assert "guestpay_contact_email_trgm" in "\n".join(plan(sql) for sql in sqls if "LIKE" in sql)


# Counting -----------------------------------------------------------------------------------
def test_the_page_count_runs_no_annotated_query(pay, viewer, login):
    orders = {pay(f"b{n}@example.com").number for n in range(3)}
    client = login(viewer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(INDEX)
    assert numbers(response) == orders
    counts = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT COUNT(") and "wagtail_guestpay_order" in q["sql"]
    ]
    assert len(counts) == 1  # modeladmin counts three times
    assert "wagtail_guestpay_payment" not in counts[0]
    assert "wagtail_guestpay_accessgrant" not in counts[0]
    annotated = [
        q["sql"]
        for q in captured.captured_queries
        if "wagtail_guestpay_accessgrant" in q["sql"]
        and q["sql"].startswith('SELECT "wagtail_guestpay_order"')
    ]
    assert len(annotated) == 1 and " IN (" in annotated[0]  # the page's rows only


@override_settings(WAGTAIL_GUESTPAY_ADMIN_COUNT_LIMIT=2)
def test_counts_stop_at_the_limit(pay, viewer, login):
    for n in range(3):
        pay(f"b{n}@example.com")
    page = login(viewer).get(INDEX).content.decode()
    assert "more than 2" in page


def test_sorting_by_a_counted_column_still_works(pay, viewer, login):
    pay("a@example.com")
    response = login(viewer).get(CONTACTS, {"o": "3"})  # orders_col
    assert response.status_code == 200 and "a@example.com" in response.content.decode()


# Search -------------------------------------------------------------------------------------
def test_exact_matches_come_first(pay, viewer, login):
    alice = pay("alice@example.com")
    pay("malice@example.com")  # contains the address too
    client = login(viewer)
    assert numbers(client.get(INDEX, {"q": "alice@example.com"})) == {alice.number}
    assert numbers(client.get(INDEX, {"q": "ALICE@example.com"})) == {alice.number}
    assert numbers(client.get(INDEX, {"q": alice.payments.get().reference})) == {alice.number}


@pytest.mark.skipif(POSTGRES, reason="the SQLite way: prefix, recent rows")
def test_partial_text_on_sqlite_is_a_prefix_or_recent_rows_with_a_note(pay, viewer, login):
    old = pay("oldbuyer@example.com")
    recent = pay("newbuyer@example.com")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    Contact.objects.filter(pk=old.contact_id).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    client = login(viewer)
    response = client.get(INDEX, {"q": "buyer@"})
    assert numbers(response) == {recent.number}  # the old one is beyond ADMIN_SEARCH_RECENT
    assert "last 30 days" in response.content.decode()
    assert numbers(client.get(INDEX, {"q": "oldbuy"})) == {old.number}  # a prefix: any age
    page = client.get(CONTACTS, {"q": "buyer@"}).content.decode()
    assert "newbuyer@example.com" in page and "oldbuyer@example.com" not in page


# Exports ------------------------------------------------------------------------------------
def rows_of(content):
    return list(csv.reader(io.StringIO(content)))[1:]


def test_an_export_under_the_threshold_streams(pay, viewer, login):
    pay("a@example.com")
    response = login(viewer).get(INDEX, {"export": "csv"})
    assert response.streaming
    assert len(rows_of(b"".join(response.streaming_content).decode())) == 1


@pytest.fixture
def queued(monkeypatch):
    """The tasks the export view queues (run as usual: tasks are synchronous in tests)."""
    calls = []
    real = exports.enqueue

    def spy(func, *args):
        calls.append(func)
        return real(func, *args)

    monkeypatch.setattr(exports, "enqueue", spy)
    return calls


@pytest.mark.parametrize("spreadsheet_format", ["csv", "xlsx"])
def test_a_large_export_goes_to_a_task_and_its_link_needs_the_permission(
    pay, viewer, editor, login, queued, tmp_path, settings, spreadsheet_format
):
    settings.MEDIA_ROOT = tmp_path
    settings.WAGTAIL_GUESTPAY_ADMIN_EXPORT_THRESHOLD = 1
    paid = [pay(f"b{n}@example.com") for n in range(2)]
    pay("b9@example.com", status="failed")
    client = login(viewer)
    response = client.get(INDEX, {"export": spreadsheet_format, "status__exact": "paid"})
    assert response.status_code == 302
    assert response["Location"] == f"{INDEX}?status__exact=paid"
    assert queued == ["wagtail_guestpay.tasks.export_listing"]
    assert "in the background" in client.get(response["Location"]).content.decode()
    message = next(m for m in mail.outbox if m.to == [viewer.email])
    link = re.search(r"https?://\S+", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    download = client.get("/" + path)
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    if spreadsheet_format == "csv":
        assert {row[0] for row in rows_of(content.decode())} == {o.number for o in paid}
    else:
        assert content.startswith(b"PK")  # a zip: the xlsx
    refused = login(editor).get("/" + path)
    # Wagtail's admin answers PermissionDenied with a redirect to the dashboard ("no permission").
    assert refused.status_code == 302 and refused.url == "/admin/"
    forged = re.sub(r":[^:/]+/$", ":forged/", "/" + path)
    assert client.get(forged).status_code == 404


def test_an_export_link_expires(pay, viewer, login, tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    settings.WAGTAIL_GUESTPAY_ADMIN_EXPORT_THRESHOLD = 0
    settings.WAGTAIL_GUESTPAY_ADMIN_EXPORT_MAX_AGE = timedelta(days=1)
    pay("a@example.com")
    client = login(viewer)
    client.get(INDEX, {"export": "csv"})
    path = "/" + re.search(r"https?://\S+", mail.outbox[-1].body).group(0).split("/", 3)[3]
    assert client.get(path).status_code == 200
    later = timezone.now().timestamp() + 2 * 86400
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    assert client.get(path).status_code == 410


def test_queued_outcomes_match_the_partial_index():
    index = next(i for i in PaymentEvent._meta.indexes if i.name == "guestpay_event_to_review")
    from wagtail_guestpay.admin.attention import QUEUED_OUTCOMES

    assert list(index.condition.children[0][1]) == list(QUEUED_OUTCOMES)

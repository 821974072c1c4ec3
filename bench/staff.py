"""Staff at scale (issue 14): the staff listings, search, dashboard and exports with a million
orders, on the stack's database: ``python -m bench.staff <orders>``; prints JSON.

The orders are seeded in bulk with INSERT ... SELECT over a generated series (not through the
payment pipeline): one contact, one payment each, an access grant for paid orders (but 1 in
5,000), a provider id for 1 in 10, a few orders that need attention, over three years. A
seeded SQLite file is kept between runs (bench/work/, not committed); PostgreSQL is seeded
each run. Requests go through Django's full handler (django.test.Client) as a superuser;
each is timed ``REPEAT`` times after a warm-up, and the median is reported.
"""

import json
import os
import statistics
import sys
import time

from bench.inproc import setup
from bench.staff_seed import seed

REPEAT = int(os.environ.get("BENCH_STAFF_REPEAT", "7"))


# Measuring ----------------------------------------------------------------------------------
def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def median_ms(call):
    call()  # warm-up
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(count):
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from wagtail_guestpay.admin.attention import attention_sections
    from wagtail_guestpay.models import Offer, ProviderAccount

    User = get_user_model()
    staff, _created = User.objects.get_or_create(
        username="bench-staff",
        defaults={"is_staff": True, "is_superuser": True, "email": "staff@example.com"},
    )
    client = Client()
    client.force_login(staff)
    transactions = reverse("guestpay_transactions_modeladmin_index")
    contacts = reverse("guestpay_contacts_modeladmin_index")
    middle = count // 2
    recent = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 8 * 86400))

    def get(path, params=None, status=200):
        def call():
            response = client.get(path, params or {})
            assert response.status_code == status, (path, params, response.status_code)
            if response.streaming:
                for _chunk in response.streaming_content:
                    pass

        return call

    pages = {
        "Transactions, first page": get(transactions),
        "Filter status = paid": get(transactions, {"status__exact": "paid"}),
        "Filter needs action (any)": get(transactions, {"attention": "any"}),
        "Filter payment system": get(
            transactions,
            {"provider": ProviderAccount.objects.order_by("pk").values_list("pk", flat=True)[0]},
        ),
        "Filter offer": get(
            transactions,
            {"offer__id__exact": Offer.objects.order_by("pk").values_list("pk", flat=True)[0]},
        ),
        "Filter dates (one month)": get(
            transactions, {"date_from": "2025-01-01", "date_to": "2025-01-31"}
        ),
        "Filter access = granted": get(transactions, {"access": "granted"}),
        "Filter access = none": get(transactions, {"access": "none"}),
        "Search an order number": get(transactions, {"q": f"GP-{middle:06d}"}),
        "Search an e-mail": get(transactions, {"q": f"buyer{middle}@example{middle % 50}.com"}),
        "Search a provider reference": get(transactions, {"q": f"ch_{middle}"}),
        "Search a provider id (lookup table)": get(
            transactions, {"q": f"pi_{middle - middle % 10}"}
        ),
        "Search part of a name": get(transactions, {"q": f"Name{middle % 997} "}),
        "Contacts, first page": get(contacts),
        "Contacts: search an e-mail": get(
            contacts, {"q": f"buyer{middle}@example{middle % 50}.com"}
        ),
        "Contacts: search part of a name": get(contacts, {"q": f"Buyer {middle}"}),
        "Admin home (with the needs-attention panel)": get("/admin/"),
    }
    rows = [{"action": name, "p50_ms": median_ms(call)} for name, call in pages.items()]
    rows.append(
        {"action": "Dashboard panel alone", "p50_ms": median_ms(lambda: attention_sections(staff))}
    )
    exports = {
        "CSV export of the whole list (hands it to a task)": ({"export": "csv"}, 302),
        "CSV export of 8 days (streamed)": ({"export": "csv", "date_from": recent}, 200),
    }
    for name, (params, status) in exports.items():
        reset_peak()
        before = rss_mb()
        started = time.perf_counter()
        response = client.get(transactions, params)
        answered = time.perf_counter() - started
        assert response.status_code == status, (name, response.status_code)
        lines = 0
        if response.streaming:
            for _chunk in response.streaming_content:
                lines += 1
        rows.append(
            {
                "action": name,
                "p50_ms": answered * 1000,
                "single_run": True,
                "complete_s": time.perf_counter() - started,
                "lines": lines,
                "memory_growth_mb": rss_mb() - before,
            }
        )
    return rows


def main(count):
    from django.db import connection

    started = time.perf_counter()
    seeded = seed(count)
    seed_seconds = time.perf_counter() - started
    return {
        "vendor": connection.vendor,
        "orders": count,
        "seeded_now": seeded,
        "seed_s": seed_seconds,
        "repeat": REPEAT,
        "rows": measure(count),
    }


if __name__ == "__main__":
    setup()
    print("BENCH-JSON " + json.dumps(main(int(sys.argv[1]))), flush=True)
    sys.stdout.flush()

"""In-process measurements, run in a subprocess with a stack's environment (its SQLite file or
PostgreSQL database): ``python -m bench.inproc pay|offer_page|profile``; prints JSON.

Requests go through Django's full handler and middleware (django.test.Client), without a
socket: "server time" is the time Django spends on the request.
"""

import json
import os
import statistics
import sys
import time


def setup():
    sys.path[:0] = [os.getcwd(), os.path.join(os.getcwd(), "sandbox")]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def timed(call, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times):
    ordered = sorted(times)
    return {
        "p50_ms": statistics.median(ordered),
        "p90_ms": ordered[int(0.9 * len(ordered)) - 1],
        "n": len(ordered),
    }


def queries_of(call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return [query["sql"] for query in captured.captured_queries]


# Clicks that each create an order: a browser without the cookie that resumes its open order, and
# a budget of new orders per client large enough for the measurement.
UNLIMITED_PAY = {"WAGTAIL_GUESTPAY_PAY_RATE_LIMITS": {"client_offer": (10**9, 600)}}


def measure_pay(repeat=300):
    from django.test import Client, override_settings

    client = Client()
    path = "/guestpay/pay/demo-course/"

    def click():
        client.cookies.clear()
        response = client.get(path)
        assert response.status_code == 303, response.status_code

    with override_settings(**UNLIMITED_PAY):
        timed(click, 20)  # warm-up
        times = timed(click, repeat)
        sql = queries_of(click)
    return {**summary(times), "queries": len(data_queries(sql)), "statements": len(sql), "sql": sql}


def _pages(count):
    """An offer page with ``count`` pay blocks (``count`` different offers), and the same page
    with ``count`` paragraph blocks."""
    from django.utils.text import slugify
    from wagtail.models import Locale, Page, Site
    from wagtail.rich_text import RichText

    from wagtail_guestpay.models import Offer, OfferPage

    home = Site.objects.get(is_default_site=True).root_page
    # The demo's offers come in English, French and Ukrainian: one slug, three translations.
    base = Offer.objects.get(slug="demo-course", locale=Locale.get_default())
    offers = []
    for index in range(count):
        offer, _created = Offer.objects.get_or_create(
            slug=f"bench-offer-{index}",
            defaults={
                "title": f"Bench offer {index}",
                "price": base.price,
                "currency": base.currency,
                "provider_account": base.provider_account,
                "guest_payment": True,
                "payment_method": base.payment_method,
            },
        )
        offers.append(offer)
    made = {}
    for kind in ("pay", "text"):
        slug = slugify(f"bench-{kind}-{count}")
        page = Page.objects.filter(slug=slug).first()
        if page is None:
            if kind == "pay":
                body = [
                    ("pay_button", {"offer": offer, "label": "", "show_price": True})
                    for offer in offers
                ]
            else:
                body = [
                    (
                        "paragraph",
                        RichText(
                            f"<p>Paragraph {i} of the plain page, about as "
                            f"long as a pay button's markup.</p>"
                        ),
                    )
                    for i in range(count)
                ]
            page = home.add_child(
                instance=OfferPage(title=f"Bench {kind} {count}", slug=slug, offer=base, body=body)
            )
        made[kind] = page.url
    return made


def measure_offer_page(counts=(1, 10, 50), repeat=100):
    """Pay page and text page rendered alternately (so that noise on the shared machine hits
    both alike); p50 of each."""
    from django.test import Client

    client = Client()
    rows = []
    for count in counts:
        urls = _pages(count)
        calls = {}
        for kind, url in urls.items():

            def get(url=url, kind=kind, count=count):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                # the page's own Pay button, plus one per pay block
                buttons = response.content.count(b'class="guestpay-button"')
                assert buttons == 1 + (count if kind == "pay" else 0), (kind, count, buttons)

            calls[kind] = get
        times = {kind: [] for kind in calls}
        for _ in range(10):
            for call in calls.values():
                call()
        for _ in range(repeat):
            for kind, call in calls.items():
                times[kind] += timed(call, 1)
        row = {"blocks": count}
        for kind, call in calls.items():
            row[kind] = {**summary(times[kind]), "queries": len(data_queries(queries_of(call)))}
        rows.append(row)
    return rows


def data_queries(sql):
    """Statements that read or write data (not BEGIN/COMMIT/SAVEPOINT)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [query for query in sql if not query.lstrip().upper().startswith(control)]


def profile(orders=150):
    """The confirmation path of ``orders`` paid orders, in one process: the callback (verify,
    store), the task (process the event) and the e-mail task, under pyinstrument."""
    from django.test import Client, override_settings
    from pyinstrument import Profiler

    from bench.__main__ import notification_for
    from wagtail_guestpay.emails import deliver
    from wagtail_guestpay.fulfilment.confirmation import process_event
    from wagtail_guestpay.models import OutboundEmail, Payment, PaymentEvent, ProviderAccount

    client = Client()
    account = ProviderAccount.objects.get(kind="test")
    secret = account.get_secret("signing_secret")
    payments = []
    for _ in range(orders):
        client.cookies.clear()  # a new order each time (see UNLIMITED_PAY)
        with override_settings(**UNLIMITED_PAY):
            assert client.get("/guestpay/pay/demo-course/").status_code == 303
        payments.append(Payment.objects.order_by("-pk").first())
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for index, payment in enumerate(payments):
        body, headers = notification_for(
            {
                "reference": payment.reference,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "provider_reference": payment.provider_reference,
            },
            f"profile{index}@example.com",
            secret,
        )
        response = client.post(
            account.notification_path(),
            data=body,
            content_type="application/json",
            HTTP_X_TESTPAY_SIGNATURE=headers["X-Testpay-Signature"],
        )
        assert response.status_code == 200
        event = (
            PaymentEvent.objects.filter(
                payment__isnull=True, signature_valid=True, processed_at__isnull=True
            )
            .order_by("-pk")
            .first()
        )
        process_event(event.pk)
        for outbound in OutboundEmail.objects.filter(order_id=payment.order_id, sent_at=None):
            deliver(outbound.pk)
    profiler.stop()
    return {
        "orders": orders,
        "text": profiler.output_text(unicode=True, color=False, show_all=False),
    }


def profile_notify(count=400):
    """The callback request alone (verify, store, queue), in-process on the stack's database,
    under pyinstrument; and its mean time without the profiler."""
    from django.test import Client
    from pyinstrument import Profiler

    from bench.__main__ import notification_for
    from wagtail_guestpay.models import ProviderAccount

    client = Client()
    account = ProviderAccount.objects.get(kind="test")
    secret = account.get_secret("signing_secret")
    path = account.notification_path()

    def post(index):
        payment = {
            "reference": f"GPPROF{index:08d}",
            "amount": "49.00",
            "currency": "EUR",
            "provider_reference": f"ch_prof{index}",
        }
        body, headers = notification_for(
            payment, f"p{index}@example.com", secret, event_id=f"evt_prof_{index}"
        )
        response = client.post(
            path,
            data=body,
            content_type="application/json",
            HTTP_X_TESTPAY_SIGNATURE=headers["X-Testpay-Signature"],
        )
        assert response.status_code == 200, response.status_code

    for index in range(20):
        post(index)
    started = time.perf_counter()
    for index in range(20, 20 + count):
        post(index)
    mean = (time.perf_counter() - started) / count * 1000
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for index in range(100000, 100000 + count):
        post(index)
    profiler.stop()
    return {
        "requests": count,
        "mean_ms": mean,
        "text": profiler.output_text(unicode=True, color=False, show_all=False),
    }


if __name__ == "__main__":
    setup()
    what = sys.argv[1]
    result = {
        "pay": measure_pay,
        "offer_page": measure_offer_page,
        "profile": profile,
        "profile_notify": profile_notify,
    }[what]()
    print("BENCH-JSON " + json.dumps(result))

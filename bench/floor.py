"""The floor: the least a Django view on this stack can do with a signed notification. It
verifies the same HMAC (the test provider's scheme, on the raw body, constant-time) and inserts
one row in one short transaction. Nothing else."""

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from wagtail_guestpay.testprovider import signing

TABLE_SQL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "body TEXT NOT NULL, received_at TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS bench_floor (id BIGSERIAL PRIMARY KEY, "
    "body TEXT NOT NULL, received_at TIMESTAMPTZ NOT NULL)",
}


@csrf_exempt
def floor(request):
    body = request.body
    try:
        signing.verify(settings.BENCH_FLOOR_SECRET, request.headers.get(signing.HEADER), body)
    except signing.SignatureError:
        return HttpResponse("Rejected", status=400)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_floor (body, received_at) VALUES (%s, %s)",
                [body.decode(), timezone.now()],
            )
    return HttpResponse("OK", content_type="text/plain")

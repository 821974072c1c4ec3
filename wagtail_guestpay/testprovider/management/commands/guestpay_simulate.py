"""Simulate the test provider's notification for an order, without a browser.

    manage.py guestpay_simulate --offer demo-course --outcome paid --email buyer@example.com
    manage.py guestpay_simulate GP-000012 --outcome paid --email buyer@example.com
    manage.py guestpay_simulate GP-000012 --outcome no-email --in-process

``--offer`` first clicks the offer's Pay link (through Django's request handler, as a visitor
without an account would) and prints the new order and its result page; an order number
notifies an order that exists already.

By default the notification is POSTed over HTTP to the callback URL the payment was created with
(the running site); ``--in-process`` sends it through Django's request handler instead, for use
without a server.
"""

from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client

from wagtail_guestpay.conf import guestpay_settings
from wagtail_guestpay.models import Offer, Payment

from ...delivery import deliver, notify, post_in_process
from ...models import TestCharge

OUTCOMES = {
    "paid": TestCharge.Status.PAID,
    "no-email": TestCharge.Status.PAID,
    "pending": TestCharge.Status.PENDING,
    "declined": TestCharge.Status.DECLINED,
    "refunded": TestCharge.Status.REFUNDED,
}


class Command(BaseCommand):
    help = "Send the test provider's signed notification for an order (outcome and e-mail)."

    def add_arguments(self, parser):
        parser.add_argument(
            "order",
            nargs="?",
            default="",
            help="Order number (GP-000012), order id or payment reference",
        )
        parser.add_argument(
            "--offer",
            default="",
            help="Click this offer's Pay link first (its slug) and notify the new order",
        )
        parser.add_argument("--outcome", choices=sorted(OUTCOMES), default="paid")
        parser.add_argument("--email", default="", help="The e-mail the provider returns")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="Deliver through Django's handler instead of HTTP",
        )

    def handle(self, *args, order, offer, outcome, email, name, in_process, **options):
        if bool(order) == bool(offer):
            raise CommandError("Name an order, or an offer with --offer (not both).")
        if outcome in ("paid", "pending") and not email:
            raise CommandError("--email is needed for this outcome (or use --outcome no-email).")
        payment = self._click_pay(offer) if offer else self._payment(order)
        with transaction.atomic():
            charge = (
                TestCharge.objects.select_for_update().filter(reference=payment.reference).first()
            )
            if charge is None:
                raise CommandError(f"The test provider has no charge for {payment.reference}.")
            charge.status = OUTCOMES[outcome]
            if outcome == "no-email":
                charge.email = ""
            elif email:
                charge.email = email
            charge.payer_name = name or charge.payer_name
            charge.save()
            delivery = notify(charge)
        delivered = deliver(delivery.pk, send=post_in_process if in_process else None)
        delivery.refresh_from_db()
        outcome = "delivered" if delivered else f"not delivered yet ({delivery.last_status})"
        self.stdout.write(f"{payment.reference}: {charge.status} -> {charge.notify_url}: {outcome}")

    def _click_pay(self, slug):
        """One click on the offer's Pay link, as an anonymous visitor: the new order's payment."""
        offer = Offer.objects.filter(slug=slug).first()
        if offer is None or offer.provider_account.kind != "test":
            raise CommandError(f"No offer {slug!r} paid with the test provider.")
        base = urlsplit(guestpay_settings.BASE_URL or "http://localhost")
        before = Payment.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = Client(HTTP_HOST=base.netloc).get(
            offer.get_pay_path(), secure=base.scheme == "https"
        )
        payment = (
            Payment.objects.filter(pk__gt=before, order__offer=offer)
            .select_related("order")
            .order_by("-pk")
            .first()
        )
        if response.status_code != 303 or payment is None:
            raise CommandError(
                f"The Pay link of {slug!r} answered {response.status_code}: it "
                "takes payment without login only when the offer's gear says so."
            )
        charge = TestCharge.objects.get(reference=payment.reference)
        self.stdout.write(f"Order {payment.order.number}: result page {charge.return_url}")
        return payment

    def _payment(self, value):
        payments = Payment.objects.filter(account__kind="test").order_by("-created_at")
        candidates = payments.filter(reference=value)
        number = value.rsplit("-", 1)[-1]
        if not candidates.exists() and number.isdigit():
            candidates = payments.filter(order_id=int(number))
        payment = candidates.first()
        if payment is None:
            raise CommandError(f"No test-provider payment for {value!r}.")
        return payment

"""Simulate the test provider's notification for an order, without a browser.

    manage.py guestpay_simulate GP-000012 --outcome paid --email buyer@example.com
    manage.py guestpay_simulate GP-000012 --outcome no-email --in-process

By default the notification is POSTed over HTTP to the callback URL the payment was created with
(the running site); ``--in-process`` sends it through Django's request handler instead, for use
without a server.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from wagtail_guestpay.models import Payment

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
        parser.add_argument("order", help="Order number (GP-000012), order id or payment reference")
        parser.add_argument("--outcome", choices=sorted(OUTCOMES), default="paid")
        parser.add_argument("--email", default="", help="The e-mail the provider returns")
        parser.add_argument("--name", default="")
        parser.add_argument("--in-process", action="store_true",
                            help="Deliver through Django's handler instead of HTTP")

    def handle(self, *args, order, outcome, email, name, in_process, **options):
        payment = self._payment(order)
        if outcome in ("paid", "pending") and not email:
            raise CommandError("--email is needed for this outcome (or use --outcome no-email).")
        with transaction.atomic():
            charge = TestCharge.objects.select_for_update().filter(
                reference=payment.reference
            ).first()
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


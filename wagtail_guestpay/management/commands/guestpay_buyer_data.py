"""``manage.py guestpay_buyer_data export <email>`` and ``... erase <email> --reason "..."``:
a buyer's data, exported as one JSON document or erased (docs/how-to/buyer-data.md)."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from ...privacy.erasure import erase_buyer_data, log_export
from ...privacy.export import export_buyer_data
from ...privacy.records import clean_address, find


class Command(BaseCommand):
    help = (
        "Export (as JSON, on standard output) or erase what wagtail_guestpay holds about an "
        "e-mail address."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="Print the address's data as JSON.")
        export.add_argument("email")
        erase = actions.add_parser(
            "erase", help="Anonymise the address's data (amounts, dates, references stay)."
        )
        erase.add_argument("email")
        erase.add_argument("--reason", required=True, help="Why (kept in the audit log).")

    def handle(self, *args, action, email, **options):
        if not clean_address(email):
            raise CommandError(f"Not an e-mail address: {email!r}")
        if action == "export":
            document = export_buyer_data(email)
            log_export(find(email), via="command")
            self.stdout.write(
                json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
            )
            return
        try:
            erasure = erase_buyer_data(email, reason=options["reason"], via="command")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if not erasure.found:
            self.stdout.write("Nothing held about this address: nothing changed.")
        else:
            changed = ", ".join(f"{name}: {n}" for name, n in erasure.counts.items() if n)
            self.stdout.write(f"Erased ({changed}).")
        if erasure.kept_accounts:
            self.stdout.write(
                self.style.WARNING(
                    "Accounts the site created hold this address and were left as they are "
                    f"(ids {', '.join(map(str, erasure.kept_accounts))}): erase them with "
                    "the site's own tools."
                )
            )
        self.stdout.write(f"Audit log: address hash {erasure.address_hash}.")

"""The test provider's side of a buyer-data erasure. A real payment system keeps its own copy of
the buyer's data, which the merchant asks it to erase separately (docs/how-to/buyer-data.md);
the offline test provider, whose records live in the site's database, erases them when the
package sends ``buyer_data_erased``."""

import json
import re

from django.db.models import Q

from .models import TestCharge, TestDelivery


def erase_test_charges(sender, *, email, replacement, payment_references, **kwargs):
    charges = TestCharge.objects.filter(
        Q(email__iexact=email) | Q(reference__in=payment_references)
    )
    for charge in charges:
        words = {email, json.dumps(email)[1:-1], charge.email, charge.payer_name} - {""}
        pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
        for delivery in TestDelivery.objects.filter(charge=charge):
            TestDelivery.objects.filter(pk=delivery.pk).update(body=pattern.sub("", delivery.body))
    charges.exclude(email="").update(email=replacement)
    charges.update(payer_name="")

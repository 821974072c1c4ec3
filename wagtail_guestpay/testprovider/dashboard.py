"""The test provider's merchant dashboard actions: a charge moves and its notification is sent.
Used by the dashboard's buttons and by the provider's refund API."""

from django.db import transaction

from .delivery import notify
from .models import TestCharge

DASHBOARD_ACTIONS = {
    "confirm": ({TestCharge.Status.PENDING}, TestCharge.Status.PAID),
    "decline": ({TestCharge.Status.PENDING}, TestCharge.Status.DECLINED),
    "refund": ({TestCharge.Status.PAID}, TestCharge.Status.REFUNDED),
}


def apply_action(public_id, action):
    """Carry out ``action`` on the charge if its status allows it; returns the charge (raises
    TestCharge.DoesNotExist for an unknown one)."""
    allowed_from, to_status = DASHBOARD_ACTIONS[action]
    with transaction.atomic():
        charge = TestCharge.objects.select_for_update().get(public_id=public_id)
        if charge.status in allowed_from:
            charge.status = to_status
            charge.save()
            notify(charge)
    return charge


def refund_charge(public_id):
    return apply_action(public_id, "refund")

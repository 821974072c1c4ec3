"""What the test provider says about a charge: its id and its JSON (notifications and status
answers)."""


def charge_reference(charge):
    return f"ch_{charge.public_id.hex}"


def charge_payload(charge):
    return {
        "id": charge_reference(charge),
        "reference": charge.reference,
        "status": charge.status,
        "amount": str(charge.amount),
        "currency": charge.currency,
        "email": charge.email,
        "payer_name": charge.payer_name,
    }

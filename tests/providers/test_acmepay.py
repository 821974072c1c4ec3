"""docs/how-to/write-a-payment-system.md, followed: its example provider (tests/acmepay, the
how-to's code blocks word for word) is registered from the test settings like a host site's, and
passes the provider contract every shipped provider passes."""

import json
import re
from pathlib import Path

from tests.acmepay.provider import SIGNATURE_HEADER, sign
from tests.providers.contract import ProviderContract
from wagtail_guestpay.models import Payment, ProviderAccount
from wagtail_guestpay.providers.registry import get_provider_class, provider_kind_choices

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = ROOT / "docs" / "how-to" / "write-a-payment-system.md"


def how_to_blocks():
    """The how-to's Python blocks, by the file their first line names."""
    blocks = re.findall(r"```python\n(.*?)```", HOW_TO.read_text(), re.S)
    return {
        block.splitlines()[0].removeprefix("# "): block
        for block in blocks
        if block.startswith("# acmepay/")
    }


def test_the_how_to_shows_the_code_that_is_tested():
    blocks = how_to_blocks()
    for name in ("provider.py", "apps.py"):
        code = (ROOT / "tests" / "acmepay" / name).read_text()
        # The one difference: the tests hold the app at tests/acmepay, a site at acmepay/.
        code = code.replace('name = "tests.acmepay"', 'name = "acmepay"')
        assert blocks[f"acmepay/{name}"] == code, f"the how-to's acmepay/{name} has drifted"


def test_registered_from_the_settings_like_a_host_site_s_provider():
    assert get_provider_class("acmepay").__name__ == "AcmePayProvider"
    assert ("acmepay", "AcmePay") in [(kind, str(label)) for kind, label in provider_kind_choices()]


class TestContract(ProviderContract):
    def make_account(self):
        account = ProviderAccount(name="AcmePay", kind="acmepay", options={"merchant_id": "m-42"})
        account.set_secrets({"secret": "acme-signing-secret"})
        account.save()
        return account

    def start(self, client, offer):
        response = client.get(offer.get_pay_path())
        assert response.status_code == 303
        location = response["Location"]
        assert location.startswith("https://pay.acme.example/checkout?merchant=m-42&")
        query, signature = location.split("?", 1)[1].rsplit("&signature=", 1)
        assert signature == sign("acme-signing-secret", query.encode())
        return Payment.objects.order_by("-pk").first()

    def paid_notification(
        self, payment, *, email="buyer@example.com", amount=None, event_id=None, currency=None
    ):
        body = json.dumps(
            {
                "id": event_id or f"evt-{payment.reference}-paid",
                "status": "paid",
                "payment_id": payment.provider_reference or f"acme-{payment.reference}",
                "reference": payment.reference,
                "amount": str(payment.amount if amount is None else amount),
                "currency": currency or payment.currency,
                "email": email,
                "name": "Ada Lovelace",
            }
        ).encode()
        return body, {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(payment.account.get_secret("secret"), body),
        }

    def forge(self, body, headers):
        return body, {**headers, SIGNATURE_HEADER: sign("not-the-secret", body)}

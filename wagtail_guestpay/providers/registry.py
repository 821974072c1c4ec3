"""Which provider class serves which ``ProviderAccount.kind``."""

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

# kind -> dotted path; imported lazily so that an optional SDK (stripe) is only needed when used.
_PATHS = {}
_LABELS = {}


def register_provider(kind, path, label):
    """Make a provider class available as ``kind``. Host sites may register their own."""
    _PATHS[kind] = path
    _LABELS[kind] = label


def unregister_provider(kind):
    _PATHS.pop(kind, None)
    _LABELS.pop(kind, None)


def get_provider_class(kind, *, missing_ok=False):
    path = _PATHS.get(kind)
    if path is None:
        if missing_ok:
            return None
        raise LookupError(f"No payment provider is registered as {kind!r}.")
    return import_string(path)


def registered_kinds():
    return list(_PATHS)


def provider_kind_choices():
    return [(kind, _LABELS[kind]) for kind in _PATHS]


# The payment systems this app ships with.
register_provider("fondy", "wagtail_guestpay.providers.fondy.FondyProvider", _("Fondy"))
register_provider("paypal", "wagtail_guestpay.providers.paypal.PayPalProvider", _("PayPal"))
register_provider("stripe", "wagtail_guestpay.providers.stripe.StripeProvider", _("Stripe"))
register_provider(
    "wayforpay", "wagtail_guestpay.providers.wayforpay.WayForPayProvider", _("WayForPay")
)

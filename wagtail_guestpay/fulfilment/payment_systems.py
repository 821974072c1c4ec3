"""The payment systems that notifications are addressed to, kept in memory per process.

Reading the account and building its provider on every notification was about a quarter of the
callback's time (bench/results). A web process keeps them for ACCOUNT_CACHE_SECONDS, stamped with
the account's ``updated_at`` and the encryption keys:

- a save or delete in this process forgets the account at once (signals below);
- a notification that fails to verify with what the process holds is verified once more against
  the account read afresh, so a secret changed in another process counts from its first
  notification on (a forged notification costs the one read it always cost);
- a change of WAGTAIL_GUESTPAY_ENCRYPTION_KEYS (key rotation) forgets every account.

The decrypted credentials are kept by the account instance (ProviderAccount.get_secret).
"""

import threading
import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..conf import guestpay_settings
from ..models import ProviderAccount
from ..providers.exceptions import NotificationRejected

_lock = threading.Lock()
_held = {}  # str(public_id) -> _Entry


@dataclass(frozen=True)
class _Entry:
    account: ProviderAccount
    provider: object
    expires: float
    keys: tuple


class NotifiedAccount:
    """The account and provider of one notify URL, for one request.

    Raises ProviderAccount.DoesNotExist for an unknown id (and whatever reading it raises).
    """

    def __init__(self, public_id):
        self.public_id = str(public_id)
        self.account, self.provider, self.cached = _get(self.public_id)

    def parse_notification(self, notification):
        """The provider's events; a rejection by cached credentials is checked afresh once."""
        try:
            return self.provider.parse_notification(notification)
        except NotificationRejected:
            if not self.cached:
                raise
        self.account, self.provider, self.cached = _get(self.public_id, fresh=True)
        return self.provider.parse_notification(notification)


def _get(public_id, fresh=False):
    seconds = guestpay_settings.ACCOUNT_CACHE_SECONDS
    keys = _keys()
    now = time.monotonic()
    entry = None if fresh else _held.get(public_id)
    if entry is not None and entry.expires > now and entry.keys == keys:
        return entry.account, entry.provider, True
    account = ProviderAccount.objects.get(public_id=public_id)
    provider = account.get_provider()
    if seconds and seconds > 0:
        with _lock:
            _held[public_id] = _Entry(account, provider, now + seconds, keys)
    return account, provider, False


def _keys():
    return tuple(guestpay_settings.ENCRYPTION_KEYS or ())


def forget(public_id=None):
    """Forget one account (or all of them) in this process."""
    with _lock:
        if public_id is None:
            _held.clear()
        else:
            _held.pop(str(public_id), None)


@receiver(post_save, sender=ProviderAccount, dispatch_uid="guestpay_forget_account_saved")
@receiver(post_delete, sender=ProviderAccount, dispatch_uid="guestpay_forget_account_deleted")
def _forget_changed(sender, instance, **kwargs):
    forget(instance.public_id)

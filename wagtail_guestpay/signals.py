"""Signals a host site can listen to. All are sent after the transaction that caused them commits.

- ``order_status_changed(sender=Order, order, old_status, new_status, reason)``
- ``payment_status_changed(sender=Payment, payment, old_status, new_status, reason)``
- ``access_granted(sender=AccessGrant, grant)``
- ``access_revoked(sender=AccessGrant, grant)``
- ``account_created(sender=User, user, order)``: a payment created an account
- ``account_activated(sender=User, user, registration_data, request)``: its owner set a password

One is sent inside the transaction, so that a receiver's own changes commit or roll back with it:

- ``buyer_data_erased(sender=Contact, email, replacement, users, kept_users, order_ids,
  payment_references)``: ``manage.py guestpay_buyer_data erase`` or the Contacts action erased
  what the package held about ``email`` (docs/how-to/buyer-data.md); erase the site's own data
  of it here. ``users``: the accounts anonymised, ``kept_users``: the site's accounts of the
  address, left as they were.
"""

from django.dispatch import Signal

order_status_changed = Signal()
payment_status_changed = Signal()
access_granted = Signal()
access_revoked = Signal()
account_created = Signal()
account_activated = Signal()
buyer_data_erased = Signal()

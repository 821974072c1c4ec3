"""Signals a host site can listen to. All are sent after the transaction that caused them commits.

- ``order_status_changed(sender=Order, order, old_status, new_status, reason)``
- ``payment_status_changed(sender=Payment, payment, old_status, new_status, reason)``
- ``access_granted(sender=AccessGrant, grant)``
- ``access_revoked(sender=AccessGrant, grant)``
- ``account_created(sender=User, user, order)``: a payment created an account
- ``account_activated(sender=User, user, registration_data, request)``: its owner set a password
"""

from django.dispatch import Signal

order_status_changed = Signal()
payment_status_changed = Signal()
access_granted = Signal()
access_revoked = Signal()
account_created = Signal()
account_activated = Signal()

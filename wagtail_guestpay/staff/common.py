"""What every staff fix shares: the audit-log action names, the refusal (NothingToDo), the
order lock and the double-submission checks (see :mod:`.fixes`)."""

from ..fulfilment.accounts import contact_for, is_placeholder, normalize_email
from ..fulfilment.follow_up import OPEN_STATUSES
from ..models import Contact, Order, PaymentStatus

# A staff member may re-check a payment that is still open, and one the provider may yet report
# paid after we gave up on it.
RECHECKABLE = (*OPEN_STATUSES, PaymentStatus.FAILED, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED)

ACTION_GRANTED = "wagtail_guestpay.access_granted"
ACTION_REVOKED = "wagtail_guestpay.access_revoked"
ACTION_RESENT = "wagtail_guestpay.access_email_resent"
ACTION_CHECKED = "wagtail_guestpay.payment_checked"
ACTION_HOLD_ACCEPTED = "wagtail_guestpay.hold_accepted"
ACTION_HOLD_REFUSED = "wagtail_guestpay.hold_refused"
ACTION_RESOLVED = "wagtail_guestpay.attention_resolved"
ACTION_EVENT_REVIEWED = "wagtail_guestpay.event_reviewed"


class NothingToDo(Exception):
    """The current state makes the fix pointless or impossible (e.g. it was just done); the
    message says why, for the member of staff."""


def _lock_order(order):
    """The order, locked (only its own row: PostgreSQL refuses FOR UPDATE on the nullable side
    of the joins, and locking the offer would serialise all its orders)."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("offer", "user", "contact")
        .get(pk=order.pk)
    )


def _email_of(user):
    return getattr(user, user.get_email_field_name(), "") or ""


def _dedupe(prefix, form):
    return f"{prefix}:{form}" if form else None


def contact_of(user):
    """The CRM contact of an account: the one linked to it, else the one of its e-mail (linked
    now, created if needed); None for an account without a usable e-mail."""
    contact = Contact.objects.filter(user=user).order_by("pk").first()
    if contact is not None:
        return contact
    email = normalize_email(_email_of(user))
    if not email or is_placeholder(email):
        return None
    contact = contact_for(email, source=Contact.Source.STAFF)
    if contact.user_id is None:
        contact.user = user
        contact.save(update_fields=["user", "updated_at"])
    return contact


def _logged_for_form(order, action, form):
    """True if the fix submitted with the one-time ``form`` token is already in ``order``'s
    history (a double submission)."""
    from wagtail.models import ModelLogEntry

    return ModelLogEntry.objects.for_instance(order).filter(action=action, data__form=form).exists()

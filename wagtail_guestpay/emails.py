"""E-mails to buyers and staff, through an outbox.

An e-mail is queued as an :class:`~wagtail_guestpay.models.OutboundEmail` row inside the
transaction that decides it (its ``dedupe_key`` makes "one access e-mail per order" a database
fact), and delivered after commit by a task that claims the row with a lease, renders it in the
buyer's language and sends it through Django's e-mail API. A failed send is retried with back-off;
a placeholder address is never written to.

A secret an e-mail must carry (a claim's one-time code) is queued under ``data["sealed"]``,
encrypted with the credential keys (:mod:`wagtail_guestpay.crypto`), and dropped from the row once
the message is sent or given up: the database never holds it in clear.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from . import queueing
from .adapter import get_adapter
from .conf import guestpay_settings
from .fulfilment.accounts import BuyerAccount, is_placeholder
from .models import AccessLink, OutboundEmail

logger = logging.getLogger(__name__)

ACCESS = "access"
ACCESS_LINK = "access_link"
ACCESS_GRANTED = "access_granted"  # access a member of staff granted outside an order
STAFF_NOTICE = "staff_notice"
CLAIM_CODE = "claim_code"
REGISTRATION_CODE = "registration_code"
REGISTRATION_EXISTING = "registration_existing_account"
SIGNIN_CODE = "signin_code"
EMAIL_CHANGE_CODE = "email_change_code"
EMAIL_CHANGED = "email_changed"
PASSWORD_RESET = "password_reset"
REFUND = "refund"
SEALED = "sealed"

LEASE = timedelta(minutes=5)

# What staff see of each kind of e-mail (the transactions' inspect view).
KIND_LABELS = {
    ACCESS: _("Access to the purchase"),
    ACCESS_LINK: _("New access link"),
    ACCESS_GRANTED: _("Access granted by staff"),
    STAFF_NOTICE: _("Notice to staff"),
    CLAIM_CODE: _("Confirmation code"),
    REGISTRATION_CODE: _("Registration code"),
    REGISTRATION_EXISTING: _("Registration of an address that has an account"),
    SIGNIN_CODE: _("Sign-in code"),
    EMAIL_CHANGE_CODE: _("Code for a new e-mail address"),
    EMAIL_CHANGED: _("E-mail address changed"),
    PASSWORD_RESET: _("Password reset"),
    REFUND: _("Refund"),
}

# The staff notices that are not about an order's "needs attention" reason.
STAFF_NOTICE_REASONS = {
    "event_failed": _("A payment notification could not be processed"),
    "unknown_payment": _("A notification about a payment this site does not know"),
}


def kind_label(kind):
    return KIND_LABELS.get(kind, kind)


def queue_email(kind, to_email, *, user=None, order=None, dedupe_key=None, data=None, language=""):
    """Record an e-mail to send once the current transaction commits; returns the row, or None
    when ``dedupe_key`` was queued before (or the address is a placeholder)."""
    if not to_email or is_placeholder(to_email):
        return None
    if dedupe_key and OutboundEmail.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    try:
        with transaction.atomic():
            outbound = OutboundEmail.objects.create(
                kind=kind, to_email=to_email, user=user, order=order, dedupe_key=dedupe_key,
                data=data or {}, language=language or (order.language if order else ""),
                next_attempt_at=timezone.now(),
            )
    except IntegrityError:
        return None
    transaction.on_commit(
        lambda: queueing.enqueue("wagtail_guestpay.tasks.send_email", outbound.pk))
    return outbound


def queue_code_email(kind, to_email, code, *, data=None, **kwargs):
    """:func:`queue_email` for an e-mail that carries a one-time code: the code is sealed in the
    row, and dropped from it once the message is sent or given up."""
    return queue_email(kind, to_email, data={**(data or {}), SEALED: seal({"code": code})},
                       **kwargs)


def queue_access_email(order, user):
    """The one access e-mail of a paid order."""
    return queue_email(
        ACCESS, _user_email(user), user=user, order=order, dedupe_key=f"order:{order.pk}:access"
    )


def queue_staff_notice(reason, *, order=None, detail=""):
    key = f"order:{order.pk}:staff:{reason}" if order else None
    for address in get_adapter().get_staff_emails():
        queue_email(
            STAFF_NOTICE, address, order=order,
            dedupe_key=f"{key}:{address}" if key else None,
            data={"reason": reason, "detail": detail}, language="",
        )


def _user_email(user):
    return getattr(user, user.get_email_field_name(), "") or ""


def retry_delay(attempts):
    return min(timedelta(minutes=1) * (2 ** max(attempts - 1, 0)), timedelta(hours=6))


def deliver(outbound_id):
    """Send one queued e-mail if it is due and unsent. Safe to call twice: the row is claimed with
    a conditional update before anything is sent."""
    now = timezone.now()
    claimed = (
        OutboundEmail.objects.filter(pk=outbound_id, sent_at__isnull=True)
        .filter(next_attempt_at__lte=now)
        .update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )
    if not claimed:
        return False
    outbound = OutboundEmail.objects.select_related("order__offer", "order__site", "user").get(
        pk=outbound_id
    )
    if is_placeholder(outbound.to_email):
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            next_attempt_at=None, last_error="Not sent: placeholder address."
        )
        return False
    try:
        # The buyer's language; the site's default for e-mails to staff and when none is known.
        with translation.override(outbound.language or settings.LANGUAGE_CODE):
            prefix, context = build_message(outbound)
            get_adapter().send_mail(prefix, outbound.to_email, context)
    except Exception as exc:  # the e-mail backend or a template failed: retry later
        give_up = outbound.attempts >= guestpay_settings.EMAIL_MAX_ATTEMPTS
        OutboundEmail.objects.filter(pk=outbound.pk).update(
            next_attempt_at=None if give_up else now + retry_delay(outbound.attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            **(_unsealed(outbound) if give_up else {}),
        )
        logger.warning("E-mail %s (%s) failed, attempt %s", outbound.pk, outbound.kind,
                       outbound.attempts, exc_info=True)
        return False
    OutboundEmail.objects.filter(pk=outbound.pk).update(
        sent_at=timezone.now(), next_attempt_at=None, last_error="", **_unsealed(outbound)
    )
    return True


def seal(data):
    """Encrypt a secret for ``queue_email(..., data={SEALED: seal({...})})``."""
    from .crypto import encrypt_json

    return encrypt_json(data)


def _unsealed(outbound):
    """The update that drops a sent (or abandoned) message's sealed secret."""
    if SEALED not in outbound.data:
        return {}
    return {"data": {key: value for key, value in outbound.data.items() if key != SEALED}}


def due_emails(limit=100):
    return OutboundEmail.objects.filter(
        sent_at__isnull=True, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:limit]


# Message builders ---------------------------------------------------------------------------
def build_message(outbound):
    builder = BUILDERS.get(outbound.kind)
    if builder is None:
        raise LookupError(f"No e-mail builder for {outbound.kind!r}")
    return builder(outbound)


def _base_context(outbound):
    from .models import MerchantContacts

    order = outbound.order
    site = _site_for(order)
    adapter = get_adapter()
    reset = adapter.get_password_reset_url()
    return {
        "order": order,
        "site": site,
        "site_name": site.site_name if site else "",
        "merchant": MerchantContacts.for_site(site).in_language() if site else None,
        "personal_area_url": adapter.absolute_url(adapter.get_personal_area_url(), site),
        "password_reset_url": adapter.absolute_url(reset, site) if reset else "",
        "recipient": outbound.to_email,
    }


def _site_for(order):
    from wagtail.models import Site

    if order is not None and order.site_id:
        return order.site
    return Site.objects.filter(is_default_site=True).first()


def _build_access(outbound):
    context = _base_context(outbound)
    order, user = outbound.order, outbound.user
    adapter = get_adapter()
    context["products"] = [grant.product.specific for grant in order.grants.active()]
    context["user"] = user
    if user is not None and BuyerAccount(user=user).is_new:
        context.update(_link_context(user, context["site"]))
        return "wagtail_guestpay/email/access_new_account", context
    context["login_url"] = adapter.absolute_url(
        adapter.get_login_url(adapter.get_personal_area_url()), context["site"]
    )
    return "wagtail_guestpay/email/access_existing_account", context


def _link_context(user, site):
    max_age = guestpay_settings.as_timedelta("ACCESS_LINK_MAX_AGE")
    _link, token = AccessLink.issue(user, max_age)
    path = reverse("wagtail_guestpay:access_link", args=[token])
    return {"link_url": get_adapter().absolute_url(path, site), "link_max_age": max_age}


def _build_access_granted(outbound):
    """Products a member of staff granted outside an order; their page ids are in ``data``."""
    from wagtail.models import Page

    context = _base_context(outbound)
    user = outbound.user
    adapter = get_adapter()
    ids = outbound.data.get("products") or []
    context["products"] = list(Page.objects.filter(pk__in=ids).specific().order_by("title"))
    context["user"] = user
    if user is not None and BuyerAccount(user=user).is_new:
        context.update(_link_context(user, context["site"]))
    else:
        context["login_url"] = adapter.absolute_url(
            adapter.get_login_url(adapter.get_personal_area_url()), context["site"]
        )
    return "wagtail_guestpay/email/access_granted", context


def _build_access_link(outbound):
    context = _base_context(outbound)
    context.update(_link_context(outbound.user, context["site"]))
    return "wagtail_guestpay/email/access_link", context


def _build_staff_notice(outbound):
    from .models import Attention

    context = _base_context(outbound)
    reason = outbound.data.get("reason", "")
    context["reason"] = reason
    context["reason_label"] = (
        dict(Attention.choices).get(reason) or STAFF_NOTICE_REASONS.get(reason) or reason
    )
    context["detail"] = outbound.data.get("detail", "")
    return "wagtail_guestpay/email/staff_notice", context


def _sealed_code(outbound):
    return _sealed(outbound)["code"]


def _sealed(outbound):
    from .crypto import decrypt_json

    sealed = outbound.data.get(SEALED)
    if not sealed:
        raise LookupError("The code of this e-mail is gone (sent or abandoned before).")
    return decrypt_json(sealed)


def _build_claim_code(outbound):
    context = _base_context(outbound)
    context["code"] = _sealed_code(outbound)
    context["kind"] = outbound.data.get("kind", "")
    context["max_age_minutes"] = outbound.data.get("max_age_minutes", 15)
    return "wagtail_guestpay/email/claim_code", context


def _registration_context(outbound):
    """A pending registration's e-mail: the offer, and the site the buyer registered on."""
    from .models import MerchantContacts, PendingRegistration

    registration = (PendingRegistration.objects.select_related("offer", "site")
                    .filter(pk=outbound.data.get("registration")).first())
    if registration is None:
        raise LookupError("The registration of this e-mail is gone.")
    context = _base_context(outbound)
    site = registration.site or context["site"]
    adapter = get_adapter()
    context.update({
        "site": site,
        "site_name": site.site_name if site else "",
        "merchant": MerchantContacts.for_site(site).in_language() if site else None,
        "offer": registration.offer,
        "max_age_minutes": outbound.data.get("max_age_minutes", 15),
        "login_url": adapter.absolute_url(
            adapter.get_login_url(registration.offer.get_pay_path()), site
        ),
    })
    return context


def _build_registration_code(outbound):
    context = _registration_context(outbound)
    context["code"] = _sealed_code(outbound)
    return "wagtail_guestpay/email/registration_code", context


def _build_registration_existing(outbound):
    """The address already has an account: no code, the way to log in (or get in) instead."""
    from .fulfilment.accounts import users_with_email

    context = _registration_context(outbound)
    adapter = get_adapter()
    # An account a payment made and nobody opened has no password to reset: a new access link.
    unused = any(BuyerAccount(user=user).is_new
                 for user in users_with_email(outbound.to_email).filter(is_active=True))
    if unused:
        context["access_link_url"] = adapter.absolute_url(
            reverse("wagtail_guestpay:request_link"), context["site"]
        )
    return "wagtail_guestpay/email/registration_existing_account", context


def _build_signin_code(outbound):
    """A sign-in code and its one-click link (to a page with a button), or a new address's code."""
    context = _base_context(outbound)
    secret = _sealed(outbound)
    context["code"] = secret["code"]
    context["max_age_minutes"] = outbound.data.get("max_age_minutes", 15)
    if outbound.kind == SIGNIN_CODE:
        path = reverse("wagtail_guestpay:login_link", args=[secret["token"]])
        context["link_url"] = get_adapter().absolute_url(path, context["site"])
    return f"wagtail_guestpay/email/{outbound.kind}", context


def _build_from_data(outbound):
    """A message whose template needs only what was queued with it (``data``)."""
    return f"wagtail_guestpay/email/{outbound.kind}", {**_base_context(outbound), **outbound.data}


def _build_password_reset(outbound):
    """The link is made when the message is built: Django's token dies with a new password or a
    new login, so only the last e-mail's link works, once."""
    user = outbound.user
    if user is None or not user.is_active:
        raise LookupError("The account of this password reset is gone or inactive.")
    context = _base_context(outbound)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("wagtail_guestpay:password_reset_confirm", args=[uid, token])
    context["reset_url"] = get_adapter().absolute_url(path, context["site"])
    context["user"] = user
    return "wagtail_guestpay/email/password_reset", context


BUILDERS = {
    ACCESS: _build_access,
    CLAIM_CODE: _build_claim_code,
    ACCESS_LINK: _build_access_link,
    ACCESS_GRANTED: _build_access_granted,
    STAFF_NOTICE: _build_staff_notice,
    REGISTRATION_CODE: _build_registration_code,
    REGISTRATION_EXISTING: _build_registration_existing,
    SIGNIN_CODE: _build_signin_code,
    EMAIL_CHANGE_CODE: _build_signin_code,
    EMAIL_CHANGED: _build_from_data,
    PASSWORD_RESET: _build_password_reset,
    REFUND: _build_from_data,
}


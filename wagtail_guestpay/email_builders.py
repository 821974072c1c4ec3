"""What each kind of e-mail says: the template and context built for an outbox row
(:mod:`wagtail_guestpay.emails` queues and delivers them)."""

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .adapter import get_adapter
from .conf import guestpay_settings
from .email_kinds import (
    ACCESS,
    ACCESS_GRANTED,
    ACCESS_LINK,
    CLAIM_CODE,
    EMAIL_CHANGE_CODE,
    EMAIL_CHANGED,
    FREE_CODE,
    PASSWORD_RESET,
    REFUND,
    REGISTRATION_CODE,
    REGISTRATION_EXISTING,
    SEALED,
    SIGNIN_CODE,
    STAFF_NOTICE,
    STAFF_NOTICE_REASONS,
)
from .fulfilment.accounts import BuyerAccount
from .fulfilment.receipts import receipt_link_token
from .models import AccessLink, receipt_of


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
    grants = order.grants.active().select_related("product")
    context["products"] = [grant.product.specific for grant in grants]
    context["user"] = user
    context["receipt_url"] = _receipt_url(order, context["site"])
    if user is not None and BuyerAccount(user=user).is_new:
        context.update(_link_context(user, context["site"]))
        return "wagtail_guestpay/email/access_new_account", context
    context["login_url"] = adapter.absolute_url(
        adapter.get_login_url(adapter.get_personal_area_url()), context["site"]
    )
    return "wagtail_guestpay/email/access_existing_account", context


def _receipt_url(order, site):
    """The signed receipt link (made when the message is built: its lifetime starts then)."""
    receipt = receipt_of(order)  # selected with the e-mail (emails._send)
    if receipt is None:
        return ""
    path = reverse("wagtail_guestpay:receipt_link", args=[receipt_link_token(receipt)])
    return get_adapter().absolute_url(path, site)


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

    registration = (
        PendingRegistration.objects.select_related("offer", "site")
        .filter(pk=outbound.data.get("registration"))
        .first()
    )
    if registration is None:
        raise LookupError("The registration of this e-mail is gone.")
    context = _base_context(outbound)
    site = registration.site or context["site"]
    adapter = get_adapter()
    context.update(
        {
            "site": site,
            "site_name": site.site_name if site else "",
            "merchant": MerchantContacts.for_site(site).in_language() if site else None,
            "offer": registration.offer,
            "max_age_minutes": outbound.data.get("max_age_minutes", 15),
            "login_url": adapter.absolute_url(
                adapter.get_login_url(registration.offer.get_pay_path()), site
            ),
        }
    )
    return context


def _build_registration_code(outbound):
    context = _registration_context(outbound)
    context["code"] = _sealed_code(outbound)
    return "wagtail_guestpay/email/registration_code", context


def _build_free_code(outbound):
    context = _registration_context(outbound)
    context["code"] = _sealed_code(outbound)
    return "wagtail_guestpay/email/free_code", context


def _build_registration_existing(outbound):
    """The address already has an account: no code, the way to log in (or get in) instead."""
    from .fulfilment.accounts import users_with_email

    context = _registration_context(outbound)
    adapter = get_adapter()
    # An account a payment made and nobody opened has no password to reset: a new access link.
    unused = any(
        BuyerAccount(user=user).is_new
        for user in users_with_email(outbound.to_email).filter(is_active=True)
    )
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


def _build_refund(outbound):
    """The refund, and the receipt link: the receipt shows the refund."""
    prefix, context = _build_from_data(outbound)
    context["receipt_url"] = _receipt_url(outbound.order, context["site"])
    return prefix, context


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
    FREE_CODE: _build_free_code,
    SIGNIN_CODE: _build_signin_code,
    EMAIL_CHANGE_CODE: _build_signin_code,
    EMAIL_CHANGED: _build_from_data,
    PASSWORD_RESET: _build_password_reset,
    REFUND: _build_refund,
}

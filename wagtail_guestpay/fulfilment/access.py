"""The access API: who holds which product. Host sites use these functions and the signals in
:mod:`wagtail_guestpay.signals` to map grants onto their own access model."""

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..localization import active_locale_id, same_page_ids
from ..models import AccessGrant
from ..products import product_models
from .storing import insert_one


def has_access(user, product):
    """True if ``user`` holds an active grant to the page ``product`` (or, with translated
    content, to one of its translations)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return (
        AccessGrant.objects.active()
        .filter(user=user, product_id__in=same_page_ids(product))
        .exists()
    )


def holds_every(user, products):
    """True if ``user`` holds an active grant to each page of ``products`` (and there is one at
    least): an offer of only these is already theirs."""
    return AccessGrant.objects.holds_every(user, products)


def products_for(user):
    """The live pages ``user`` holds an active grant to, as their specific classes (none for a
    deactivated account, as :func:`has_access` answers)."""
    from wagtail.models import Page

    if user is None or not user.is_authenticated or not user.is_active:
        return Page.objects.none()
    ids = AccessGrant.objects.active().filter(user=user).values("product_id")
    pages = Page.objects.live().filter(pk__in=ids)
    locale_id = active_locale_id()
    if locale_id is not None:
        # Each page in the visitor's language, where it has a live translation in it.
        granted = list(pages.only("pk", "translation_key"))
        local = dict(
            Page.objects.live()
            .filter(
                locale_id=locale_id, translation_key__in=[page.translation_key for page in granted]
            )
            .values_list("translation_key", "pk")
        )
        pages = Page.objects.filter(
            pk__in=[local.get(page.translation_key, page.pk) for page in granted]
        )
    return pages.specific().order_by("title")


def grant_access(user, product, *, source, order=None, granted_by=None, note=""):
    """Grant ``user`` access to ``product``; returns ``(grant, created)``.

    Idempotent: an order grants a product once, and staff/API grants hold one active grant per
    user and product; the existing grant is returned otherwise. ``access_granted`` is sent after
    commit, only when a grant was created.
    """
    grant = AccessGrant(
        user=user, product=product, order=order, source=source, granted_by=granted_by, note=note
    )
    # One INSERT; the constraints (one active grant per order and product, one staff grant
    # per user and product) leave out a second one, which is then returned.
    if not insert_one(AccessGrant, grant):
        return _active_grant(user, product, order), False
    transaction.on_commit(
        lambda: signals.access_granted.send(sender=AccessGrant, grant=grant), robust=True
    )
    return grant, True


def _active_grant(user, product, order):
    grants = AccessGrant.objects.active().filter(product_id=product.pk)
    if order is not None:
        return grants.filter(order=order).first()
    return grants.filter(user=user, order__isnull=True).first()


def revoke_access(grant, *, revoked_by=None, note=""):
    """Revoke one grant; returns True if it was active. ``access_revoked`` follows the commit."""
    updated = AccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(),
        revoked_by=revoked_by,
        note=(f"{grant.note}\n{note}".strip() if note else grant.note),
    )
    if updated:
        grant.refresh_from_db()
        transaction.on_commit(
            lambda: signals.access_revoked.send(sender=AccessGrant, grant=grant), robust=True
        )
    return bool(updated)


def revoke_order_access(order, *, revoked_by=None, note=""):
    """Revoke every active grant an order made; returns how many were revoked."""
    return sum(
        revoke_access(grant, revoked_by=revoked_by, note=note)
        for grant in order.grants.active().select_for_update()
    )


__all__ = [
    "grant_access",
    "has_access",
    "holds_every",
    "product_models",
    "products_for",
    "revoke_access",
    "revoke_order_access",
]

"""Content in the visitor's language, with Wagtail's own localisation (``WAGTAIL_I18N_ENABLED``).

Offers (snippets) and pages are translated with Wagtail (``TranslatableMixin``; editors use
``wagtail.contrib.simple_translation`` or wagtail-localize). What a visitor is shown follows the
active language:

1. an offer, a result page or a product page is replaced by its translation in the active
   locale, else by its translation in the default locale (``LANGUAGE_CODE``), else kept;
2. a pay link ``/guestpay/pay/<slug>/`` finds the offer by its slug (shared by its translations)
   and then step 1;
3. access to a product page holds for every translation of the page.

With ``WAGTAIL_I18N_ENABLED`` off every function here returns what it was given, without a query.

The id of each language's Locale is remembered per process (a pay click and every page of pay
blocks asked for it, one query each time): forgotten when a Locale is saved or deleted here
(signals, connected in ``apps.py``) or a setting changes, and after
:data:`LOCALE_IDS_SECONDS` for what another process changed. A language without a Locale is
not remembered, so a Locale created anywhere is used at once.
"""

import time

from django.conf import settings
from django.utils import translation
from wagtail.models import Locale, Page

#: How long a remembered Locale id is trusted: a Locale deleted (and created again, with another
#: id) by another process is seen after this long. Until then a deleted one's id finds no rows,
#: which is what a missing locale does too (the default locale's content is shown).
LOCALE_IDS_SECONDS = 300
_LOCALE_IDS = {}  # language code -> (Locale id, when it was looked up)


def i18n_enabled():
    return getattr(settings, "WAGTAIL_I18N_ENABLED", False)


def locale_id_for(language_code):
    """The id of the Locale of ``language_code`` (Wagtail's ``Locale.objects.get_for_language``),
    or None when it has none; remembered per process (module docstring)."""
    now = time.monotonic()
    remembered = _LOCALE_IDS.get(language_code)
    if remembered is not None and now - remembered[1] < LOCALE_IDS_SECONDS:
        return remembered[0]
    try:
        found = Locale.objects.get_for_language(language_code).pk
    except (Locale.DoesNotExist, LookupError):
        return None
    if len(_LOCALE_IDS) >= 100:  # language codes are few; never let the map grow
        _LOCALE_IDS.clear()
    _LOCALE_IDS[language_code] = (found, now)
    return found


def forget_locale_ids(**kwargs):
    """Forget the remembered Locale ids: connected to Locale's ``post_save`` and
    ``post_delete`` and to ``setting_changed`` (``LANGUAGES``, ``WAGTAIL_CONTENT_LANGUAGES``
    and ``LANGUAGE_CODE`` decide which Locale a language code has)."""
    _LOCALE_IDS.clear()


def active_locale_id():
    """The id of the active language's Locale (the default locale's for a language without
    one, as ``Locale.get_active()``), or None when content is not localised or there is none."""
    if not i18n_enabled():
        return None
    return locale_id_for(translation.get_language()) or _default_locale_id()


def _default_locale_id():
    return locale_id_for(settings.LANGUAGE_CODE)


def _pick(translations, locale_id):
    """From the translations of one object: the active locale's, else the default locale's."""
    by_locale = {obj.locale_id: obj for obj in translations}
    return by_locale.get(locale_id) or by_locale.get(_default_locale_id())


def localize(obj, queryset=None):
    """``obj``'s translation for the visitor (module docstring, step 1); pages only when live.

    ``queryset`` (of ``obj``'s model) selects related rows of the translation."""
    return localize_many([obj], queryset)[0]


def localize_many(objects, queryset=None):
    """:func:`localize` for a list of objects of one model, in one query."""
    objects = list(objects)
    present = [obj for obj in objects if obj is not None]
    locale_id = active_locale_id() if present else None
    if locale_id is None:
        return objects
    missing = [obj for obj in present if obj.locale_id != locale_id]
    if not missing:
        return objects
    if queryset is None:
        queryset = type(missing[0])._default_manager.all()
    default_id = _default_locale_id()
    translations = queryset.filter(
        translation_key__in={obj.translation_key for obj in missing},
        locale_id__in=[locale_id, default_id],
    )
    if isinstance(missing[0], Page):
        translations = translations.live()
    found = {}
    for translation_ in translations:
        found.setdefault(translation_.translation_key, {})[translation_.locale_id] = translation_
    return [
        obj
        if obj is None or obj.locale_id == locale_id
        else found.get(obj.translation_key, {}).get(locale_id)
        or found.get(obj.translation_key, {}).get(default_id)
        or obj
        for obj in objects
    ]


def remember_translations(objects, translations):
    """Keep each object's translation for the active language on it (read by
    :func:`remembered_translation`): a page's blocks look their offers' translations up at once."""
    language = translation.get_language()
    for obj, localized in zip(objects, translations, strict=True):
        # An object shown as it is is not kept on itself: no reference cycle per block.
        obj._guestpay_translation = (language, _ITSELF if localized is obj else localized)


_ITSELF = object()


def remembered_translation(obj, language=None):
    """What :func:`remember_translations` kept for ``language`` (default: the active one), or
    None."""
    kept_for, localized = getattr(obj, "_guestpay_translation", (None, None))
    if kept_for is None or kept_for != (language or translation.get_language()):
        return None
    return obj if localized is _ITSELF else localized


def localize_page(page):
    """A page's translation for the visitor, as its specific class."""
    localized = localize(page, Page.objects.all())
    if localized is None or localized is page:
        return page
    return localized.specific


def find_offer(slug, queryset):
    """The offer of a pay link, in the visitor's language (module docstring, step 2).

    An offer whose translations were given different slugs is found by any of them."""
    if not i18n_enabled():
        return queryset.filter(slug=slug).first()
    candidates = list(queryset.filter(slug=slug))
    if not candidates:
        return None
    locale_id = active_locale_id()
    found = _pick(candidates, locale_id) or candidates[0]
    if found.locale_id == locale_id:
        return found
    return _pick(queryset.filter(translation_key=found.translation_key), locale_id) or found


def same_page_ids(page):
    """The ids of ``page`` and its translations (one id when content is not localised)."""
    if not i18n_enabled():
        return [page.pk]
    return list(
        Page.objects.filter(translation_key=page.translation_key).values_list("pk", flat=True)
    )


def one_per_translation(objects):
    """``objects`` localised, each translation group once, in the order of first appearance."""
    seen, result = set(), []
    for obj in objects:
        key = getattr(obj, "translation_key", obj.pk)
        if key not in seen:
            seen.add(key)
            result.append(localize(obj))
    return result


def language_locale_id(language=None):
    """The id of the Locale of ``language`` (default: the active one) for per-locale values
    (merchant contacts, registration texts); None when content is not localised or it has none."""
    if not i18n_enabled():
        return None
    return locale_id_for(language or translation.get_language())

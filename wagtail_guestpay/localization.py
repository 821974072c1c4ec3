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
"""

from django.conf import settings
from django.utils import translation
from wagtail.models import Locale, Page


def i18n_enabled():
    return getattr(settings, "WAGTAIL_I18N_ENABLED", False)


def active_locale():
    """The Locale of the active language (the default locale for a language without one), or
    None when content is not localised."""
    if not i18n_enabled():
        return None
    try:
        return Locale.get_active()
    except Locale.DoesNotExist:
        return None


def _default_locale_id():
    try:
        return Locale.get_default().pk
    except (Locale.DoesNotExist, LookupError):
        return None


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
    locale = active_locale() if present else None
    if locale is None:
        return objects
    missing = [obj for obj in present if obj.locale_id != locale.pk]
    if not missing:
        return objects
    if queryset is None:
        queryset = type(missing[0])._default_manager.all()
    default_id = _default_locale_id()
    translations = queryset.filter(
        translation_key__in={obj.translation_key for obj in missing},
        locale_id__in=[locale.pk, default_id],
    )
    if isinstance(missing[0], Page):
        translations = translations.live()
    found = {}
    for translation_ in translations:
        found.setdefault(translation_.translation_key, {})[translation_.locale_id] = translation_
    return [
        obj
        if obj is None or obj.locale_id == locale.pk
        else found.get(obj.translation_key, {}).get(locale.pk)
        or found.get(obj.translation_key, {}).get(default_id)
        or obj
        for obj in objects
    ]


def remember_translations(objects, translations):
    """Keep each object's translation for the active language on it (read by
    :func:`remembered_translation`): a page's blocks look their offers' translations up at once."""
    language = translation.get_language()
    for obj, localized in zip(objects, translations, strict=True):
        obj._guestpay_translation = (language, localized)


def remembered_translation(obj):
    """What :func:`remember_translations` kept for the active language, or None."""
    language, localized = getattr(obj, "_guestpay_translation", (None, None))
    return localized if language == translation.get_language() else None


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
    locale = active_locale()
    locale_id = locale.pk if locale is not None else None
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


def language_locale(language=None):
    """The Locale of ``language`` (default: the active one) for per-locale values (merchant
    contacts, registration texts); None when content is not localised or it has none."""
    if not i18n_enabled():
        return None
    try:
        return Locale.objects.get_for_language(language or translation.get_language())
    except (Locale.DoesNotExist, LookupError):
        return None

import copy

from django.core.validators import RegexValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Locale, Orderable

from ..localization import language_locale_id

IN_OTHER_LANGUAGES_HELP = _(
    "Used when the site's content is translated (WAGTAIL_I18N_ENABLED): a visitor whose language "
    "has a row here sees its values; empty values keep the ones above."
)


class PerLocaleValues(models.Model):
    """A row of values in one language for a site setting; blank values keep the setting's."""

    locale = models.ForeignKey(
        Locale, verbose_name=_("language"), on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


def _in_language(setting, rows, names, language=None):
    """A copy of ``setting`` with the non-blank values of its row for ``language``."""
    locale_id = language_locale_id(language)
    row = None if locale_id is None else next((r for r in rows if r.locale_id == locale_id), None)
    if row is None:
        return setting
    localized = copy.copy(setting)
    for name in names:
        if getattr(row, name):
            setattr(localized, name, getattr(row, name))
    return localized


@register_setting(icon="mail")
class MerchantContacts(ClusterableModel, BaseSiteSetting):
    """How a buyer reaches the merchant: shown on result pages, offer pages and e-mails."""

    name = models.CharField(_("merchant name"), max_length=255, blank=True)
    email = models.EmailField(_("support e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    website = models.URLField(_("website"), blank=True)
    address = models.TextField(_("postal address"), blank=True)
    hours = models.CharField(
        _("support hours"), max_length=255, blank=True, help_text=_("e.g. Mon-Fri, 9:00-18:00 CET")
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("name"), FieldPanel("email"), FieldPanel("phone"), FieldPanel("website")],
            heading=_("Contact"),
        ),
        FieldPanel("address"),
        FieldPanel("hours"),
        InlinePanel(
            "translations", label=_("In other languages"), help_text=IN_OTHER_LANGUAGES_HELP
        ),
    ]

    class Meta:
        verbose_name = _("merchant contacts")

    @property
    def is_empty(self):
        return not any([self.name, self.email, self.phone, self.website, self.address])

    def in_language(self, language=None):
        """These contacts with the name, address and hours in ``language`` (default: the active
        one), where a row of "In other languages" gives them."""
        return _in_language(
            self, self.translations.all(), MerchantContactsTranslation.TEXTS, language
        )


class MerchantContactsTranslation(PerLocaleValues, Orderable):
    TEXTS = ("name", "address", "hours")

    contacts = ParentalKey(MerchantContacts, on_delete=models.CASCADE, related_name="translations")
    name = models.CharField(_("merchant name"), max_length=255, blank=True)
    address = models.TextField(_("postal address"), blank=True)
    hours = models.CharField(_("support hours"), max_length=255, blank=True)

    panels = [FieldPanel("locale"), FieldPanel("name"), FieldPanel("address"), FieldPanel("hours")]

    class Meta(Orderable.Meta):
        verbose_name = _("merchant contacts in another language")
        constraints = [
            models.UniqueConstraint(
                fields=["contacts", "locale"], name="guestpay_merchant_contacts_locale_once"
            )
        ]

    def __str__(self):
        return f"{self.name or self.contacts_id} (locale {self.locale_id})"


@register_setting(icon="form")
class RegistrationSettings(ClusterableModel, BaseSiteSetting):
    """The extra fields a buyer fills when registering or completing a new account."""

    intro = models.TextField(
        _("introduction"), blank=True, help_text=_("Shown above the registration fields.")
    )

    panels = [
        FieldPanel("intro"),
        InlinePanel("fields", label=_("Fields")),
        InlinePanel(
            "translations", label=_("In other languages"), help_text=IN_OTHER_LANGUAGES_HELP
        ),
    ]

    class Meta:
        verbose_name = _("registration fields")

    def in_language(self, language=None):
        """The introduction in ``language`` (default: the active one)."""
        rows = [row for row in self.translations.all() if not row.field_name]
        return _in_language(self, rows, ("intro",), language)

    def fields_in_language(self, language=None):
        """The fields, their label, help text and choices shown in ``language``. The stored
        values stay those of the fields above (a translated choice stores the original)."""
        rows = {}
        locale_id = language_locale_id(language)
        if locale_id is not None:
            rows = {
                row.field_name: row
                for row in self.translations.all()
                if row.field_name and row.locale_id == locale_id
            }
        return [field.in_language(rows.get(field.name)) for field in self.fields.all()]


class RegistrationField(Orderable):
    class FieldType(models.TextChoices):
        TEXT = "text", _("Single line text")
        TEXTAREA = "textarea", _("Multi-line text")
        PHONE = "phone", _("Phone number")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHECKBOX = "checkbox", _("Checkbox")
        CHOICE = "choice", _("Drop-down choice")

    settings = ParentalKey(RegistrationSettings, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(_("label"), max_length=255)
    name = models.CharField(
        _("name"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", _("Lower-case letters, digits and _."))],
        help_text=_("Key of the value in the contact's registration data; made from the label."),
    )
    field_type = models.CharField(
        _("type"), max_length=16, choices=FieldType.choices, default=FieldType.TEXT
    )
    required = models.BooleanField(_("required"), default=False)
    choices = models.TextField(_("choices"), blank=True, help_text=_("One choice per line."))
    help_text = models.CharField(_("help text"), max_length=255, blank=True)

    panels = [
        FieldPanel("label"),
        FieldPanel("field_type"),
        FieldPanel("required"),
        FieldPanel("choices"),
        FieldPanel("help_text"),
        FieldPanel("name"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("registration field")
        verbose_name_plural = _("registration fields")

    def __str__(self):
        return self.label

    def save(self, *args, **kwargs):
        if not self.name:
            self.name = slugify(self.label).replace("-", "_")[:64] or "field"
            if not self.name[0].isalpha():
                self.name = f"f_{self.name}"[:64]
        super().save(*args, **kwargs)

    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def choice_pairs(self):
        """(stored value, shown text) of each choice."""
        shown = getattr(self, "_shown_choices", None) or []
        return [
            (value, shown[i] if i < len(shown) else value)
            for i, value in enumerate(self.choice_list())
        ]

    def in_language(self, row):
        """A copy of this field with the texts of its translation ``row`` (None: itself)."""
        if row is None:
            return self
        localized = copy.copy(self)
        localized.label = row.label or self.label
        localized.help_text = row.help_text or self.help_text
        localized._shown_choices = [
            line.strip() for line in row.choices.splitlines() if line.strip()
        ]
        return localized


class RegistrationTranslation(PerLocaleValues, Orderable):
    """The introduction, or one field's texts, in one language."""

    settings = ParentalKey(
        RegistrationSettings, on_delete=models.CASCADE, related_name="translations"
    )
    field_name = models.CharField(
        _("field"),
        max_length=64,
        blank=True,
        help_text=_("The name of the field translated here; empty: the introduction."),
    )
    label = models.CharField(_("label"), max_length=255, blank=True)
    help_text = models.CharField(_("help text"), max_length=255, blank=True)
    choices = models.TextField(
        _("choices"), blank=True, help_text=_("One choice per line, in the field's order.")
    )
    intro = models.TextField(_("introduction"), blank=True)

    panels = [
        FieldPanel("locale"),
        FieldPanel("field_name"),
        FieldPanel("intro"),
        FieldPanel("label"),
        FieldPanel("help_text"),
        FieldPanel("choices"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("registration texts in another language")
        constraints = [
            models.UniqueConstraint(
                fields=["settings", "locale", "field_name"], name="guestpay_registration_text_once"
            )
        ]

    def __str__(self):
        return self.field_name or str(_("introduction"))

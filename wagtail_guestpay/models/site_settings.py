from django.core.validators import RegexValidator
from django.db import models
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.models import Orderable


@register_setting(icon="mail")
class MerchantContacts(BaseSiteSetting):
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
    ]

    class Meta:
        verbose_name = _("merchant contacts")

    @property
    def is_empty(self):
        return not any([self.name, self.email, self.phone, self.website, self.address])


@register_setting(icon="form")
class RegistrationSettings(ClusterableModel, BaseSiteSetting):
    """The extra fields a buyer fills when registering or completing a new account."""

    intro = models.TextField(
        _("introduction"), blank=True, help_text=_("Shown above the registration fields.")
    )

    panels = [FieldPanel("intro"), InlinePanel("fields", label=_("Fields"))]

    class Meta:
        verbose_name = _("registration fields")


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

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from wagtail_guestpay.blocks import BODY_BLOCKS
from wagtail_guestpay.mixins import GuestPayProductMixin


class HomePage(Page):
    body = StreamField(BODY_BLOCKS, blank=True)

    content_panels = Page.content_panels + [FieldPanel("body")]


class CoursePage(GuestPayProductMixin, Page):
    """The sandbox's product: a course whose lessons only its buyers see."""

    intro = models.TextField(blank=True)
    lessons = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("lessons")]

import itertools
import secrets
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from wagtail.models import Site

from home.models import CoursePage
from wagtail_guestpay.models import Offer, OfferProduct, ProviderAccount


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TestProviderAccountFactory(factory.django.DjangoModelFactory):
    __test__ = False  # not a pytest test class

    class Meta:
        model = ProviderAccount
        skip_postgeneration_save = True

    name = "TestPay"
    kind = "test"

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        obj.set_secrets({"signing_secret": extracted or secrets.token_urlsafe(24)})
        if create:
            obj.save()


_page_numbers = itertools.count(1)


def course_page(title="Course"):
    """A live CoursePage (the sandbox's product type) under the default site's root page."""
    root = Site.objects.get(is_default_site=True).root_page
    number = next(_page_numbers)
    return root.add_child(
        instance=CoursePage(title=title, slug=f"course-{number}", lessons="<p>Lesson one</p>")
    )


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Offer {n}")
    slug = factory.Sequence(lambda n: f"offer-{n}")
    price = Decimal("49.00")
    currency = "EUR"
    provider_account = factory.SubFactory(TestProviderAccountFactory)
    guest_payment = True

    @factory.post_generation
    def products(obj, create, extracted, **kwargs):
        if not create:
            return
        pages = extracted if extracted is not None else [course_page(f"Course of {obj.title}")]
        for page in pages:
            OfferProduct.objects.create(offer=obj, page=page)

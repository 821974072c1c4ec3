"""Hostile input at every public endpoint of the app (found from the URLconf, so endpoints
that land later are fuzzed too): random path arguments, methods, bodies, content types, query
strings and headers never produce a 5xx and never change anything. Then the specific rules:
access links single-use, expiring and never consumed by a GET; no answer tells whether an
address has an account (the new-link form, the registration form and its code page); rate
limits on activation and on new-link requests; no open redirect through any next/return
parameter; CSRF on every form."""

import re
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import UserFactory
from wagtail_guestpay.models import (
    AccessGrant,
    AccessLink,
    Contact,
    Order,
    OutboundEmail,
    Payment,
    PaymentEvent,
    PendingRegistration,
)
from wagtail_guestpay.testprovider.models import TestCharge

pytestmark = pytest.mark.django_db
User = get_user_model()

HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EVIL = [
    "https://evil.example/",
    "//evil.example/",
    "http://evil.example@testserver/",
    "/\\evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "http://testserver.evil.example/",
    "\\\\evil.example",
]
REDIRECT_PARAMS = [
    "next",
    "return",
    "return_url",
    "returnUrl",
    "redirect",
    "redirect_to",
    "success_url",
    "cancel_url",
    "url",
    "continue",
    "back",
]


def state():
    return (
        list(Order.objects.order_by("pk").values_list("pk", "status", "email", "user_id")),
        list(Payment.objects.order_by("pk").values_list("pk", "status")),
        User.objects.count(),
        Contact.objects.count(),
        AccessGrant.objects.count(),
        OutboundEmail.objects.count(),
        PaymentEvent.objects.filter(signature_valid=True).count(),
        list(AccessLink.objects.order_by("pk").values_list("pk", "used_at")),
        list(TestCharge.objects.order_by("pk").values_list("pk", "status")),
        list(
            PendingRegistration.objects.order_by("pk").values_list(
                "pk", "status", "attempts", "codes_requested", "codes_sent"
            )
        ),
    )


# The endpoints, from the URLconf ---------------------------------------------------------
def public_routes():
    """``(name, route, converters)`` of every URL of the app (namespace wagtail_guestpay)."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    route,
                    f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace,
                )
            elif isinstance(pattern, URLPattern):
                found.append((f"{namespace}:{pattern.name}", route))

    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "wagtail_guestpay":
            walk(pattern.url_patterns, str(pattern.pattern), "wagtail_guestpay")
    return found


ROUTES = public_routes()
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
VALUES = {
    "uuid": st.uuids().map(str),
    "slug": st.from_regex(r"[-a-zA-Z0-9_]{1,80}", fullmatch=True),
    "str": st.text(min_size=1, max_size=300).filter(lambda s: "/" not in s),
    "int": st.integers(0, 10**12).map(str),
    None: st.text(min_size=1, max_size=100).filter(lambda s: "/" not in s),
}


@st.composite
def paths(draw, route):
    def fill(match):
        return quote(draw(VALUES.get(match.group(1), VALUES["str"])), safe="")

    return "/" + ARGUMENT.sub(fill, route)


def test_the_fuzzed_endpoints_are_the_app_s_endpoints():
    names = {name for name, _route in ROUTES}
    assert {
        "wagtail_guestpay:pay",
        "wagtail_guestpay:notify",
        "wagtail_guestpay:order",
        "wagtail_guestpay:access_link",
        "wagtail_guestpay:request_link",
        "wagtail_guestpay:checkout",
        "wagtail_guestpay:testprovider:hosted",
    } <= names


QUERY = st.dictionaries(
    st.sampled_from(["next", "cancelled", "session_id", "token", "x", "a[]", "email", "status"]),
    st.text(max_size=60),
    max_size=3,
)
FORM = st.dictionaries(
    st.sampled_from(
        [
            "email",
            "password1",
            "password2",
            "outcome",
            "name",
            "csrfmiddlewaretoken",
            "reg_phone",
            "x",
        ]
    ),
    st.text(max_size=80),
    max_size=5,
)


@pytest.mark.parametrize("name,route", ROUTES, ids=[name for name, _r in ROUTES])
def test_random_requests_never_5xx_and_change_nothing(name, route, offer, members_offer):
    client = Client(raise_request_exception=False)
    staff = Client(raise_request_exception=False)
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    before = state()

    @HYPOTHESIS
    @given(
        path=paths(route),
        method=st.sampled_from(["get", "post", "head", "put", "delete", "options"]),
        query=QUERY,
        form=FORM,
        raw=st.binary(max_size=200),
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain",
                "multipart/form-data; boundary=b",
                "",
            ]
        ),
        as_staff=st.booleans(),
    )
    def run(path, method, query, form, raw, content_type, as_staff):
        who = staff if as_staff else client
        if query:
            from urllib.parse import urlencode

            path = f"{path}?{urlencode(query)}"
        if method == "post" and content_type == "application/x-www-form-urlencoded":
            response = who.post(path, form)
        elif method in ("post", "put"):
            response = getattr(who, method)(path, data=raw, content_type=content_type)
        else:
            response = getattr(who, method)(path)
        assert response.status_code < 500, (method, path, response.status_code)
        assert state() == before, (method, path)

    run()


# Access links ------------------------------------------------------------------------------
@pytest.fixture
def link(offer, testpay, run_on_commit, outbox):
    _order, payment, _charge = testpay.start(offer)
    testpay.notify(payment, "paid", email="linkowner@example.com")
    line = next(line for line in outbox[0].body.splitlines() if "/guestpay/access/" in line)
    return line.strip().removeprefix("http://testserver")


def test_no_get_ever_consumes_an_access_link(client, link):
    @HYPOTHESIS
    @given(
        query=QUERY,
        purpose=st.sampled_from(["", "prefetch", "prerender"]),
        agent=st.sampled_from(["Mozilla/5.0", "Outlook-SafeLinks", "curl/8", ""]),
        method=st.sampled_from(["get", "head", "options"]),
    )
    def run(query, purpose, agent, method):
        response = getattr(client, method)(link, query, HTTP_PURPOSE=purpose, HTTP_USER_AGENT=agent)
        assert response.status_code < 500
        assert AccessLink.objects.get().used_at is None

    run()
    assert "_auth_user_id" not in client.session
    assert client.post(link).status_code == 302  # still usable, once
    assert client.post(link).status_code == 410
    assert Client().post(link).status_code == 410


def test_an_expired_link_is_refused_by_get_and_post(client, link):
    AccessLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(link).status_code == 410
    assert client.post(link).status_code == 410
    assert AccessLink.objects.get().used_at is None


def test_tampered_links_are_410_and_consume_nothing(client, link, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (1000, 600)
    token = link.rstrip("/").rsplit("/", 1)[1]

    @HYPOTHESIS
    @given(at=st.integers(0, len(token) - 1), char=st.sampled_from("AbZ9_-x"))
    def run(at, char):
        tampered = token[:at] + char + token[at + 1 :]
        if tampered == token:
            return
        assert client.post(f"/guestpay/access/{tampered}/").status_code == 410
        assert AccessLink.objects.get().used_at is None

    run()


# Nothing tells whether an address has an account -------------------------------------------
def _page_text(response):
    """The visible answer, without the per-response CSRF token and without the page's own path
    (the sandbox's language switcher and "Log in" link send the visitor back to it)."""
    content = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    content = re.sub(rb'href="(/guestpay/login/)\?next=[^"]*"', rb'href="\1"', content)
    return re.sub(rb'name="next" type="hidden" value="[^"]*"', b"", content)


def test_new_link_requests_answer_the_same_whatever_the_address(client, link, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (1000, 600)
    UserFactory(email="haspassword@example.com")
    answers = {}
    for email in [
        "linkowner@example.com",
        "haspassword@example.com",
        "nobody@example.com",
        "LINKOWNER@EXAMPLE.COM",
    ]:
        response = client.post("/guestpay/access/new-link/", {"email": email})
        answers[email] = (
            response.status_code,
            _page_text(response),
            tuple(sorted(response.cookies.keys())),
        )
    assert len(set(answers.values())) == 1, answers


def test_dead_links_answer_the_same_for_every_kind_of_account(client, link):
    """A used link, a link of an account that has a password and a link that never existed all
    give the same page."""
    client.post(link)
    used = Client().post(link)
    never = Client().post("/guestpay/access/" + "A" * 43 + "/")
    assert used.status_code == never.status_code == 410
    assert _page_text(used) == _page_text(never)


# Rate limits -------------------------------------------------------------------------------
def test_activation_is_rate_limited_per_client(client, link, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (3, 600)
    codes = [client.post(f"/guestpay/access/{'x' * 40}{i}/").status_code for i in range(4)]
    assert codes == [410, 410, 410, 429]
    assert client.post(link).status_code == 429  # even the right token, once over budget
    assert AccessLink.objects.get().used_at is None
    assert Client(REMOTE_ADDR="10.9.8.7").post(link).status_code == 302  # another client


def test_new_link_requests_are_rate_limited_per_address_across_clients(
    client, db, settings, run_on_commit
):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (2, 600)
    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{i}")
        .post("/guestpay/access/new-link/", {"email": "target@example.com"})
        .status_code
        for i in range(1, 5)
    ]
    assert codes == [200, 200, 429, 429]


def test_registration_is_rate_limited(client, members_offer, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (2, 600)
    codes = [
        client.post(members_offer.get_checkout_path(), {"email": "bad"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


# Open redirects ----------------------------------------------------------------------------
def _offsite(location):
    if not location:
        return False
    parts = urlsplit(location.replace("\\", "/"))
    return (
        bool(parts.netloc)
        and parts.netloc not in ("testserver",)
        or location.lower().startswith(("javascript:", "//", "/\\", "\\"))
    )


def test_no_open_redirect_through_any_parameter(
    client, offer, members_offer, link, testpay, run_on_commit
):
    order_path = (
        TestCharge.objects.order_by("pk").first().return_url.removeprefix("http://testserver")
    )
    token = order_path.rstrip("/").rsplit("/", 1)[1]
    targets = [
        ("get", offer.get_pay_path()),
        ("get", members_offer.get_pay_path()),
        ("get", offer.get_checkout_path()),
        ("get", members_offer.get_checkout_path()),
        ("post", members_offer.get_checkout_path()),
        ("get", order_path),
        ("get", order_path + "status/"),
        ("post", f"/guestpay/order/{token}/retry/"),
        ("get", link),
        ("post", "/guestpay/access/new-link/"),
        ("get", "/guestpay/account/"),
        ("get", "/guestpay/account/setup/"),
        ("get", "/guestpay/login/"),
        ("get", "/guestpay/login/code/"),
        ("get", "/guestpay/password-reset/"),
        ("get", members_offer.get_checkout_path() + "code/"),
        ("post", members_offer.get_checkout_path() + "code/"),
        ("post", members_offer.get_checkout_path() + "code/new/"),
        ("post", "/guestpay/login/"),
        ("post", "/guestpay/password-reset/"),
    ]
    for method, path in targets:
        for param in REDIRECT_PARAMS:
            for evil in EVIL:
                query = {param: evil}
                if method == "get":
                    response = Client().get(path, query)
                else:
                    response = Client().post(
                        f"{path}?{param}={quote(evil, safe='')}",
                        {**query, "username": "x", "password": "y"},
                    )
                location = response.headers.get("Location", "")
                assert not _offsite(location), (method, path, param, evil, location)
    # The buyer lands on the order's own page after a successful access-link POST too.
    response = client.post(f"{link}?next=https://evil.example/", {"next": "https://evil.example/"})
    assert response.status_code == 302 and not _offsite(response["Location"])


def test_a_forged_host_header_cannot_steer_provider_urls(client, offer, settings):
    settings.WAGTAIL_GUESTPAY_BASE_URL = ""
    response = client.get(offer.get_pay_path(), HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert not Order.objects.exists()


# CSRF on every form ------------------------------------------------------------------------
def test_every_form_needs_its_csrf_token(
    offer, members_offer, link, testpay, run_on_commit, admin_user, client
):
    """Each form the app serves, posted from a browser that has a session and the CSRF cookie but
    not the token: 403 and nothing changes."""
    client.get(offer.get_pay_path())
    charge = TestCharge.objects.order_by("-pk").first()
    order_path = charge.return_url.removeprefix("http://testserver")
    token = order_path.rstrip("/").rsplit("/", 1)[1]
    payment = Payment.objects.get(reference=charge.reference)
    testpay.notify(payment, "declined")  # so that the retry form is offered

    client.get(offer.get_pay_path())
    fresh = TestCharge.objects.order_by("-pk").first()  # a hosted page still awaiting the buyer
    setup_client = Client()
    assert setup_client.post(link).status_code == 302  # a session in account set-up
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(admin_user)
    pending = TestCharge.objects.create(
        account=charge.account,
        reference="GPCSRFPENDING",
        amount=1,
        currency="EUR",
        status="pending",
        return_url="http://testserver/",
        cancel_url="http://testserver/",
        notify_url="http://testserver/",
    )

    forms = {
        "checkout registration": (
            Client(enforce_csrf_checks=True),
            members_offer.get_checkout_path(),
            {
                "email": "csrf@example.com",
                "password1": "Long-pass-12345",
                "password2": "Long-pass-12345",
            },
        ),
        "order retry": (Client(enforce_csrf_checks=True), f"/guestpay/order/{token}/retry/", {}),
        "access link": (Client(enforce_csrf_checks=True), link, {}),
        "account set-up": (
            setup_client,
            "/guestpay/account/setup/",
            {"password1": "Long-pass-12345", "password2": "Long-pass-12345"},
        ),
        "new link request": (
            Client(enforce_csrf_checks=True),
            "/guestpay/access/new-link/",
            {"email": "linkowner@example.com"},
        ),
        "test provider page": (
            Client(enforce_csrf_checks=True),
            f"/guestpay/test-provider/pay/{fresh.public_id}/",
            {"outcome": "paid", "email": "csrf@example.com"},
        ),
        "test provider dashboard": (
            staff,
            f"/guestpay/test-provider/charges/{pending.public_id}/confirm/",
            {},
        ),
        "login": (
            Client(enforce_csrf_checks=True),
            "/guestpay/login/",
            {"action": "password", "email": "linkowner@example.com", "password": "x"},
        ),
        "sign-in code": (
            Client(enforce_csrf_checks=True),
            "/guestpay/login/",
            {"action": "code", "email": "linkowner@example.com"},
        ),
        "password reset": (
            Client(enforce_csrf_checks=True),
            "/guestpay/password-reset/",
            {"email": "linkowner@example.com"},
        ),
    }
    setup_client.handler.enforce_csrf_checks = True
    before = state()
    for label, (who, path, data) in forms.items():
        who.get(path)  # the CSRF cookie, as a browser that opened the page has it
        response = who.post(path, data)
        assert response.status_code == 403, (label, response.status_code)
    assert state() == before


def test_registration_does_not_tell_whether_an_address_has_an_account(
    client, members_offer, user, run_on_commit, outbox
):
    """Offers without guest payment: the registration form, the code page it leads to and a
    wrong code get the same answers for an address that has an account and one that has none;
    only the e-mail (to the mailbox's owner) differs. Nobody is logged in, nothing is created."""
    data = {"password1": "Long-pass-12345", "password2": "Long-pass-12345"}
    answers = {}
    for email in (user.email, "free@example.com"):
        browser = Client()
        sent = browser.post(members_offer.get_checkout_path(), {**data, "email": email})
        run_on_commit()
        page = browser.get(sent["Location"])
        wrong = browser.post(sent["Location"], {"code": "000000"})
        if email != user.email:  # (one chance in a million that the code is 000000)
            assert "Your code:" in outbox[-1].body and "000000" not in outbox[-1].body
        answers[email] = [
            (
                response.status_code,
                response.headers.get("Location"),
                _page_text(response).replace(email.encode(), b"EMAIL"),
                tuple(sorted(response.cookies.keys())),
            )
            for response in (sent, page, wrong)
        ]
        assert "_auth_user_id" not in browser.session
    assert answers[user.email] == answers["free@example.com"]
    assert answers[user.email][0][:2] == (303, members_offer.get_checkout_path() + "code/")
    assert User.objects.count() == 1 and not Order.objects.exists()
    assert sorted(message.to[0] for message in outbox) == [
        "existing@example.com",
        "free@example.com",
    ]


# Views allowed to take POSTs without a CSRF token, and why.
CSRF_EXEMPT = {
    "wagtail_guestpay:notify": "providers' servers call it; the signature protects it",
    "wagtail_guestpay:order": "Fondy and WayForPay send the buyer back with a cross-site form "
    "POST; its body is ignored and the answer is a 303 to the same page by GET",
}


@pytest.mark.parametrize("name,route", ROUTES, ids=[name for name, _r in ROUTES])
def test_every_post_needs_a_csrf_token_except_provider_callbacks(name, route, offer, admin_user):
    """Any POST to any URL of the app (including ones added later, e.g. the claim forms) is
    refused without the CSRF token, except the endpoints providers' servers call."""
    from django.urls import resolve

    path = "/" + ARGUMENT.sub(
        lambda m: {"uuid": "00000000-0000-0000-0000-000000000000", "slug": offer.slug}.get(
            m.group(1), "x" * 43
        ),
        route,
    )
    callback = resolve(path).func
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    browser.get("/guestpay/access/new-link/")  # the CSRF cookie, but no token in the form
    before = state()
    response = browser.post(path, {"email": "csrf@example.com", "outcome": "paid"})
    if getattr(callback, "csrf_exempt", False):
        assert name in CSRF_EXEMPT, (
            f"{name} is csrf_exempt: add it to CSRF_EXEMPT with the reason if that is meant "
            "(e.g. a provider's browser return that POSTs from the provider's page)"
        )
        assert response.status_code != 403
    else:
        assert response.status_code == 403, (name, response.status_code)
    assert state() == before


# Forms with real targets: random input never breaks them ---------------------------------
TEXT = st.text(max_size=120) | st.sampled_from(
    ["", " ", "a@b", "x@example.com", "\x00", "A" * 5000, "<script>", "é@example.com"]
)


def test_registration_form_takes_any_input_without_5xx(client, members_offer, settings):
    settings.WAGTAIL_GUESTPAY_RATE_LIMIT = (10_000, 600)

    @HYPOTHESIS
    @given(email=TEXT, password1=TEXT, password2=TEXT, extra=FORM)
    def run(email, password1, password2, extra):
        users, orders = User.objects.count(), Order.objects.count()
        response = Client(raise_request_exception=False).post(
            members_offer.get_checkout_path(),
            {**extra, "email": email, "password1": password1, "password2": password2},
        )
        assert response.status_code in (200, 303), response.status_code
        if response.status_code == 200:  # refused: the form again, nothing made
            assert (User.objects.count(), Order.objects.count()) == (users, orders)

    run()


def test_account_setup_form_takes_any_input_without_5xx(link, settings):
    browser = Client(raise_request_exception=False)
    assert browser.post(link).status_code == 302

    @HYPOTHESIS
    @given(password1=TEXT, password2=TEXT, extra=FORM)
    def run(password1, password2, extra):
        response = browser.post(
            "/guestpay/account/setup/", {**extra, "password1": password1, "password2": password2}
        )
        assert response.status_code in (200, 302, 410), response.status_code

    run()


def test_test_provider_page_takes_any_input_without_5xx(client, offer):
    client.get(offer.get_pay_path())
    charge = TestCharge.objects.get()
    path = f"/guestpay/test-provider/pay/{charge.public_id}/"
    browser = Client(raise_request_exception=False)

    @HYPOTHESIS
    @given(
        outcome=TEXT | st.sampled_from(["paid", "pending", "declined", "cancel"]),
        email=TEXT,
        name=TEXT,
    )
    def run(outcome, email, name):
        response = browser.post(path, {"outcome": outcome, "email": email, "name": name})
        assert response.status_code in (200, 302), response.status_code

    run()

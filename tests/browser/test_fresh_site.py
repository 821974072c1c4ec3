"""Issue 10's "Done when": the built wheel in a fresh `wagtail start` site, set up with only the
README's install snippet, sells a course to a guest who later signs in again.

What the test adds to the README's lines, as a host developer following its words would:
- the ``courses`` app (``startapp``, added to INSTALLED_APPS) with the README's ``CoursePage``,
  a template for it and its migration;
- the README's "Try it with the test payment system" lines, in ``mysite/settings/local.py``
  (which ``wagtail start``'s dev settings import), with this run's port as the base URL: TestPay
  and the file-based e-mail backend, whose files the test reads;
- what an editor would click in the admin (a TestPay account, result pages, an offer with payment
  without login, its offer page), as one ``manage.py shell`` script.

The package comes only from the wheel built from this tree (installed with ``--no-deps`` into a
virtualenv of its own, checked below); its dependencies (Django, Wagtail...) are the test
environment's, at the versions ``make test`` installed, reached through a ``.pth`` file: no
network, no second install of Wagtail. The wheel and its virtualenv are built once per pytest
session. The site runs ``runserver`` and ``qcluster`` on a free port; ``migrate`` and both
servers skip the system checks, which :func:`test_check_is_clean` asserts on its own, so that a
failing check names itself instead of stopping every step.

The tests run in order and share the site: pay as a guest, the access e-mail, set a password,
sign out, sign in with an e-mailed code, sign out, reset the password, sign in with it, open the
course; then pay again as a guest with the same address. Every link of every e-mail is fetched
when the e-mail arrives (before a single-use link is used) and must answer 200 or 3xx.
Screenshots at 1280 and 390 px go to ``<site>/screenshots`` (GUESTPAY_KEEP_BROWSER_SANDBOX=1
keeps the folder; its path is printed).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect

from tests.browser import processes
from tests.browser.conftest import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
EMAIL = "fresh.buyer@example.com"
PASSWORDS = ("a-long-passphrase-9", "another-long-phrase-7")
WIDTHS = (1280, 390)


# The README's lines -------------------------------------------------------------------------------
def readme_block(first_line):
    """The README's ```python block whose first line is ``first_line``."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    found = [block for block in blocks if block.splitlines()[0].strip() == first_line]
    assert len(found) == 1, f"README.md has no single python block starting {first_line!r}"
    return found[0]


def try_it_block():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    found = [block for block in blocks if "wagtail_guestpay.testprovider" in block]
    assert len(found) == 1, "README.md has no single block installing the test provider"
    return found[0]


COURSE_TEMPLATE = """{% extends "base.html" %}
{% load wagtailcore_tags %}
{% block content %}<h1>{{ page.title }}</h1>{{ page.lessons|richtext }}{% endblock %}
"""

SHOP = """
import secrets
from wagtail.models import Site
from courses.models import CoursePage
from wagtail_guestpay.models import (
    Offer, OfferPage, OfferProduct, PaymentResultPage, ProviderAccount)

home = Site.objects.get(is_default_site=True).root_page
course = home.add_child(instance=CoursePage(
    title="Python course", slug="python-course-lessons", lessons="<p>Lesson one: welcome!</p>"))
account = ProviderAccount(name="TestPay", kind="test")
account.set_secrets({"signing_secret": secrets.token_urlsafe(32)})
account.save()
success = home.add_child(instance=PaymentResultPage(
    title="Thank you", slug="thank-you", kind="success", body=[("order_status", None)]))
failure = home.add_child(instance=PaymentResultPage(
    title="Not paid", slug="not-paid", kind="failure", body=[("order_status", None)]))
offer = Offer.objects.create(
    slug="python-course", title="Python course", price="49.00", currency="EUR",
    provider_account=account, guest_payment=True, success_page=success, failure_page=failure)
OfferProduct.objects.create(offer=offer, page=course)
home.add_child(instance=OfferPage(title="Python course", slug="python-course", offer=offer))
"""


# The wheel, its virtualenv and the site -----------------------------------------------------------
@pytest.fixture(scope="session")
def wheel_python(tmp_path_factory):
    """A virtualenv's python holding the wheel built from this tree, and nothing else of it."""
    work = tmp_path_factory.mktemp("guestpay-wheel")
    source = work / "source"  # a copy: building in the tree would leave build/ and egg-info there
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "wagtail_guestpay",
        source / "wagtail_guestpay",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(work / "dist"),
            str(source),
        ]
    )
    (wheel,) = (work / "dist").glob("wagtail_guestpay-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )
    purelib = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
    )
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "zz_test_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    where = run(
        [str(python), "-c", "import wagtail_guestpay; print(wagtail_guestpay.__file__)"], cwd=work
    )
    assert where.startswith(str(purelib)), f"wagtail_guestpay not from the wheel: {where}"
    return python


def run(args, cwd=None, env=None):
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


class FreshSite:
    def __init__(self, python, folder, port):
        self.python = python
        self.folder = folder
        self.dir = folder / "site"
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.mail_dir = self.dir / "sent-mail"
        self.screenshots = folder / "screenshots"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="mysite.settings.dev",
            PYTHONUNBUFFERED="1",
            GUESTPAY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        )
        self.processes = []
        self.checked = set()  # e-mails whose links were fetched

    def manage(self, *args):
        return run([str(self.python), "manage.py", *args], cwd=self.dir, env=self.env)

    def shell(self, code):
        return self.manage("shell", "--no-imports", "-c", code)

    def reverse(self, name):
        return self.shell(f"from django.urls import reverse; print(reverse({name!r}))").strip()

    def build(self):
        self.dir.mkdir()
        run(
            [
                str(self.python),
                "-c",
                "from wagtail.bin.wagtail import main; main()",
                "start",
                "mysite",
                str(self.dir),
            ],
            cwd=self.folder,
            env={k: v for k, v in self.env.items() if k != "DJANGO_SETTINGS_MODULE"},
        )
        self.manage("startapp", "courses")
        (self.dir / "courses" / "models.py").write_text(readme_block("# courses/models.py"))
        templates = self.dir / "courses" / "templates" / "courses"
        templates.mkdir(parents=True)
        (templates / "course_page.html").write_text(COURSE_TEMPLATE)
        settings = self.dir / "mysite" / "settings"
        with open(settings / "base.py", "a") as base:
            base.write("\n" + readme_block("# settings.py") + '\nINSTALLED_APPS += ["courses"]\n')
        (settings / "local.py").write_text(
            "from .base import *  # noqa\n\n"
            + try_it_block()
            + f'\nWAGTAIL_GUESTPAY_BASE_URL = "{self.url}"\n'
        )
        urls = self.dir / "mysite" / "urls.py"
        text = urls.read_text()
        catch_all = "urlpatterns = urlpatterns + ["
        assert text.count(catch_all) == 1, "wagtail start's urls.py changed"
        urls.write_text(text.replace(catch_all, readme_block("# urls.py") + "\n" + catch_all))
        self.manage("makemigrations", "courses", "--skip-checks")
        self.manage("migrate", "--noinput", "--skip-checks")
        self.shell(SHOP)

    def start(self):
        manage = [str(self.python), "manage.py"]
        self.processes = processes.start(
            {
                "web": [
                    *manage,
                    "runserver",
                    "--noreload",
                    "--skip-checks",
                    f"127.0.0.1:{self.port}",
                ],
                "worker": [*manage, "qcluster", "--skip-checks"],
            },
            self.folder / "logs",
            self.url,
            cwd=self.dir,
            env=self.env,
        )

    def stop(self):
        processes.stop(self.processes)

    def log(self, name):
        path = self.folder / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # E-mail (Django's file backend: one file per connection, messages split by a dashed line)
    def messages(self):
        found = []
        for path in sorted(self.mail_dir.glob("*.log")) if self.mail_dir.exists() else []:
            for part in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if part.strip():
                    found.append(message_from_bytes(part.lstrip(), policy=default_policy))
        return found

    def wait_for_mail(self, address, count, timeout=90, check_links=True):
        """The ``count``-th e-mail to ``address``, its links fetched first unless told not to
        (then the caller fetches them, once its own assertions are made)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages() if address in str(m["To"]).lower()]
            if len(found) >= count:
                for message in found if check_links else found[: count - 1]:
                    self.check_links(message)
                return found[count - 1]
            time.sleep(0.3)
        raise AssertionError(f"No e-mail {count} to {address}.\nworker log:\n{self.log('worker')}")

    def links(self, message):
        text = "\n".join(
            part.get_content()
            for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")
        )
        return {link.rstrip(".,;)") for link in re.findall(r"https?://[^\s\"'<>]+", text)}

    def check_links(self, message):
        if message["Message-ID"] in self.checked:
            return
        for link in self.links(message):
            assert link.startswith(self.url), f"{link} in {message['Subject']!r} is elsewhere"
            status = httpx.get(link.replace("&amp;", "&"), timeout=30).status_code
            assert 200 <= status < 400, f"{link} in {message['Subject']!r} answered {status}"
        self.checked.add(message["Message-ID"])

    def link_in(self, message, pattern):
        found = [link for link in self.links(message) if re.search(pattern, link)]
        assert found, f"No link matching {pattern} in:\n{message.get_body(('plain',))}"
        return found[0]

    def screenshot(self, page, name):
        self.screenshots.mkdir(exist_ok=True)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(self.screenshots / f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})


@pytest.fixture(scope="module")
def site(wheel_python):
    folder = Path(tempfile.mkdtemp(prefix="guestpay-fresh-site-"))
    fresh = FreshSite(wheel_python, folder, free_port())
    fresh.build()
    fresh.start()
    yield fresh
    fresh.stop()
    if os.environ.get("GUESTPAY_KEEP_BROWSER_SANDBOX"):
        print(f"\nFresh site and screenshots kept in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def buyer(browser):
    """The buyer's browser, kept across the ordered steps below."""
    context = browser.new_context(locale="en-US", viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(30_000)  # a bound for a loaded 2-core machine
    yield context.new_page()
    context.close()


def pay_as_guest(page, site):
    page.goto(site.url + "/python-course/")
    site.screenshot(page, "offer-page")
    page.get_by_role("link", name="Pay 49.00 EUR").click()
    expect(page.get_by_text("TestPay: a test payment system")).to_be_visible()
    page.get_by_label("E-mail for the receipt").fill(EMAIL.upper())
    page.get_by_role("button", name="Pay (card, e-mail returned)").click()
    expect(page.get_by_role("heading", name="Payment received, thank you!")).to_be_visible(
        timeout=30_000
    )


# The steps ------------------------------------------------------------------------------------------
def test_check_is_clean(site):
    """``manage.py check`` with only the README's lines: no error, no warning of the package."""
    result = subprocess.run(
        [str(site.python), "manage.py", "check"],
        cwd=site.dir,
        env=site.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "wagtail_guestpay." not in result.stdout + result.stderr


def test_a_guest_pays_sets_a_password_and_opens_the_course(site, buyer):
    page = buyer
    course = site.url + "/python-course-lessons/"
    assert httpx.get(course).status_code == 403  # locked: the offer is on it
    page.goto(course)
    site.screenshot(page, "locked-course")
    pay_as_guest(page, site)
    site.screenshot(page, "result-page")

    access = site.link_in(site.wait_for_mail(EMAIL, 1), r"/guestpay/access/")
    page.goto(access)
    site.screenshot(page, "access-link")
    page.get_by_role("button", name="Continue to my account").click()
    page.get_by_label("Password", exact=True).fill(PASSWORDS[0])
    page.get_by_label("Password again").fill(PASSWORDS[0])
    site.screenshot(page, "set-password")
    page.get_by_role("button", name="Open my personal area").click()
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    site.screenshot(page, "personal-area")
    page.get_by_role("link", name="Python course").first.click()
    expect(page.get_by_text("Lesson one: welcome!")).to_be_visible()
    assert page.goto(course).status == 200


def test_signs_out_in_with_a_code_resets_the_password_and_signs_in_with_it(site, buyer):
    """The package's own account pages (URL names wagtail_guestpay:login, login_code, logout,
    password_reset..., docs/how-to/buyer-accounts.md), inside the fresh site's base.html."""
    page = buyer
    course = site.url + "/python-course-lessons/"
    login = site.url + site.reverse("wagtail_guestpay:login")

    page.goto(site.url + site.reverse("wagtail_guestpay:account"))
    page.get_by_role("button", name="Log out").first.click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    assert page.goto(course).status == 403
    page.get_by_role("link", name="Log in").first.click()
    assert page.url.startswith(login)
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    site.screenshot(page, "login")

    by_code = page.get_by_role("region", name="With a code by e-mail")
    by_code.get_by_label("E-mail").fill(EMAIL)
    by_code.get_by_role("button", name="E-mail me a sign-in code").click()
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    site.screenshot(page, "login-code")
    message = site.wait_for_mail(EMAIL, 2)
    code = re.search(r"Your code: (\d{6})", message.get_body(("plain",)).get_content()).group(1)
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Lesson one: welcome!")).to_be_visible()  # back where it started

    page.goto(site.url + site.reverse("wagtail_guestpay:account"))
    site.screenshot(page, "personal-area-signed-in")
    page.get_by_role("button", name="Log out").first.click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()

    page.goto(login)
    page.get_by_role("link", name="Forgot your password?").click()
    assert page.url.startswith(site.url + site.reverse("wagtail_guestpay:password_reset"))
    site.screenshot(page, "password-reset")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    reset = site.link_in(site.wait_for_mail(EMAIL, 3), r"/guestpay/password-reset/")
    page.goto(reset)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    site.screenshot(page, "password-reset-confirm")
    page.get_by_label("New password", exact=True).fill(PASSWORDS[1])
    page.get_by_label("New password confirmation").fill(PASSWORDS[1])
    page.get_by_role("button", name="Save my password").click()
    expect(page.get_by_role("heading", name="Your new password is saved")).to_be_visible()

    page.goto(login)
    by_password = page.get_by_role("region", name="With your password")
    by_password.get_by_label("E-mail").fill(EMAIL)
    by_password.get_by_label("Password").fill(PASSWORDS[1])
    by_password.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My purchases")).to_be_visible()
    assert page.goto(course).status == 200
    page.goto(site.url + "/python-course/")  # the offer: already theirs, nothing to pay
    expect(page.get_by_text("You have this:")).to_be_visible()
    assert page.get_by_role("link", name="Pay 49.00 EUR").count() == 0
    site.screenshot(page, "offer-page-already-yours")
    page.get_by_role("link", name="open it").click()
    expect(page.get_by_text("Lesson one: welcome!")).to_be_visible()
    page.goto(site.url + site.reverse("wagtail_guestpay:account"))  # the course page is the site's
    page.get_by_role("button", name="Log out").first.click()
    expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()


def test_a_guest_paying_again_is_served_flagged_and_not_signed_in(site, browser):
    context = browser.new_context(locale="en-US", viewport={"width": WIDTHS[0], "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    before = len([m for m in site.messages() if EMAIL in str(m["To"]).lower()])
    pay_as_guest(page, site)
    message = site.wait_for_mail(EMAIL, before + 1, check_links=False)  # no single-use link
    assert "/guestpay/access/" not in message.get_body(("plain",)).get_content()  # "it's there"

    orders = site.shell(
        textwrap.dedent("""
        from wagtail_guestpay.models import Order
        for order in Order.objects.order_by("pk"):
            print("|".join(str(value) for value in (
                order.email, order.status, order.bought_twice, order.attention, order.user_id)))
    """)
    )
    first, second = [line.split("|") for line in orders.splitlines() if line.strip()]
    assert first[:4] == [EMAIL, "paid", "False", ""]
    assert second[:4] == [EMAIL, "paid", "True", "bought_twice"]
    assert second[4] == first[4] != "None"  # the existing account got it
    account = site.url + "/guestpay/account/"
    assert page.context.request.get(account, max_redirects=0).status == 302  # nobody signed in
    page.goto(site.url + "/python-course-lessons/")
    site.screenshot(page, "locked-course-after-paying-again")
    context.close()
    site.check_links(message)


def test_every_link_of_every_email_answered(site):
    messages = site.messages()
    assert messages
    for message in messages:
        site.check_links(message)  # those not read by a step above (none expected)
    assert {m["Message-ID"] for m in messages} <= site.checked

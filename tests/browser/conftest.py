"""Browser tests: Debian's Chromium driven by Playwright against a real sandbox (web server and
django-q2 worker as subprocesses, its own SQLite file and mail folder), as a person would use it.

The sandbox is started once per test session on a free loopback port. Without Chromium the tests
are skipped with the reason (``make test`` installs it where it can).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from tests.browser import processes

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "sandbox" / "manage.py"
CHROMIUM = os.environ.get("GUESTPAY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """A running sandbox site: its URL, its mail folder and its manage.py."""

    def __init__(self, var_dir, port):
        self.var_dir = Path(var_dir)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "sandbox.settings",
            "GUESTPAY_VAR_DIR": str(self.var_dir),
            "GUESTPAY_BASE_URL": self.url,
            # Every test's buyer clicks Pay from 127.0.0.1: more than one visitor's budget.
            "GUESTPAY_PAY_BUDGET": "1000",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes = []

    @property
    def mail_dir(self):
        return self.var_dir / "mail"

    def manage(self, *args, check=True):
        return subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self):
        manage = [sys.executable, str(MANAGE)]
        self.processes = processes.start(
            {
                "web": [*manage, "runserver", "--noreload", f"127.0.0.1:{self.port}"],
                "worker": [*manage, "qcluster"],
            },
            self.var_dir / "logs",
            self.url,
            env=self.env,
        )

    def log(self, name):
        path = self.var_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        processes.stop(self.processes)

    # E-mail ---------------------------------------------------------------------------------
    def messages(self):
        if not self.mail_dir.exists():
            return []
        return [
            message_from_bytes(path.read_bytes(), policy=default_policy)
            for path in sorted(self.mail_dir.glob("*.eml"))
        ]

    def messages_to(self, address):
        return [m for m in self.messages() if address.lower() in str(m["To"]).lower()]

    def wait_for_mail(self, address, count=1, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found
            time.sleep(0.25)
        raise AssertionError(
            f"No e-mail to {address} within {timeout}s.\nworker log:\n{self.log('worker')[-3000:]}"
        )

    @staticmethod
    def text_of(message):
        return message.get_body(preferencelist=("plain",)).get_content()

    def link_in(self, message, path_part):
        match = re.search(
            rf"{re.escape(self.url)}\S*{re.escape(path_part)}\S*", self.text_of(message)
        )
        assert match, f"No {path_part} link in:\n{self.text_of(message)}"
        return match.group(0)


@pytest.fixture(scope="session")
def sandbox():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    var_dir = tempfile.mkdtemp(prefix="guestpay-browser-")
    site = Sandbox(var_dir, free_port())
    site.manage("migrate", "--noinput")
    site.manage("load_demo")
    site.start()
    yield site
    site.stop()
    if not os.environ.get("GUESTPAY_KEEP_BROWSER_SANDBOX"):
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session (Playwright's sync API runs one instance per thread): the
    sandbox's tests and test_fresh_site.py, which runs its own site, share it."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install chromium")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(30_000)  # a bound for a loaded 2-core machine, not a speed check
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def admin_password(sandbox):
    return (sandbox.var_dir / "admin-password.txt").read_text().strip()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep a screenshot of the page of a failed browser test (under the sandbox's var dir)."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    site = item.funcargs.get("sandbox") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and page is not None and site is not None:
        path = site.var_dir / f"failure-{item.name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", f"{path}\nURL: {page.url}"))
        except Exception as exc:  # the page may be gone
            report.sections.append(("screenshot", f"not taken: {exc}"))

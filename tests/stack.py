"""A running site as it is deployed: gunicorn web processes and django-q2 ``qcluster`` workers
as subprocesses on one database (an SQLite file, or a PostgreSQL database) and one broker (the
ORM broker, or Redis), on a free loopback port. Used by the multi-process tests and the benchmarks.

The test process reads the stack's database directly (SQL) to check what happened; it drives the
stack over HTTP, as a provider and a browser would.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
MANAGE = ROOT / "sandbox" / "manage.py"


class Stack:
    def __init__(
        self,
        var_dir,
        *,
        database_url="",
        redis_url="",
        web_workers=2,
        q_workers=2,
        settings="tests.stack_settings",
        env=None,
        worker_nice=0,
    ):
        self.var_dir = Path(var_dir)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.redis_url = redis_url
        self.web_workers = web_workers
        self.q_workers = q_workers
        self.worker_nice = worker_nice  # the qcluster's CPU priority below the web processes'
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sandbox")]),
            "GUESTPAY_VAR_DIR": str(self.var_dir),
            "GUESTPAY_BASE_URL": self.url,
            "GUESTPAY_Q_WORKERS": str(q_workers),
            "GUESTPAY_Q_NAME": f"stack{self.port}",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.web = None
        self.workers = []
        self._sqlite = None
        self._pg = None
        self._db_lock = threading.Lock()

    # Names ---------------------------------------------------------------------------------
    @property
    def vendor(self):
        return "postgresql" if self.database_url.startswith("postgres") else "sqlite"

    @property
    def broker(self):
        return "redis" if self.redis_url else "orm"

    @property
    def label(self):
        return (
            f"{self.broker} broker on {'PostgreSQL' if self.vendor == 'postgresql' else 'SQLite'}"
        )

    # Life cycle ----------------------------------------------------------------------------
    def manage(self, *args, timeout=600):
        done = subprocess.run(
            [sys.executable, str(MANAGE), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def setup(self):
        """Migrate and load the demo content (offer ``demo-course`` on the test provider)."""
        self.manage("migrate", "--noinput")
        self.manage("load_demo")
        return self

    def _log(self, name):
        logs = self.var_dir / "logs"
        logs.mkdir(exist_ok=True)
        return open(logs / f"{name}.log", "ab")

    def start_web(self):
        self.web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sandbox.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.web_workers),
                "--worker-class",
                "sync",
                "--backlog",
                "2048",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self._log("web"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log("web")[-3000:])
            try:
                httpx.get(self.url + "/", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer:\n" + self.log("web")[-3000:])

    def start_worker(self):
        """One ``qcluster`` (a sentinel with ``q_workers`` worker processes)."""
        name = f"worker{len(self.workers)}"
        nice = ["nice", "-n", str(self.worker_nice)] if self.worker_nice else []
        process = subprocess.Popen(
            [*nice, sys.executable, str(MANAGE), "qcluster"],
            env=self.env,
            cwd=ROOT,
            stdout=self._log(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(process)
        return process

    def start(self, clusters=1):
        self.start_web()
        for _ in range(clusters):
            self.start_worker()
        return self

    def stop(self):
        for process in [self.web, *self.workers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in [self.web, *self.workers]:
            if process is None:
                continue
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
            try:  # the whole group: workers a sentinel left behind too
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
        self.web, self.workers = None, []
        self.close_db()

    def mail_dir(self):
        return self.var_dir / "mail"

    def log(self, name):
        path = self.var_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # The stack's database, read directly -----------------------------------------------------
    def sql(self, query, params=()):
        """Rows of ``query`` (``%s`` placeholders) on the stack's database, autocommit; safe to
        call from several threads (one connection, used in turn)."""
        with self._db_lock:
            return self._sql(query, params)

    def _sql(self, query, params):
        if self.vendor == "sqlite":
            if self._sqlite is None:
                self._sqlite = sqlite3.connect(
                    self.var_dir / "db.sqlite3",
                    timeout=30,
                    isolation_level=None,
                    check_same_thread=False,
                )
            return self._sqlite.execute(query.replace("%s", "?"), params).fetchall()
        if self._pg is None:
            import psycopg

            self._pg = psycopg.connect(self.database_url, autocommit=True)
        cursor = self._pg.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def execute(self, statement, params=()):
        """Run a statement that returns no rows (DDL, writes)."""
        if self.vendor == "sqlite":
            self.sql(statement, params)
        else:
            self.sql(statement, params)

    def scalar(self, query, params=()):
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    def close_db(self):
        for conn in (self._sqlite, self._pg):
            if conn is not None:
                conn.close()
        self._sqlite = self._pg = None

    # Driving it ------------------------------------------------------------------------------
    def account(self):
        """The demo's TestPay account: (public id, signing secret, notify path)."""
        out = self.manage(
            "shell",
            "-c",
            (
                "import json; from wagtail_guestpay.models import ProviderAccount; "
                "a = ProviderAccount.objects.get(kind='test'); "
                "print(json.dumps([str(a.public_id), a.get_secret('signing_secret'), "
                "a.notification_path()]))"
            ),
        )
        public_id, secret, path = json.loads(out.strip().splitlines()[-1])
        return {"public_id": public_id, "secret": secret, "notify_path": path}

    def click_pay(self, client, slug="demo-course"):
        """A buyer clicks Pay; returns the payment's (reference, amount, currency, order id).
        Each click is a new buyer: the cookie by which a browser resumes its open order is
        dropped."""
        client.cookies.clear()
        response = client.get(f"{self.url}/guestpay/pay/{slug}/", follow_redirects=False)
        assert response.status_code == 303, response.text[:500]
        charge_id = uuid.UUID(response.headers["location"].rstrip("/").rsplit("/", 1)[-1])
        reference = self.scalar(
            "SELECT reference FROM wagtail_guestpay_testprovider_testcharge WHERE public_id = %s",
            (charge_id.hex if self.vendor == "sqlite" else charge_id,),
        )
        row = self.sql(
            "SELECT reference, amount, currency, order_id, provider_reference "
            "FROM wagtail_guestpay_payment WHERE reference = %s",
            (reference,),
        )[0]
        return {
            "reference": row[0],
            "amount": str(row[1]),
            "currency": row[2],
            "order_id": row[3],
            "provider_reference": row[4],
        }


def paid_body(payment, email, status="paid", event_id=None):
    return json.dumps(
        {
            "id": event_id or f"evt_{payment['reference']}_{status}",
            "type": f"charge.{status}",
            "data": {
                "id": payment["provider_reference"],
                "reference": payment["reference"],
                "status": status,
                "amount": payment["amount"],
                "currency": payment["currency"],
                "email": email,
                "payer_name": "",
            },
        },
        separators=(",", ":"),
    ).encode()


def signed_headers(secret, body):
    from wagtail_guestpay.testprovider import signing

    return {"Content-Type": "application/json", signing.HEADER: signing.header_value(secret, body)}


def wait_for(predicate, timeout, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {message}")

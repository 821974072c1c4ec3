"""Stacks of real processes (gunicorn + qcluster) per database and broker.

In make test's first pass (SQLite) the stack is the zero-setup default: ORM broker on an SQLite
file. In its second pass (``python -m tests.servers``: DATABASE_URL and REDIS_URL set) the stacks
are the ORM broker on PostgreSQL and the Redis broker on PostgreSQL, each in its own database.
"""

import os
import shutil
import tempfile

import pytest

from tests.stack import Stack

STACKS = ["orm-sqlite", "orm-postgresql", "redis-postgresql"]


def _server_urls():
    return os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")


def _new_database(server_url, name):
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session", params=STACKS)
def stack(request):
    database_url, redis_url = _server_urls()
    kind = request.param
    if kind == "orm-sqlite" and database_url:
        pytest.skip("the SQLite stack runs in make test's SQLite pass")
    if kind != "orm-sqlite" and not database_url:
        pytest.skip("needs PostgreSQL: runs in make test's second pass (python -m tests.servers)")
    if kind.startswith("redis") and not redis_url:
        pytest.skip("needs Redis: runs in make test's second pass (python -m tests.servers)")
    var_dir = tempfile.mkdtemp(prefix=f"guestpay-stack-{kind}-")
    site = Stack(
        var_dir,
        database_url=_new_database(database_url, f"stack_{kind.replace('-', '_')}")
        if kind != "orm-sqlite"
        else "",
        redis_url=redis_url if kind.startswith("redis") else "",
    )
    site.setup().start(clusters=2)
    site.secrets = site.account()
    yield site
    site.stop()
    if not os.environ.get("GUESTPAY_KEEP_STACK"):
        shutil.rmtree(var_dir, ignore_errors=True)

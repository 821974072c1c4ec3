"""An SQLite database backend for a site whose web and worker processes write to one SQLite file:
``"ENGINE": "wagtail_guestpay.sqlite"`` (docs/deployment.md). It is Django's own backend, with
another way of waiting for the write lock.

SQLite lets one connection write at a time. A connection that finds the lock taken calls its
busy handler, and Python's sqlite3 module can only install SQLite's default one (the ``timeout``
option): it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms between attempts.
While a worker takes the lock again and again (a drain of payment events), a notification that
has waited 0.2 s then sleeps 100 ms at a time, however soon the lock is free: bench/results
measured p99 of 0.8-1.5 s for the callback while the workers drained a burst.

Here SQLite's handler waits at most BUSY_STEP_MS (attempts after 1 and 2 ms) and the statement
is tried again, so a waiting connection looks every few milliseconds, until the ``timeout``
option (seconds, 5 by default) has passed; then it fails as before ("database is locked"). Only
a statement outside a transaction is tried again (``BEGIN IMMEDIATE`` and autocommit writes):
inside one, the lock is held already or the error is the caller's to handle.
"""

import sqlite3
import time

from django.db.backends.sqlite3 import base

BUSY_STEP_MS = 3


def _busy(exc):
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    busy_seconds = 5.0

    def execute(self, query, params=None):
        return self._waiting(base.SQLiteCursorWrapper.execute, query, params)

    def executemany(self, query, param_list):
        if not isinstance(param_list, list | tuple):
            param_list = list(param_list)  # it may be read again
        return self._waiting(base.SQLiteCursorWrapper.executemany, query, param_list)

    def _waiting(self, run, query, params):
        deadline = None
        while True:
            try:
                return run(self, query, params)
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or self.connection.in_transaction:
                    raise
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self.busy_seconds
                elif now >= deadline:
                    raise


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self.busy_seconds = float(conn_params.get("timeout", 5.0))
        connection.execute(f"PRAGMA busy_timeout = {BUSY_STEP_MS}")
        return connection

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=SQLiteCursorWrapper)
        cursor.busy_seconds = self.busy_seconds
        return cursor

"""A text search of every table of the test database, every column, for the buyer-data tests:
values are searched as stored and as they decode, so that an address inside a signed session,
a pickled django-q2 task argument (base64) or a compressed payload is found too."""

import base64
import binascii
import json
import re
import zlib

from django.db import connection


def _decodings(value):
    """``value`` (text) and what its base64 pieces decode to (and decompress to)."""
    yield value.encode("utf-8", errors="replace")
    for part in re.split(r"[:\s]", value):
        part = part.lstrip(".")
        if len(part) < 8:
            continue
        padded = part + "=" * (-len(part) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                raw = decode(padded)
            except (binascii.Error, ValueError):
                continue
            yield raw
            try:
                yield zlib.decompress(raw)
            except zlib.error:
                pass


def holds(value, needle):
    """True if ``needle`` (lower-case) occurs in ``value`` or in what it decodes to."""
    if value is None or isinstance(value, int | float):
        return False
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, memoryview | bytes):
        value = bytes(value).decode("latin-1")
    text = str(value)
    wanted = needle.lower().encode()
    return any(wanted in candidate.lower() for candidate in _decodings(text))


def tables_holding(needle):
    """The names of the tables that hold ``needle`` anywhere (any case)."""
    found = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                if any(holds(value, needle) for value in row):
                    found.add(table)
                    break
    return found

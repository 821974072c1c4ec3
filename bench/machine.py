"""What the benchmarks ran on: processor, memory, Python and the stack's versions."""

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def machine():
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "?",
    )
    versions = {}
    for key, distribution in (
        ("django", "Django"),
        ("wagtail", "wagtail"),
        ("django_q", "django-q2"),
        ("gunicorn", "gunicorn"),
        ("psycopg", "psycopg"),
        ("redis", "redis"),
    ):
        try:
            versions[key] = version(distribution)
        except PackageNotFoundError:
            versions[key] = "?"
    for name, command in (
        ("postgresql", ["psql", "--version"]),
        ("redis-server", ["redis-server", "--version"]),
        ("sqlite", [sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"]),
    ):
        try:
            versions[name] = (
                subprocess.run(command, capture_output=True, text=True, timeout=10)
                .stdout.strip()
                .split("\n")[0]
            )
        except OSError:
            versions[name] = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "os": platform.platform(),
        **versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }

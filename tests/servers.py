"""Throw-away PostgreSQL and Redis servers on loopback, for the tests and the benchmarks.

    python -m tests.servers -- python -m pytest tests      # run a command with both servers

Each server runs from Debian's binaries (``postgresql``, ``redis-server``; scripts/system-deps.sh
installs them) in a fresh temporary directory, on a free loopback port, and is removed afterwards.
PostgreSQL refuses to run as root: as root it runs as the ``postgres`` user (``runuser``). The
command gets ``DATABASE_URL`` and ``REDIS_URL``. A server that cannot be started is reported
loudly; the command then runs without it (its tests skip with the reason), except under CI
(``CI=true``), where a missing server is an error.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


class Unavailable(RuntimeError):
    pass


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shout(message):
    bar = "!" * 78
    sys.stderr.write(f"\n{bar}\n!!! {message}\n{bar}\n\n")
    sys.stderr.flush()


def postgres_bindir():
    for candidate in [
        os.environ.get("GUESTPAY_PG_BINDIR", ""),
        *sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
            reverse=True,
        ),
    ]:
        if candidate and Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise Unavailable("PostgreSQL server binaries not found (apt-get install postgresql)")


class Postgres:
    """A PostgreSQL cluster in ``directory``; ``url`` of its database ``guestpay``."""

    def __init__(self, directory, *, durable=False):
        self.bindir = postgres_bindir()
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.port = free_port()
        self.durable = durable
        self.as_user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise Unavailable("running as root and there is no 'postgres' user") from exc
            self.as_user = "postgres"

    def _run(self, *args, **kwargs):
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)

    @property
    def url(self):
        return f"postgres://guestpay@127.0.0.1:{self.port}/guestpay"

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.directory, self.as_user)
        done = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "guestpay",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        if done.returncode:
            raise Unavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.directory}",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:  # tests: nothing to keep, so skip the disk flushes
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        done = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        if done.returncode:
            log = self.directory / "log"
            raise Unavailable(
                f"PostgreSQL did not start: {done.stderr.strip()[-300:]} "
                f"{log.read_text()[-500:] if log.exists() else ''}"
            )
        done = self._run(
            "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "guestpay", "guestpay"
        )
        if done.returncode:
            self.stop()
            raise Unavailable(f"createdb failed: {done.stderr.strip()[-300:]}")
        return self

    def stop(self):
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


class Redis:
    def __init__(self, directory):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise Unavailable("redis-server not found (apt-get install redis-server)")
        self.directory = Path(directory)
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "redis.log", "wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Unavailable(
                    "redis-server exited: " + (self.directory / "redis.log").read_text()[-300:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise Unavailable("redis-server did not answer PING within 20 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def servers(*, durable=False, want=("postgres", "redis")):
    """Start what can be started; yields ``{"DATABASE_URL": ..., "REDIS_URL": ...}`` (only the
    ones that run) and a list of what could not start, with the reason."""
    root = Path(tempfile.mkdtemp(prefix="guestpay-servers-"))
    os.chmod(root, 0o755)
    running, env, missing = [], {}, []
    try:
        if "postgres" in want:
            try:
                running.append(Postgres(root / "postgres", durable=durable).start())
                env["DATABASE_URL"] = running[-1].url
            except Unavailable as exc:
                missing.append(f"PostgreSQL: {exc}")
        if "redis" in want:
            try:
                running.append(Redis(root / "redis").start())
                env["REDIS_URL"] = running[-1].url
            except Unavailable as exc:
                missing.append(f"Redis: {exc}")
        yield env, missing
    finally:
        for server in reversed(running):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv):
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.exit("usage: python -m tests.servers -- COMMAND...")
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    with servers() as (env, missing):
        for reason in missing:
            shout(f"NOT TESTED ON IT: {reason}")
        if missing and in_ci:
            shout("CI must run the PostgreSQL and Redis suites: failing.")
            return 1
        if "DATABASE_URL" not in env:
            shout("The PostgreSQL/Redis run is skipped: no PostgreSQL server could be started.")
            return 0
        print(
            f"tests.servers: PostgreSQL at {env['DATABASE_URL']}, "
            f"Redis at {env.get('REDIS_URL', '(none)')}",
            flush=True,
        )
        return subprocess.call(argv, env={**os.environ, **env})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

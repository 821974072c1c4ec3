"""``make bench``: every benchmark, side by side in one process tree, written to bench/results/.

1. Notification ingestion: signed notifications POSTed to the callback under gunicorn (2 sync
   workers) at rising concurrency, alternating with the floor (bench/floor.py: verify the same
   HMAC, insert one row) on the same server, per database/broker.
2. Confirmation to access: bursts of 10, 100 and 1,000 paid notifications; from the callback's
   answer to the access e-mail handed to the e-mail backend, with the site's workers running.
   Then, with one qcluster running: the same callback idle and while a burst of paid
   notifications drains (alternated), and the pay-link flood (orders per 600 clicks).
3. Pay click: server time and SQL queries of the direct payment link (test provider).
4. Offer page: SQL queries and render time with 1/10/50 pay blocks against plain text blocks.
5. A profile of the slowest path (pyinstrument).
6. Staff at scale (bench/staff.py): Transactions, filters, search, Contacts, the admin home and
   exports with 1,000,000 orders seeded in bulk, on SQLite (the seeded file is kept in
   bench/work/ between runs) and PostgreSQL (seeded each run); medians.

Load stays on loopback, bounded in requests and seconds. Environment: BENCH_QUICK=1 for a short
run (fewer levels and requests, 100,000 orders for section 6),
BENCH_ONLY=ingestion,drain,confirmation,pay,offer,profile,staff; BENCH_STAFF_ORDERS overrides
the count; BENCH_WORKER_NICE=N starts the stacks' qcluster at that CPU niceness (an experiment:
bench/results/NOTES.md).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.ingest import drain_rounds, ingestion_rounds, pay_flood
from bench.machine import machine
from bench.report import write_report
from bench.sizes import (
    BURSTS,
    DRAIN_BURST,
    DRAIN_LEVEL,
    LEVEL_REQUESTS,
    LEVEL_SECONDS,
    LEVELS,
    QUICK,
    ROUNDS,
)

ROOT = Path(__file__).resolve().parents[1]
FLOOD_BUDGET = 10  # WAGTAIL_GUESTPAY_PAY_RATE_LIMITS' default: new orders per client and offer
RESULTS = ROOT / "bench" / "results"
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))


def notification_for(payment, email, secret, status="paid", event_id=None):
    from tests.stack import paid_body, signed_headers

    body = paid_body(payment, email, status=status, event_id=event_id)
    return body, signed_headers(secret, body)


def wanted(name):
    return not ONLY or name in ONLY


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# Stacks ----------------------------------------------------------------------------------
def make_stack(
    kind, servers_env, root, *, floor_secret="", web_workers=2, q_workers=2, phase="", env=None
):
    """A fresh stack: its own directory and database, its own queue (a cluster name of its own
    on the shared Redis): nothing left over from another benchmark."""
    from tests.stack import Stack

    database_url = redis_url = ""
    if kind != "orm-sqlite":
        import psycopg

        name = f"bench_{kind.replace('-', '_')}_{int(time.time() * 1000) % 10**8}"
        with psycopg.connect(servers_env["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        database_url = servers_env["DATABASE_URL"].rsplit("/", 1)[0] + "/" + name
    if kind.startswith("redis"):
        redis_url = servers_env["REDIS_URL"]
    stack = Stack(
        Path(root) / f"{phase}{kind}",
        database_url=database_url,
        redis_url=redis_url,
        web_workers=web_workers,
        q_workers=q_workers,
        settings="bench.settings",
        worker_nice=int(os.environ.get("BENCH_WORKER_NICE", "0")),
        env={"BENCH_FLOOR_SECRET": floor_secret, **(env or {})},
    )
    stack.kind = kind
    stack.setup()
    return stack


def available_kinds(servers_env):
    if os.environ.get("BENCH_SETUPS"):
        return os.environ["BENCH_SETUPS"].split(",")
    kinds = ["orm-sqlite"]
    if "DATABASE_URL" in servers_env:
        kinds.append("orm-postgresql")
        if "REDIS_URL" in servers_env:
            kinds.append("redis-postgresql")
    return kinds


def create_payments(stack, count):
    import httpx

    def click(_):
        with httpx.Client() as client:
            return stack.click_pay(client)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(click, range(count)))


# 1. Ingestion -------------------------------------------------------------------------------
def bench_ingestion(kinds, servers_env, root):
    """Floor and guestpay alternated (A/B/A/B) at each concurrency, web processes only; every
    run is kept, the report takes medians over the rounds."""
    from bench.floor import TABLE_SQL

    rows = []
    for kind in kinds:
        log(f"ingestion: {kind}")
        floor_secret = "bench-floor-" + os.urandom(8).hex()
        stack = make_stack(kind, servers_env, root, floor_secret=floor_secret, phase="ingestion-")
        try:
            stack.execute(TABLE_SQL[stack.vendor])
            stack.start_web()  # the web processes only: what the callback's request costs
            account = stack.account()
            for level in LEVELS:
                rows += ingestion_rounds(
                    stack,
                    secret=account["secret"],
                    floor_secret=floor_secret,
                    notify_path=account["notify_path"],
                    level=level,
                    rounds=ROUNDS,
                    requests=LEVEL_REQUESTS,
                    seconds=LEVEL_SECONDS,
                    log=log,
                )
        finally:
            stack.stop()
    return rows


def bench_drain(kinds, servers_env, root):
    """Ingestion with one qcluster (2 workers) running: idle, and while a burst drains,
    alternated; then the pay-link flood on the same site."""
    drain_rows, floods = [], []
    for kind in kinds:
        log(f"ingestion while workers drain: {kind}")
        stack = make_stack(kind, servers_env, root, phase="drain-")
        try:
            stack.start(clusters=1)
            account = stack.account()
            drain_rows += drain_rounds(
                stack,
                secret=account["secret"],
                notify_path=account["notify_path"],
                burst=DRAIN_BURST,
                level=DRAIN_LEVEL,
                rounds=ROUNDS,
                requests=LEVEL_REQUESTS * 2,
                seconds=LEVEL_SECONDS,
                log=log,
            )
        finally:
            stack.stop()
        # The flood on a site of its own with the default pay-link budget (the other stacks
        # lift it: all their buyers click from 127.0.0.1; tests/stack_settings.py), and a cache
        # its web processes share, as a deployment with more than one process needs for the
        # budget to hold: Redis where the benchmark has it (atomic counters), else a file cache.
        cache = servers_env.get("REDIS_URL") or "file"
        stack = make_stack(
            kind,
            servers_env,
            root,
            phase="flood-",
            env={"GUESTPAY_PAY_BUDGET": str(FLOOD_BUDGET), "GUESTPAY_SHARED_CACHE": cache},
        )
        try:
            stack.start_web()
            flood = {
                "setup": kind,
                "budget": FLOOD_BUDGET,
                "cache": "file" if cache == "file" else "redis",
                **pay_flood(stack),
            }
            floods.append(flood)
            log(
                f"  {kind} pay-link flood: {flood['orders']} orders from {flood['clicks']} "
                f"clicks, answers {flood['statuses']}"
            )
        finally:
            stack.stop()
    return drain_rows, floods


# 2. Confirmation to access -----------------------------------------------------------------
def bench_confirmation(kinds, servers_env, root):
    from bench.load import fire, percentile
    from tests.stack_adapter import sent_at

    results = []
    for kind in kinds:
        log(f"confirmation: {kind}")
        stack = make_stack(kind, servers_env, root, phase="confirmation-")
        try:
            stack.start(clusters=1)  # the default: one qcluster with 2 workers
            account = stack.account()
            payments = create_payments(stack, sum(BURSTS))
            offset = 0
            for burst in BURSTS:
                batch = payments[offset : offset + burst]
                offset += burst
                emails = [f"burst{burst}-{index}@example.com" for index in range(burst)]
                requests = [
                    notification_for(payment, email, account["secret"])
                    for payment, email in zip(batch, emails, strict=True)
                ]
                fired = fire(
                    stack.port, account["notify_path"], requests, concurrency=16, max_seconds=120
                )
                accepted = {emails[index]: at for index, at in fired["accepted"]}
                deadline = time.monotonic() + 180
                mails = {}
                while time.monotonic() < deadline and len(mails) < len(accepted):
                    for path in stack.mail_dir().glob(f"*-burst{burst}-*.eml"):
                        to = path.name.split("-", 2)[2].removesuffix(".eml")
                        mails.setdefault(to, sent_at(path))
                    time.sleep(0.1)
                latencies = [mails[email] - accepted[email] for email in accepted if email in mails]
                first = min(accepted.values())
                row = {
                    "setup": kind,
                    "burst": burst,
                    "accepted": len(accepted),
                    "mailed": len(latencies),
                    "errors": fired["errors"],
                    "p50_s": percentile(latencies, 0.5),
                    "p99_s": percentile(latencies, 0.99),
                    "drain_s": (max(mails.values()) - first) if mails else float("nan"),
                    "duplicates": count_duplicate_mails(stack, burst),
                }
                results.append(row)
                log(
                    f"  {kind} burst {burst}: p50 {row['p50_s']:.2f}s p99 {row['p99_s']:.2f}s "
                    f"drain {row['drain_s']:.1f}s mailed {row['mailed']}/{burst}"
                )
        finally:
            stack.stop()
    return results


def count_duplicate_mails(stack, burst):
    names = [path.name.split("-", 2)[2] for path in stack.mail_dir().glob(f"*-burst{burst}-*")]
    return len(names) - len(set(names))


# 3-5. In-process ----------------------------------------------------------------------------
def inproc(stack, what):
    done = subprocess.run(
        [sys.executable, "-m", "bench.inproc", what],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH-JSON ")), None)
    if line is None:
        raise RuntimeError(
            f"bench.inproc {what} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return json.loads(line.removeprefix("BENCH-JSON "))


# 6. Staff at scale ---------------------------------------------------------------------------
def bench_staff(kinds, servers_env, root):
    from tests.stack import Stack

    count = int(os.environ.get("BENCH_STAFF_ORDERS") or (100_000 if QUICK else 1_000_000))
    results = []
    for kind in ("orm-sqlite", "orm-postgresql"):
        if kind not in kinds:
            continue
        log(f"staff at scale: {kind}, {count:,} orders")
        if kind == "orm-sqlite":  # kept between runs: seeding a file takes minutes
            stack = Stack(
                ROOT / "bench" / "work" / f"staff-sqlite-{count}", settings="bench.settings"
            )
            stack.setup()
        else:
            stack = make_stack(kind, servers_env, root, phase="staff-")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.staff", str(count)],
                env=stack.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=3600,
            )
        finally:
            stack.stop()
        line = next(
            (line for line in done.stdout.splitlines() if line.startswith("BENCH-JSON ")), None
        )
        if line is None:
            raise RuntimeError(f"bench.staff failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        result = json.loads(line.removeprefix("BENCH-JSON "))
        results.append({"setup": kind, **result})
        log(
            f"  seeded in {result['seed_s']:.0f}s; "
            + ", ".join(f"{row['action']} {row['p50_ms']:.0f} ms" for row in result["rows"][:4])
            + " ..."
        )
    return results


PER_SETUP = ("ingestion", "confirmation", "drain", "flood", "staff")


def merge_partial(old, new):
    """A partial run (BENCH_ONLY / BENCH_SETUPS) replaces only what it measured: the rows of its
    setups in the per-setup tables, and the sections it ran."""
    merged = {**old, **{key: value for key, value in new.items() if key not in PER_SETUP}}
    for key in PER_SETUP:
        if key in new:
            setups = {row["setup"] for row in new[key]}
            merged[key] = [row for row in old.get(key, []) if row["setup"] not in setups]
            merged[key] += new[key]
    merged["setups"] = sorted(set(old.get("setups", [])) | set(new.get("setups", [])))
    merged["partial_reruns"] = [
        *old.get("partial_reruns", []),
        {"date": new["machine"]["date"], "only": sorted(ONLY), "setups": new.get("setups")},
    ]
    return merged


# Report ---------------------------------------------------------------------------------------
def main():
    from tests.servers import servers, shout

    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), "quick": QUICK}
    root = tempfile.mkdtemp(prefix="guestpay-bench-")
    started = time.monotonic()
    try:
        with servers(durable=True) as (servers_env, missing):
            for reason in missing:
                shout(f"benchmark without it: {reason}")
            kinds = available_kinds(servers_env)
            data["setups"] = kinds
            if wanted("ingestion"):
                data["ingestion"] = bench_ingestion(kinds, servers_env, root)
            if wanted("drain"):
                data["drain"], data["flood"] = bench_drain(kinds, servers_env, root)
            if wanted("confirmation"):
                data["confirmation"] = bench_confirmation(kinds, servers_env, root)
            if wanted("pay") or wanted("offer") or wanted("profile"):
                log("in-process: pay click, offer page, profile (SQLite)")
                stack = make_stack("orm-sqlite", servers_env, Path(root) / "inproc")
                if wanted("pay"):
                    data["pay"] = inproc(stack, "pay")
                if wanted("offer"):
                    data["offer_page"] = inproc(stack, "offer_page")
                if wanted("profile"):
                    data["profile"] = inproc(stack, "profile")
                    data["profile_notify"] = inproc(stack, "profile_notify")
                stack.stop()
            if wanted("staff"):
                data["staff"] = bench_staff(kinds, servers_env, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    data["seconds"] = time.monotonic() - started
    previous = RESULTS / "results.json"
    if (ONLY or os.environ.get("BENCH_SETUPS")) and previous.exists():
        data = merge_partial(json.loads(previous.read_text()), data)
    previous.write_text(json.dumps(data, indent=1, default=str))
    write_report(data, RESULTS)
    log(f"done in {data['seconds']:.0f}s: {RESULTS / 'README.md'}")


if __name__ == "__main__":
    main()

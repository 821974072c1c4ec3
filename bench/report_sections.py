"""Pieces of bench/results/README.md shared by bench/report.py: labels, number formatting,
verdicts, and the "ingestion while workers drain" and pay-link flood section."""

import math
import statistics

from bench.summary import TARGETS, median_ratio, medians

LABELS = {
    "orm-sqlite": "SQLite, ORM broker (default)",
    "orm-postgresql": "PostgreSQL, ORM broker",
    "redis-postgresql": "PostgreSQL, Redis broker",
}


def fmt(value, digits=1):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def drain_section(rows, floods, verdicts):
    """Ingestion while the workers drain a burst, and the pay-link flood."""
    burst = next((row["burst_accepted"] for row in rows if "burst_accepted" in row), "?")
    lines = [
        "### Ingestion while the workers drain",
        "",
        f"The same callback at {rows[0]['concurrency']} clients with one `qcluster` (2 workers) "
        "running: **idle** (no burst: the workers take only the run's own notifications, for "
        "payments nobody made, each an unknown-payment notice) and **draining** (started right after a burst "
        f"of {burst} paid notifications for real orders was "
        "accepted, while the workers create the accounts, grant and send the e-mails), "
        "alternated; medians over the rounds. Target: draining ≥ "
        f"{TARGETS['drain_ratio']} of idle, p99 < {TARGETS['ingestion_p99_ms']} ms in both.",
        "",
        "| setup | idle req/s | idle p99 ms | draining req/s | draining p99 ms | ratio "
        "| events still waiting after the run | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for setup in sorted({row["setup"] for row in rows}):
        mine = [row for row in rows if row["setup"] == setup]
        table = {row["target"]: row for row in medians(mine)}
        if "idle" not in table or "draining" not in table:
            continue
        ratio = median_ratio(mine, "draining", "idle")
        idle, draining = table["idle"], table["draining"]
        ok = (
            ratio >= TARGETS["drain_ratio"]
            and idle["p99_ms"] < TARGETS["ingestion_p99_ms"]
            and draining["p99_ms"] < TARGETS["ingestion_p99_ms"]
        )
        backlog = statistics.median(
            row.get("backlog_after", 0) for row in mine if row["target"] == "draining"
        )
        verdicts.append(
            (
                f"ingestion while draining ({LABELS.get(setup, setup)})",
                ok,
                f"{fmt(ratio, 2)} of idle, p99 {fmt(idle['p99_ms'])} / "
                f"{fmt(draining['p99_ms'])} ms",
            )
        )
        lines.append(
            f"| {LABELS.get(setup, setup)} | {fmt(idle['rps'])} | "
            f"{fmt(idle['p99_ms'])} | {fmt(draining['rps'])} | "
            f"{fmt(draining['p99_ms'])} | {fmt(ratio, 2)} | {fmt(backlog, 0)} | "
            f"{verdict(ok)} |"
        )
    if floods:
        lines += [
            "",
            "### Pay-link flood",
            "",
            f"{floods[0]['clicks']} cookieless GETs of `/guestpay/pay/demo-course/` from one "
            f"client, {floods[0]['concurrency']} at once (a crawler or a script following a "
            "published link): the orders (and payments, and provider checkouts) they created. "
            "The site's web processes share one cache (the budget's counters): Redis where the "
            "benchmark has it, else Django's file cache, whose increments are not atomic. "
            f"Target: at most the per-client budget (issue 12: {TARGETS['flood_orders']}), and at "
            "least one (none served means the flood measured something else).",
            "",
            "| setup | cache | clicks | orders created | answers | seconds |",
            "|---|---|---:|---:|---|---:|",
        ]
        for flood in floods:
            answers = ", ".join(
                f"{count} × {status}" for status, count in sorted(flood["statuses"].items())
            )
            verdicts.append(
                (
                    f"pay-link flood, orders per {flood['clicks']} clicks "
                    f"({LABELS.get(flood['setup'], flood['setup'])})",
                    0 < flood["orders"] <= TARGETS["flood_orders"],  # 0: nobody served
                    str(flood["orders"]),
                )
            )
            lines.append(
                f"| {LABELS.get(flood['setup'], flood['setup'])} | {flood.get('cache', 'local')} "
                f"| {flood['clicks']} "
                f"| {flood['orders']} | {answers} | {fmt(flood['seconds'])} |"
            )
    return [*lines, ""]

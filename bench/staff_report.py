"""Section 6 of bench/results/README.md: staff at scale (bench/staff.py)."""

TARGET_MS = 300  # each listing, filter, search and the admin home, p50
PANEL_MS = 100
EXPORT_S = 5
EXPORT_MB = 300
LABELS = {"orm-sqlite": "SQLite", "orm-postgresql": "PostgreSQL"}


def _target(row):
    action = row["action"]
    if action.startswith("CSV export"):
        return f"< {EXPORT_S} s, < {EXPORT_MB} MB", (
            row["p50_ms"] < EXPORT_S * 1000 and row.get("memory_growth_mb", 0) < EXPORT_MB
        )
    if action == "Dashboard panel alone":
        return f"< {PANEL_MS} ms", row["p50_ms"] < PANEL_MS
    return f"< {TARGET_MS} ms", row["p50_ms"] < TARGET_MS


def staff_section(runs, verdicts):
    """The section's lines; appends one verdict per setup to ``verdicts``."""
    if not runs:
        return []
    setups = [run["setup"] for run in runs]
    by_setup = {run["setup"]: {row["action"]: row for row in run["rows"]} for run in runs}
    actions = [row["action"] for row in runs[0]["rows"]]
    first = runs[0]
    lines = [
        "## 6. Staff at scale",
        "",
        (
            f"{first['orders']:,} orders seeded in bulk (bench/staff.py: INSERT ... SELECT over a "
            "series, not the payment pipeline): one contact and one payment each, access grants "
            "for paid orders, a provider id for 1 in 10, 1,500 orders that need attention, over "
            "three years. Requests through Django's full handler as a superuser (in-process, no "
            f"socket), the median of {first['repeat']} after a warm-up; the exports once each, "
            "with the time to answer (a streamed response's headers, or the redirect after queueing "
            "the task), the growth of the process's peak memory (VmHWM) and, when streamed, the "
            "rows and the time to the last one."
        ),
        "",
        "| staff action | " + " | ".join(LABELS.get(s, s) for s in setups) + " | target |",
        "|---|" + "---:|" * len(setups) + "---|",
    ]
    failed = {setup: [] for setup in setups}
    for action in actions:
        cells, target = [], ""
        for setup in setups:
            row = by_setup[setup].get(action)
            if row is None:
                cells.append("n/a")
                continue
            target, ok = _target(row)
            memory = f", +{row['memory_growth_mb']:.0f} MB" if "memory_growth_mb" in row else ""
            if row.get("lines"):
                memory += f", {row['lines'] - 1:,} rows in {row['complete_s']:.1f} s"
            cells.append(f"{row['p50_ms']:.0f} ms{memory}" + ("" if ok else " ✗"))
            if not ok:
                failed[setup].append(action)
        lines.append(f"| {action} | " + " | ".join(cells) + f" | {target} |")
    lines += [
        "",
        "Seeding: "
        + "; ".join(
            f"{LABELS.get(run['setup'], run['setup'])} "
            + (f"{run['seed_s']:.0f} s" if run["seeded_now"] else "kept from an earlier run")
            for run in runs
        )
        + ".",
        "",
    ]
    for setup in setups:
        missed = failed[setup]
        verdicts.append(
            (
                f"staff at scale ({LABELS.get(setup, setup)})",
                not missed,
                "all within target" if not missed else "missed: " + ", ".join(missed),
            )
        )
    return lines

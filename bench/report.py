"""bench/results/README.md and its plots, from results.json."""

from pathlib import Path

from bench.report_sections import LABELS, drain_section, fmt, verdict
from bench.sizes import LEVEL_REQUESTS, LEVEL_SECONDS, ROUNDS
from bench.staff_report import staff_section
from bench.summary import TARGETS, ingestion_summary, medians


def plot_ingestion(rows, results):
    rows = medians(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups = sorted({row["setup"] for row in rows})
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for setup in setups:
        for target, style in (("floor", "--"), ("guestpay", "-")):
            points = sorted(
                (r["concurrency"], r["rps"], r["p99_ms"])
                for r in rows
                if r["setup"] == setup and r["target"] == target
            )
            if not points:
                continue
            xs = [p[0] for p in points]
            label = f"{target} · {LABELS.get(setup, setup)}"
            axes[0].plot(xs, [p[1] for p in points], style, marker="o", label=label)
            axes[1].plot(xs, [p[2] for p in points], style, marker="o", label=label)
    axes[0].set(
        title="Notification ingestion: throughput",
        xlabel="concurrent clients",
        ylabel="accepted notifications / s",
        xscale="log",
    )
    axes[1].set(
        title="Notification ingestion: p99 latency",
        xlabel="concurrent clients",
        ylabel="p99 (ms)",
        xscale="log",
        yscale="log",
    )
    axes[1].axhline(TARGETS["ingestion_p99_ms"], color="grey", linewidth=0.8)
    for axis in axes:
        axis.set_xticks(sorted({r["concurrency"] for r in rows}))
        axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(results / "ingestion.png", dpi=110)
    plt.close(figure)


def plot_confirmation(rows, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    setups = sorted({row["setup"] for row in rows})
    bursts = sorted({row["burst"] for row in rows})
    width = 0.8 / max(len(setups), 1)
    for index, setup in enumerate(setups):
        by_burst = {r["burst"]: r for r in rows if r["setup"] == setup}
        xs = [i + index * width for i in range(len(bursts))]
        axis.bar(
            xs,
            [by_burst.get(b, {}).get("p99_s", 0) for b in bursts],
            width,
            label=f"p99 · {LABELS.get(setup, setup)}",
            alpha=0.85,
        )
        axis.scatter(
            xs, [by_burst.get(b, {}).get("p50_s", 0) for b in bursts], color="black", s=12, zorder=3
        )
    axis.set_xticks(
        [i + width * (len(setups) - 1) / 2 for i in range(len(bursts))],
        [f"burst of {b}" for b in bursts],
    )
    axis.set(
        ylabel="seconds from acceptance to e-mail (bar p99, dot p50)",
        yscale="log",
        title="Confirmation to access",
    )
    axis.axhline(TARGETS["confirmation_p99_s_100"], color="grey", linewidth=0.8)
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(results / "confirmation.png", dpi=110)
    plt.close(figure)


def plot_offer(rows, results):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    blocks = [r["blocks"] for r in rows]
    for kind, style in (("text", "--"), ("pay", "-")):
        axes[0].plot(
            blocks, [r[kind]["p50_ms"] for r in rows], style, marker="o", label=f"{kind} blocks"
        )
        axes[1].plot(
            blocks, [r[kind]["queries"] for r in rows], style, marker="o", label=f"{kind} blocks"
        )
    axes[0].set(title="Offer page: render time (p50)", xlabel="blocks", ylabel="ms")
    axes[1].set(title="Offer page: SQL queries", xlabel="blocks", ylabel="queries")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(results / "offer_page.png", dpi=110)
    plt.close(figure)


def write_report(data, results):
    results = Path(results)
    m = data["machine"]
    lines = [
        "# wagtail-guestpay benchmarks",
        "",
        f"Written by `make bench` (bench/__main__.py) on {m['date']}"
        + (" — **quick run (BENCH_QUICK=1), not the full figures**" if data.get("quick") else "")
        + f", in {fmt(data.get('seconds', 0) / 60)} minutes.",
        "",
        f"**Machine**: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM; {m['os']}; Python "
        f"{m['python']}, Django {m['django']}, Wagtail {m['wagtail']}, django-q2 "
        f"{m['django_q']}, gunicorn {m['gunicorn']}, psycopg {m['psycopg']}, redis-py "
        f"{m['redis']}; {m['postgresql']}; {m['redis-server']}; SQLite {m['sqlite']}. The "
        "cores are shared with other work (other engineers' test runs), so absolute figures "
        "move between runs; every comparison below is between runs made side by side, in one "
        "process tree, alternating, minutes apart at most.",
        "",
        "Servers: gunicorn with 2 sync workers (one per core) on 127.0.0.1, the sandbox site's "
        "settings (bench/settings.py: DEBUG off, the test provider). SQLite in WAL mode with "
        "IMMEDIATE transactions (synchronous=NORMAL); PostgreSQL started by tests/servers.py with "
        "its default durability (fsync and synchronous_commit on); Redis without persistence. "
        "Load generation: Python threads in the benchmark process, one new connection per "
        "request, bounded in count and time.",
        "",
    ]
    verdicts = []
    if data.get("ingestion"):
        summary = ingestion_summary(data["ingestion"])
        plot_ingestion(data["ingestion"], results)
        lines += [
            "## 1. Notification ingestion",
            "",
            "Signed notifications (the test provider's HMAC-SHA256 scheme, a distinct event id "
            "each) POSTed to `/guestpay/notify/<account>/`, against the **floor**: a view on the "
            "same server (bench/floor.py) that verifies the same HMAC on the raw body and "
            "inserts one row in one transaction. At each concurrency, floor and guestpay run "
            f"alternately (A/B/A/B, {ROUNDS} rounds); the table gives the median of the rounds, "
            "the ratio is the median of the per-round ratios. Web processes only (the workers "
            f"are not running): what one request costs. {LEVEL_DESC(data)}",
            "",
            "| setup | target | clients | rounds | req/s | p50 ms | p99 ms | errors |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in sorted(
            medians(data["ingestion"]), key=lambda r: (r["setup"], r["concurrency"], r["target"])
        ):
            lines.append(
                f"| {LABELS.get(row['setup'], row['setup'])} | {row['target']} | "
                f"{row['concurrency']} | {row['rounds']} | {fmt(row['rps'])} | "
                f"{fmt(row['p50_ms'])} | {fmt(row['p99_ms'])} | "
                f"{sum(row['errors'].values())} |"
            )
        lines += [
            "",
            f"At {TARGETS['ingestion_level']} clients (target: ≥ "
            f"{TARGETS['ingestion_ratio']} of the floor's throughput, "
            f"{TARGETS['ingestion_ratio_goal']} the goal; p99 < "
            f"{TARGETS['ingestion_p99_ms']} ms):",
            "",
            "| setup | clients | floor req/s | guestpay req/s | ratio (median of rounds) "
            "| guestpay p99 ms | throughput | p99 |",
            "|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for setup, s in summary.items():
            ok_ratio = s["ratio"] >= TARGETS["ingestion_ratio"]
            ok_p99 = s["p99_ms"] < TARGETS["ingestion_p99_ms"]
            goal = " (goal met)" if s["ratio"] >= TARGETS["ingestion_ratio_goal"] else ""
            verdicts.append(
                (
                    f"ingestion ratio at {s['level']} clients ({LABELS.get(setup, setup)})",
                    ok_ratio,
                    f"{fmt(s['ratio'], 2)} of the floor{goal}",
                )
            )
            verdicts.append(
                (f"ingestion p99 ({LABELS.get(setup, setup)})", ok_p99, f"{fmt(s['p99_ms'])} ms")
            )
            lines.append(
                f"| {LABELS.get(setup, setup)} | {s['level']} | "
                f"{fmt(s['floor_rps'])} | {fmt(s['rps'])} | {fmt(s['ratio'], 2)} | "
                f"{fmt(s['p99_ms'])} | {verdict(ok_ratio)} | {verdict(ok_p99)} |"
            )
        lines += ["", "![ingestion](ingestion.png)", ""]
    if data.get("drain"):
        lines += drain_section(data["drain"], data.get("flood") or [], verdicts)
    if data.get("confirmation"):
        plot_confirmation(data["confirmation"], results)
        lines += [
            "## 2. Confirmation to access",
            "",
            "Bursts of paid notifications for orders made beforehand by clicking Pay, each with a "
            "new buyer e-mail, fired by 16 concurrent clients at the running site (2 gunicorn "
            "workers, one `qcluster` with 2 workers: the default). Latency: from the moment the "
            "callback's 200 reached the client (acceptance) to the moment the access e-mail was "
            "handed to the e-mail backend (tests/stack_adapter.FileEmailBackend stamps each "
            "message); drain: from the first acceptance to the last e-mail. In between: the "
            "event task (account created, access granted, e-mail queued) and the e-mail task.",
            "",
            "| setup | burst | accepted | mailed | duplicates | p50 s | p99 s | drain s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in data["confirmation"]:
            lines.append(
                f"| {LABELS.get(row['setup'], row['setup'])} | {row['burst']} | "
                f"{row['accepted']} | {row['mailed']} | {row['duplicates']} | "
                f"{fmt(row['p50_s'], 2)} | {fmt(row['p99_s'], 2)} | "
                f"{fmt(row['drain_s'])} |"
            )
            if row["setup"] == "orm-sqlite" and row["burst"] == 100:
                verdicts.append(
                    (
                        "p99 at the 100 burst, default setup",
                        row["p99_s"] < TARGETS["confirmation_p99_s_100"] and row["mailed"] == 100,
                        f"{fmt(row['p99_s'], 2)} s",
                    )
                )
            if row["burst"] == 1000:
                verdicts.append(
                    (
                        f"1,000 drained ({LABELS.get(row['setup'], row['setup'])})",
                        row["drain_s"] < TARGETS["drain_1000_s"] and row["mailed"] == 1000,
                        f"{fmt(row['drain_s'])} s",
                    )
                )
        lines += ["", "![confirmation](confirmation.png)", ""]
    if data.get("pay"):
        pay = data["pay"]
        verdicts.append(
            ("pay click queries", pay["queries"] <= TARGETS["pay_queries"], str(pay["queries"]))
        )
        verdicts.append(
            ("pay click p50", pay["p50_ms"] < TARGETS["pay_p50_ms"], f"{fmt(pay['p50_ms'])} ms")
        )
        lines += [
            "## 3. Pay click",
            "",
            "`GET /guestpay/pay/demo-course/` as an anonymous visitor, through Django's handler "
            "and middleware in-process (django.test.Client, no socket), SQLite file database: "
            "creates the Order and Payment, starts the test provider's charge, answers 303. "
            f"{pay['n']} clicks after 20 warm-up clicks.",
            "",
            f"- server time: p50 **{fmt(pay['p50_ms'])} ms**, p90 {fmt(pay['p90_ms'])} ms "
            f"(target p50 < {TARGETS['pay_p50_ms']} ms)",
            f"- SQL queries: **{pay['queries']}** (target ≤ {TARGETS['pay_queries']}); with "
            f"the transaction control statements SQLite's IMMEDIATE mode issues (BEGIN "
            f"IMMEDIATE, COMMIT): {pay.get('statements', '?')} statements",
            "",
            "<details><summary>The queries</summary>",
            "",
            "```sql",
            *[query[:300] for query in pay["sql"]],
            "```",
            "</details>",
            "",
        ]
    if data.get("offer_page"):
        rows = data["offer_page"]
        plot_offer(rows, results)
        constant = len({r["pay"]["queries"] for r in rows}) == 1
        worst = max(r["pay"]["p50_ms"] / r["text"]["p50_ms"] for r in rows)
        verdicts.append(
            (
                "offer page queries independent of pay blocks",
                constant,
                ", ".join(str(r["pay"]["queries"]) for r in rows),
            )
        )
        verdicts.append(
            ("offer page render within 1.2x of plain", worst <= 1.2, f"worst {fmt(worst, 2)}x")
        )
        lines += [
            "## 4. Offer page",
            "",
            "An offer page whose body holds N pay blocks (N different offers) against the same "
            "page with N paragraph blocks, served by Wagtail in-process (as above), anonymous; "
            "the two pages rendered alternately, p50 of 100 renders each after 10 warm-up "
            "renders. Queries: data statements (BEGIN/COMMIT not counted).",
            "",
            "| blocks | pay: queries | text: queries | pay: p50 ms | text: p50 ms | ratio |",
            "|---:|---:|---:|---:|---:|---:|",
            *[
                f"| {r['blocks']} | {r['pay']['queries']} | {r['text']['queries']} | "
                f"{fmt(r['pay']['p50_ms'])} | {fmt(r['text']['p50_ms'])} | "
                f"{fmt(r['pay']['p50_ms'] / r['text']['p50_ms'], 2)} |"
                for r in rows
            ],
            "",
            "![offer page](offer_page.png)",
            "",
        ]
    if data.get("profile"):
        (results / "profile.txt").write_text(data["profile"]["text"])
        lines += [
            "## 5. Where the time goes",
            "",
            f"pyinstrument over the confirmation path of {data['profile']['orders']} orders in "
            "one process (SQLite file): the callback request, the event task and the e-mail "
            "task, called one after the other: the slowest path per order. Full tree: "
            "[profile.txt](profile.txt).",
            "",
            "```",
            *_top(data["profile"]["text"], 45),
            "```",
            "",
        ]
    if data.get("profile_notify"):
        (results / "profile-notify.txt").write_text(data["profile_notify"]["text"])
        lines += [
            f"The callback request alone ({data['profile_notify']['requests']} notifications "
            f"in-process, mean {fmt(data['profile_notify']['mean_ms'], 2)} ms without the "
            "profiler; full tree: [profile-notify.txt](profile-notify.txt)):",
            "",
            "```",
            *_top(data["profile_notify"]["text"], 30),
            "```",
            "",
        ]
    lines += staff_section(data.get("staff"), verdicts)
    lines += ["## Targets", "", "| figure | measured | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {verdict(ok)} |" for name, ok, value in verdicts]
    notes = results / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text()]
    (results / "README.md").write_text("\n".join(lines) + "\n")


def _top(text, count):
    """The profile's first lines, without the banner."""
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Profile at")), 0)
    return lines[start + 1 : start + 1 + count]


def LEVEL_DESC(data):  # noqa: N802
    return f"Each run: up to {LEVEL_REQUESTS} requests or {LEVEL_SECONDS} s, whichever comes first."


if __name__ == "__main__":  # re-render README.md from results.json (e.g. after editing NOTES.md)
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    folder = Path(__file__).resolve().parent / "results"
    write_report(json.loads((folder / "results.json").read_text()), folder)

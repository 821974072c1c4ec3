"""The targets, and the medians over alternated rounds that the report compares with them."""

import statistics

TARGETS = {
    "ingestion_ratio": 0.6,
    "ingestion_ratio_goal": 0.7,
    "ingestion_level": 8,
    "ingestion_p99_ms": 50,
    "drain_ratio": 0.5,
    "flood_orders": 10,
    "confirmation_p99_s_100": 2.0,
    "drain_1000_s": 60,
    "pay_queries": 6,
    "pay_p50_ms": 15,
    "offer_render_ratio": 1.2,
}


def medians(rows):
    """One row per (setup, target, concurrency): medians over its rounds."""
    groups = {}
    for row in rows:
        groups.setdefault((row["setup"], row["target"], row["concurrency"]), []).append(row)
    merged = []
    for (setup, target, level), group in groups.items():
        errors = {}
        for row in group:
            for key, count in row["errors"].items():
                errors[key] = errors.get(key, 0) + count
        merged.append(
            {
                "setup": setup,
                "target": target,
                "concurrency": level,
                "rounds": len(group),
                "errors": errors,
                **{
                    key: statistics.median(row[key] for row in group)
                    for key in ("rps", "p50_ms", "p99_ms")
                },
            }
        )
    return merged


def ingestion_summary(rows):
    """Per setup, at TARGETS["ingestion_level"] clients (the floor's best level if it was not
    measured): the median over rounds of guestpay/floor in the same round, and guestpay's p99."""
    summary = {}
    table = medians(rows)
    for setup in sorted({row["setup"] for row in rows}):
        floor = {
            r["concurrency"]: r for r in table if r["setup"] == setup and r["target"] == "floor"
        }
        if not floor:
            continue
        level = TARGETS["ingestion_level"]
        if level not in floor:
            level = max(floor.values(), key=lambda r: r["rps"])["concurrency"]
        at = [r for r in rows if r["setup"] == setup and r["concurrency"] == level]
        ours = [
            r
            for r in table
            if r["setup"] == setup and r["target"] == "guestpay" and r["concurrency"] == level
        ]
        if not ours:
            continue
        summary[setup] = {
            "level": level,
            "floor_rps": floor[level]["rps"],
            "rps": ours[0]["rps"],
            "p99_ms": ours[0]["p99_ms"],
            "ratio": median_ratio(at, "guestpay", "floor"),
            "rounds": ours[0]["rounds"],
        }
    return summary


def median_ratio(rows, numerator, denominator):
    """Median over rounds of numerator's req/s / denominator's req/s in the same round."""
    by_round = {}
    for row in rows:
        by_round.setdefault(row.get("round", 0), {})[row["target"]] = row
    ratios = [
        pair[numerator]["rps"] / pair[denominator]["rps"]
        for pair in by_round.values()
        if numerator in pair and denominator in pair and pair[denominator]["rps"]
    ]
    return statistics.median(ratios) if ratios else float("nan")

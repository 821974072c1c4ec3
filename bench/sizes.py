"""How big a benchmark run is (BENCH_QUICK=1 for a short one): read by the runner (__main__.py)
and by the report that describes the run (report.py)."""

import os

QUICK = os.environ.get("BENCH_QUICK") == "1"
LEVELS = [1, 8, 16] if QUICK else [1, 2, 4, 8, 16, 32]
LEVEL_REQUESTS = 300 if QUICK else 2000
LEVEL_SECONDS = 3 if QUICK else 6
BURSTS = [10, 100] if QUICK else [10, 100, 1000]
ROUNDS = 2 if QUICK else 3  # alternated rounds per comparison; the report takes medians
DRAIN_BURST = 300 if QUICK else 1000
DRAIN_LEVEL = 8

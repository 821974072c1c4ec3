"""Benchmarks of wagtail-guestpay against the floor of its stack (``make bench``).

Results: bench/results/README.md and its PNG plots. See bench/__main__.py for what is measured.
"""

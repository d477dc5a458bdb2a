"""Benchmarks of the pipeline: throughput, own overhead, lateness, cold start and cost.

Development only: nothing here is deployed. `make bench` runs `python -m benchmarks.run`,
which writes benchmarks/results/results.json and benchmarks/results/results.md.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PRICES = ROOT / "benchmarks" / "prices.json"

"""`make bench`: every benchmark of issue 8 in one run; writes results.json and results.md.

Order: cold start and memory first (fresh interpreters, most sensitive to other load),
then runs 1 and 2 on moto, then run 3 on the local runtime (started here if it is not up,
and stopped again), then the cost model, which needs the counts of runs 1 and 3.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import PRICES, RESULTS, ROOT, on_moto
from benchmarks.cost import Measured, compare, load_prices, scan_seconds
from benchmarks.footprint import cold_start, memory_in_subprocess
from benchmarks.report import markdown, verdicts

# Captured before anything imports the test support module, which sets fake credentials.
PRISTINE_ENV = dict(os.environ)
SIZES = (10_000, 1_000_000)
LATENESS_TIMEOUT_SECONDS = 480


def progress(message: str) -> None:
    """One line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Where and when the run happened."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_start": round(os.getloadavg()[0], 2),
    }


def function_memory_mb() -> int:
    """The functions' MemorySize from template.yaml's Globals."""
    found = re.search(r"^\s+MemorySize:\s*(\d+)", (ROOT / "template.yaml").read_text(), re.M)
    if found is None:
        raise RuntimeError("template.yaml sets no MemorySize")
    return int(found.group(1))


def lateness() -> dict[str, Any]:
    """Run 3 in its own interpreter (it may start and stop the local runtime)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "lateness.json"
        try:
            subprocess.run(
                [sys.executable, "-m", "benchmarks.lateness", "--json", str(out)],
                check=False,
                env=PRISTINE_ENV,
                cwd=ROOT,
                timeout=LATENESS_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as error:
            return {"error": f"no result in {error.timeout:.0f} s"}
        if not out.exists():
            return {"error": "benchmarks.lateness wrote no result (see its output above)"}
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def measured(moto: dict[str, Any]) -> Measured:
    """The cost model's inputs from the counts and durations measured on moto."""
    durations = moto["lambda_durations"]
    records = max(int(k) for k in durations["stream_records_per_programme"])
    calls = moto["throughput_on_moto"]["handler_calls"]["calls"]
    programmes = moto["throughput_on_moto"]["programmes"]
    # One notifier invocation per schedule created; run 3's count is kept beside it.
    notifier_per_programme = calls["scheduler.CreateSchedule"] / programmes
    return Measured(
        stream_invocations_per_programme=float(records),
        stream_insert_ms=durations["stream_insert_ms"]["median"],
        stream_status_only_ms=durations["stream_status_only_ms"]["median"],
        notifier_invocations_per_programme=notifier_per_programme,
        notifier_ms=durations["notifier_ms"]["median"],
        stream_calls_per_programme={k: v / programmes for k, v in calls.items()},
        notifier_calls_per_invocation=durations["notifier_calls_per_invocation"],
        item_bytes=float(durations["item_size_bytes"]),
        scan_cpu_seconds_per_item=moto["scan_probe"]["cpu_microseconds_per_item"] / 1e6,
        latency_seconds=moto["latency_ms"] / 1000,
        memory_mb=function_memory_mb(),
    )


def cost(moto: dict[str, Any], lateness_run: dict[str, Any]) -> dict[str, Any]:
    """Both designs' monthly bills at each size, with what each can promise."""
    inputs = measured(moto)
    prices = load_prices(PRICES)
    figures = lateness_run.get("lateness_seconds") or {}
    arrival = figures.get("queue_arrival") or figures.get("received_by_reader")
    local = (
        f"measured locally: median {arrival['median']:.1f} s, p95 {arrival['p95']:.1f} s, "
        f"worst {arrival['worst']:.1f} s"
        if arrival
        else "local lateness not measured"
    )
    largest = scan_seconds(inputs, max(SIZES))
    return {
        "prices_as_of": prices["as_of"],
        "inputs": inputs.__dict__,
        "observed_on_local_runtime": {
            key: lateness_run.get(key)
            for key in ("programmes", "stream_function", "notifier_function", "received_messages")
        },
        "rows": compare(inputs, prices, SIZES),
        "precision": {
            "scheduler_design": "each edge is invoked at its at() second (EventBridge "
            f"Scheduler, flexible window off; AWS states delivery within a minute); {local}",
            "scanning_design": "up to 60 s late plus the scan itself "
            f"({largest:.1f} s a scan at {max(SIZES):,} programmes a month), 30 s on average",
        },
    }


def main() -> int:
    """Run everything, write the results, and fail if any benchmark could not run."""
    began = time.monotonic()
    results: dict[str, Any] = {"machine": machine()}

    progress("run 4: cold start, 15 fresh interpreters per module")
    results["cold_start"] = cold_start(PRISTINE_ENV)
    progress("run 4: stream function memory over a 1,000-record batch")
    try:
        results["memory"] = memory_in_subprocess(PRISTINE_ENV)
    except subprocess.CalledProcessError as error:
        results["memory"] = {"error": f"{error}: {error.stderr[-500:]}"}

    progress("runs 1 and 2 on moto")
    results["runs_on_moto"] = on_moto.run()

    progress("run 3: lateness on the local runtime")
    results["lateness"] = lateness()

    progress("run 5: cost per month")
    results["cost"] = cost(results["runs_on_moto"], results["lateness"])
    results["machine"]["load_average_end"] = round(os.getloadavg()[0], 2)
    results["seconds"] = round(time.monotonic() - began, 1)
    results["goals"] = verdicts(results)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "results.md").write_text(markdown(results))
    progress(f"done in {results['seconds']:.0f} s: {RESULTS.relative_to(ROOT)}/results.md")
    print((RESULTS / "results.md").read_text())
    failed = [name for name in ("memory", "lateness") if "error" in results[name]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run 4: cold start (import time of each handler module) and the stream function's memory.

Import time: a fresh interpreter per sample imports one module and prints how long the
import statement took; the handlers' folders and the layer are on PYTHONPATH as in Lambda,
with the environment the template gives the functions (tracing on, as deployed). The three
subjects (`boto3` alone, each handler) are interleaved sample by sample, so a burst of
load elsewhere on the machine lands on all of them alike.

Memory: `python -m benchmarks.footprint memory` runs in a process of its own: the stream
function applies one 1,000-record batch on moto, measured as the rise of the process's
peak RSS, and (on another 1,000 records) as tracemalloc's peak of Python allocations.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks import ROOT
from benchmarks.on_moto import bench
from benchmarks.stats import median
from benchmarks.workload import programmes

SAMPLES = 15
SUBJECTS = {
    "boto3": "functions/stream",
    "stream_handler": "functions/stream",
    "notifier_handler": "functions/notifier",
}
LAMBDA_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "telecast",
    "POWERTOOLS_METRICS_NAMESPACE": "LiveTelecastStreams",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_TRACE_DISABLED": "false",
}
_PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it (results are committed)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _environment(base: Mapping[str, str], folder: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))
    }
    env.update(LAMBDA_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers/telecast"), str(ROOT / folder)])
    return env


def _import_seconds(module: str, env: dict[str, str]) -> float:
    output = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    ).stdout
    return float(output.strip().splitlines()[-1])


def _import_self_times(module: str, env: dict[str, str], top: int = 8) -> dict[str, float]:
    """One `-X importtime` run: self time (ms) summed per top-level package, heaviest first."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    ).stderr
    packages: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not own.isdigit():
            continue
        package = name.split(".")[0]
        packages[package] = packages.get(package, 0.0) + int(own) / 1000
    heaviest = sorted(packages.items(), key=lambda pair: pair[1], reverse=True)[:top]
    return {name: round(ms, 1) for name, ms in heaviest}


def cold_start(base_env: Mapping[str, str], samples: int = SAMPLES) -> dict[str, Any]:
    """Median import time of each handler module against `import boto3`, fresh interpreters."""
    envs = {module: _environment(base_env, folder) for module, folder in SUBJECTS.items()}
    for name, env in envs.items():
        _import_seconds(name, env)  # warm the file cache; not counted
    times: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(samples):
        for name, env in envs.items():
            times[name].append(_import_seconds(name, env))
    medians = {module: median(values) for module, values in times.items()}
    result: dict[str, Any] = {
        "samples": samples,
        "python": _shown(Path(sys.executable)),
        "environment": LAMBDA_ENV,
        "median_ms": {module: round(value * 1000, 1) for module, value in medians.items()},
        "all_ms": {m: [round(v * 1000, 1) for v in values] for m, values in times.items()},
    }
    result["ratio_to_boto3"] = {
        name: round(medians[name] / medians["boto3"], 2) for name in envs if name != "boto3"
    }
    result["import_self_ms_by_package"] = {
        module: _import_self_times(module, envs[module]) for module in SUBJECTS
    }
    return result


def memory() -> dict[str, Any]:
    """Peak memory of the stream function over a 1,000-record batch on moto (this process)."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    rss_items = programmes("mem-rss", 1000, start)
    traced_items = programmes("mem-traced", 1000, start)
    with bench() as bench_:
        bench_.load(rss_items)
        bench_.load(traced_items)
        rss_records = bench_.records_of(rss_items)
        traced_records = bench_.records_of(traced_items)

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_run = bench_.run_stream(rss_records)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        tracemalloc.start()
        traced_run = bench_.run_stream(traced_records)
        _, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
    kept_by_moto = sum(
        stat.size
        for stat in snapshot.statistics("filename")
        if f"{os.sep}moto{os.sep}" in str(stat.traceback[0].filename)
    )
    return {
        "records": len(rss_records),
        "max_workers": int(bench_.env["MAX_WORKERS"]),
        "peak_rss_before_mb": round(before / 1024, 1),
        "peak_rss_rise_mb": round((after - before) / 1024, 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "still_held_by_moto_after_mb": round(kept_by_moto / 2**20, 1),
        "batch_seconds": round(rss_run.wall, 2),
        "traced_batch_seconds": round(traced_run.wall, 2),
    }


def memory_in_subprocess(base_env: Mapping[str, str]) -> dict[str, Any]:
    """Run `memory()` in a fresh interpreter, so that its peak RSS is the batch's own."""
    began = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.footprint", "memory"],
        check=True,
        capture_output=True,
        text=True,
        env=dict(base_env),
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(completed.stdout)
    result["seconds"] = round(time.monotonic() - began, 1)
    return result


if __name__ == "__main__":
    if sys.argv[1:] == ["memory"]:
        print(json.dumps(memory()))
    else:
        print(json.dumps(cold_start(os.environ), indent=2))

"""Runs 1 and 2 on moto: the real stream function against a sequential baseline, same calls.

The stack is built the way the integration tests build it (tests/support.make_stack under
moto's mock_aws, the handlers driven through tests/pipeline.Pipeline). Every client the
handlers create gets a `CallMeter` (counts, times, optional fixed latency per call); the
baseline replays, one call after another, the exact requests our code sends for the same
kind of programme (see workload.insert_calls), through clients built by the same factory.

moto answers inside this process, under the same interpreter lock as the function, so
its own work (a few milliseconds of CPU per call) competes with the function's threads:
a cost no real AWS call puts on the caller. Run 1 is therefore measured twice: against
moto itself, and with moto's recorded replies served by the meter after the same 20 ms
(the service then costs the process nothing, as a remote one would).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws

from benchmarks import ROOT
from benchmarks.hooks import Answer, CallMeter, Reply, without_moto
from benchmarks.stats import median, summary
from benchmarks.workload import Call, insert_calls, item_size_bytes, programmes
from telecast.adapters import aws
from telecast.adapters.scheduler import target_from_settings
from telecast.adapters.table import to_item
from telecast.schedule_plan import Edge, schedule_name
from telecast.settings import StreamSettings

LATENCY_SECONDS = 0.020
BATCH_SIZE = 100
BATCHES = 10
REMOTE_BATCHES = 10
MAX_WORKERS = 16
SWEEP_WORKERS = (1, 4, 8, 16, 32, 64)
SWEEP_BATCHES = 2
SINGLES = 20
ATTRIBUTION_PROGRAMMES = 400
ATTRIBUTION_CHUNK = 25
WARM_UP = 10

Record = dict[str, Any]
Item = dict[str, Any]


@dataclass
class Modules:
    """The handler modules and test helpers, imported from their folders."""

    stream_handler: ModuleType
    notifier_handler: ModuleType
    pipeline: ModuleType
    support: ModuleType


def project_modules() -> Modules:
    """Import the handlers and the test pipeline the way pytest's pythonpath does."""
    for folder in ("functions/stream", "functions/notifier", "tests"):
        path = str(ROOT / folder)
        if path not in sys.path:
            sys.path.insert(0, path)
    # support first: it sets the fake credentials and Powertools variables that the
    # handler modules read when they are imported.
    support = importlib.import_module("support")
    return Modules(
        stream_handler=importlib.import_module("stream_handler"),
        notifier_handler=importlib.import_module("notifier_handler"),
        pipeline=importlib.import_module("pipeline"),
        support=support,
    )


def _meters() -> dict[str, CallMeter]:
    replies: dict[str, Answer] = {}
    meters: dict[str, CallMeter] = {}
    for side in ("stream", "baseline"):
        meters[side] = CallMeter()
        meters[f"{side}_remote"] = CallMeter(replies=replies)
        meters[f"{side}_cpu"] = CallMeter(clock=time.process_time)
    meters["notifier"] = CallMeter()
    return meters


@dataclass
class Timing:
    """Wall and CPU seconds of one measured step (CPU of the whole process, every thread)."""

    wall: float
    cpu: float


@contextlib.contextmanager
def _timed() -> Iterator[Timing]:
    timing = Timing(0.0, 0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    yield timing
    timing.wall = time.perf_counter() - wall
    timing.cpu = time.process_time() - cpu


@dataclass
class Bench:
    """The stack on moto, the pipeline, and the meters of each side."""

    modules: Modules
    patch: pytest.MonkeyPatch
    env: dict[str, str]
    meters: dict[str, CallMeter]
    pipeline: Any = None
    stream_meter: str = "stream"
    items: dict[str, Item] = field(default_factory=dict)
    inserts: dict[str, Record] = field(default_factory=dict)
    modifies: dict[str, list[Record]] = field(default_factory=dict)
    _baseline_clients: dict[str, dict[str, Any]] = field(default_factory=dict)

    def client(self, meter_name: str, service: str) -> Any:
        """A client from the functions' own factory, with the named meter attached."""
        meter = self.meters[meter_name]
        made = aws.client(service)
        return meter.attach(without_moto(made) if meter.replies is not None else made)

    def set_latency(self, seconds: float) -> None:
        """Give every metered client the same fixed latency per call."""
        for meter in self.meters.values():
            meter.latency_seconds = seconds

    def use(self, workers: int, meter_name: str) -> None:
        """Rebuild the stream function's service: MAX_WORKERS and the meter of its clients."""
        self.patch.setenv("MAX_WORKERS", str(workers))
        self.stream_meter = meter_name
        handler = self.modules.stream_handler
        handler.stream_sync.cache_clear()
        self.pipeline.sync = handler.stream_sync()
        self.pipeline.sync.invoker = self.pipeline.invoker
        self.meters[meter_name].reset()

    def share_replies(self) -> None:
        """Make the replies moto gave so far available to the remote-service meters.

        Writes are answered with moto's recorded reply; a GetItem with the item as written,
        which is what the table holds when the stream function reads it.
        """
        replies = self.meters["stream_remote"].replies
        if replies is None:
            raise RuntimeError("the remote-service meters need a replies table")
        for name in ("stream", "baseline"):
            replies.update(self.meters[name].recorded)
        serializer = self.modules.pipeline._serializer

        def get_item(body: bytes) -> Reply:
            program_id = json.loads(body)["Key"]["program_id"]["S"]
            image = {k: serializer.serialize(v) for k, v in self.items[program_id].items()}
            content = json.dumps({"Item": image}).encode("utf-8")
            headers = {"content-type": "application/x-amz-json-1.0"}
            return Reply(200, headers, content)

        replies["dynamodb.GetItem"] = get_item

    def load(self, items: list[Item]) -> None:
        """Write the items (unmetered, as the broadcaster would) and collect their records."""
        dynamodb, table = self.pipeline.dynamodb, self.env["TABLE_NAME"]
        serializer = self.modules.pipeline._serializer
        self.items.update((item["program_id"], item) for item in items)
        for index in range(0, len(items), 25):
            requests = [
                {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}}
                for item in items[index : index + 25]
            ]
            dynamodb.batch_write_item(RequestItems={table: requests})
        self.drain()

    def drain(self) -> None:
        """Read every pending stream record, keeping INSERTs and MODIFYs by programme."""
        while records := self.pipeline.pending_records():
            for record in records:
                program_id = record["dynamodb"]["Keys"]["program_id"]["S"]
                if record["eventName"] == "INSERT":
                    self.inserts[program_id] = record
                else:
                    self.modifies.setdefault(program_id, []).append(record)

    def records_of(self, items: list[Item]) -> list[Record]:
        """The INSERT records of the items, in order."""
        return [self.inserts[item["program_id"]] for item in items]

    def run_stream(self, records: list[Record]) -> Timing:
        """Hand one batch to the stream handler; return its wall and CPU time."""
        context = self.modules.support.LambdaContext()
        with _timed() as timing:
            response = self.modules.stream_handler.handler({"Records": records}, context)
        if response.get("batchItemFailures"):
            raise RuntimeError(f"stream batch reported failures: {response}")
        return timing

    def run_baseline(self, meter_name: str, calls: list[Call]) -> Timing:
        """Make the calls one after another; return the wall and CPU time."""
        if meter_name not in self._baseline_clients:
            self._baseline_clients[meter_name] = {
                service: self.client(meter_name, service) for service in ("scheduler", "dynamodb")
            }
        clients = self._baseline_clients[meter_name]
        with _timed() as timing:
            for service, operation, parameters in calls:
                getattr(clients[service], operation)(**parameters)
        return timing

    def baseline_calls(self, items: list[Item]) -> list[Call]:
        """The exact requests our stream function sends for these programmes' INSERTs."""
        target = target_from_settings(StreamSettings.from_env(self.env))
        now = datetime.now(UTC)
        table = self.env["TABLE_NAME"]
        return [call for item in items for call in insert_calls(item, target, table, now)]

    def fire(self, program_id: str, edge: Edge) -> float:
        """Do what Scheduler does for one edge; return the notifier handler's wall time."""
        scheduler = self.pipeline.scheduler
        group = self.env["SCHEDULE_GROUP_NAME"]
        name = schedule_name(program_id, edge)
        schedule = scheduler.get_schedule(Name=name, GroupName=group)
        scheduler.delete_schedule(Name=name, GroupName=group)
        payload = json.loads(schedule["Target"]["Input"])
        with _timed() as timing:
            # As Scheduler does, at the payload's instant: the pipeline sets the clock.
            result = self.pipeline.invoke_notifier(payload)
        if not result.get("published"):
            raise RuntimeError(f"notifier did not publish {name}: {result}")
        return timing.wall


@contextlib.contextmanager
def quiet_handlers(modules: Modules) -> Iterator[None]:
    """Send the functions' logs and metrics to a sink: still formatted, never printed."""
    sink = io.StringIO()
    restore = []
    for module in (modules.stream_handler, modules.notifier_handler):
        handler = module.logger.registered_handler
        restore.append((handler, handler.setStream(sink)))
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            for handler, stream in restore:
                if stream is not None:
                    handler.setStream(stream)


@contextlib.contextmanager
def bench() -> Iterator[Bench]:
    """The stack on moto with metered handler clients and metered baselines."""
    modules = project_modules()
    with mock_aws(), pytest.MonkeyPatch.context() as patch, quiet_handlers(modules):
        env = modules.support.make_stack()
        env["MAX_WORKERS"] = str(MAX_WORKERS)
        bench_ = Bench(modules, patch, env, _meters())
        patch.setattr(
            modules.stream_handler,
            "client",
            lambda service: bench_.client(bench_.stream_meter, service),
        )
        patch.setattr(
            modules.notifier_handler, "client", lambda service: bench_.client("notifier", service)
        )
        bench_.pipeline = modules.pipeline.Pipeline(env, patch)
        try:
            yield bench_
        finally:
            modules.stream_handler.stream_sync.cache_clear()
            modules.notifier_handler.notifier.cache_clear()


def progress(message: str) -> None:
    """One line on stderr, so that a long run shows where it is."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> float:
    """The machine's one-minute load average (other work competes for the cores)."""
    return round(os.getloadavg()[0], 2)


def _batches(items: list[Item], size: int = BATCH_SIZE) -> list[list[Item]]:
    return [items[index : index + size] for index in range(0, len(items), size)]


def _per(calls: dict[str, int], count: int) -> dict[str, float]:
    return {name: round(value / count, 3) for name, value in calls.items()}


def _warm_up(
    bench_: Bench, warm: tuple[list[Item], list[Item]], stream_meter: str, baseline_meter: str
) -> None:
    """One small batch on each side first: a new client's first calls load models and caches."""
    bench_.run_stream(bench_.records_of(warm[0]))
    bench_.run_baseline(baseline_meter, bench_.baseline_calls(warm[1]))
    bench_.meters[stream_meter].reset()
    bench_.meters[baseline_meter].reset()


def _side_by_side(
    bench_: Bench,
    handler_items: list[Item],
    baseline_items: list[Item],
    stream_meter: str,
    baseline_meter: str,
    warm: tuple[list[Item], list[Item]],
) -> dict[str, Any]:
    """Batch k of the handler, then batch k of the baseline, for every k: times and calls."""
    bench_.use(MAX_WORKERS, stream_meter)
    _warm_up(bench_, warm, stream_meter, baseline_meter)
    load_before = load_average()
    ours: list[Timing] = []
    theirs: list[Timing] = []
    for handler_batch, baseline_batch in zip(
        _batches(handler_items), _batches(baseline_items), strict=True
    ):
        ours.append(bench_.run_stream(bench_.records_of(handler_batch)))
        calls = bench_.baseline_calls(baseline_batch)
        theirs.append(bench_.run_baseline(baseline_meter, calls))
    wall_ratios = [b.wall / a.wall for a, b in zip(ours, theirs, strict=True)]
    cpu_ratios = [a.cpu / b.cpu for a, b in zip(ours, theirs, strict=True)]
    count = len(handler_items)
    handler_wall = sum(t.wall for t in ours)
    baseline_wall = sum(t.wall for t in theirs)
    return {
        "programmes": count,
        "batch_size": BATCH_SIZE,
        "max_workers": MAX_WORKERS,
        "load_average": [load_before, load_average()],
        "handler_batch_seconds": [round(t.wall, 4) for t in ours],
        "baseline_batch_seconds": [round(t.wall, 4) for t in theirs],
        "handler_cpu_seconds": round(sum(t.cpu for t in ours), 3),
        "baseline_cpu_seconds": round(sum(t.cpu for t in theirs), 3),
        "handler_programmes_per_second": round(count / handler_wall, 1),
        "baseline_programmes_per_second": round(count / baseline_wall, 1),
        "speedup_per_batch": summary(wall_ratios, digits=2),
        "speedup_overall": round(baseline_wall / handler_wall, 2),
        "cpu_ratio_per_batch": summary(cpu_ratios, digits=3),
        "cpu_ratio_overall": round(sum(t.cpu for t in ours) / sum(t.cpu for t in theirs), 3),
        "handler_calls": bench_.meters[stream_meter].snapshot(),
        "baseline_calls": bench_.meters[baseline_meter].snapshot(),
    }


def _sweep(bench_: Bench, items: list[Item]) -> list[dict[str, Any]]:
    """Programmes per second against MAX_WORKERS, remote-service model, 20 ms per call."""
    rows = []
    for workers in SWEEP_WORKERS:
        bench_.use(workers, "stream_remote")
        times = [bench_.run_stream(bench_.records_of(batch)).wall for batch in _batches(items)]
        rows.append(
            {
                "max_workers": workers,
                "programmes": len(items),
                "batch_seconds_median": round(median(times), 4),
                "programmes_per_second": round(len(items) / sum(times), 1),
            }
        )
    bench_.use(MAX_WORKERS, "stream")
    return rows


def _lambda_durations(bench_: Bench, items: list[Item]) -> dict[str, Any]:
    """One-record stream invocations, notifier invocations, status-only invocations (moto)."""
    bench_.use(MAX_WORKERS, "stream")
    stream, notifier = bench_.meters["stream"], bench_.meters["notifier"]
    inserts = [bench_.run_stream([record]).wall for record in bench_.records_of(items)]
    insert_calls = stream.snapshot()

    notifier.reset()
    fired = [bench_.fire(item["program_id"], edge) for item in items for edge in Edge]
    notifier_calls = notifier.snapshot()

    bench_.drain()
    status_records = [record for item in items for record in bench_.modifies[item["program_id"]]]
    stream.reset()
    status_only = [bench_.run_stream([record]).wall for record in status_records]
    if stream.snapshot()["total_calls"]:
        raise RuntimeError("a status-only record made AWS calls")
    records_per_programme = Counter(len(bench_.modifies[item["program_id"]]) + 1 for item in items)
    return {
        "programmes": len(items),
        "latency_ms": LATENCY_SECONDS * 1000,
        "stream_insert_ms": summary([t * 1000 for t in inserts], digits=1),
        "stream_insert_calls_per_invocation": _per(insert_calls["calls"], len(items)),
        "stream_status_only_ms": summary([t * 1000 for t in status_only], digits=2),
        "notifier_ms": summary([t * 1000 for t in fired], digits=1),
        "notifier_invocations": len(fired),
        "notifier_calls_per_invocation": _per(notifier_calls["calls"], len(fired)),
        "stream_records_per_programme": {
            str(k): v for k, v in sorted(records_per_programme.items())
        },
        "item_size_bytes": max(
            item_size_bytes(bench_.pipeline.get(item["program_id"])) for item in items
        ),
    }


def _attribution(
    bench_: Bench,
    handler_items: list[Item],
    baseline_items: list[Item],
    warm: tuple[list[Item], list[Item]],
) -> dict[str, Any]:
    """One worker, no latency, CPU clocks: the handler's time split into ours, botocore, moto."""
    bench_.use(1, "stream_cpu")
    _warm_up(bench_, warm, "stream_cpu", "baseline_cpu")
    baseline = bench_.meters["baseline_cpu"]
    handler_cpu = baseline_cpu = 0.0
    # Small alternating chunks: a change in load elsewhere lands on both sides alike.
    for ours_chunk, theirs_chunk in zip(
        _batches(handler_items, ATTRIBUTION_CHUNK),
        _batches(baseline_items, ATTRIBUTION_CHUNK),
        strict=True,
    ):
        handler_cpu += bench_.run_stream(bench_.records_of(ours_chunk)).cpu
        calls = bench_.baseline_calls(theirs_chunk)
        baseline_cpu += bench_.run_baseline("baseline_cpu", calls).cpu
    ours, theirs = bench_.meters["stream_cpu"].snapshot(), baseline.snapshot()
    bench_.use(MAX_WORKERS, "stream")
    count = len(handler_items)

    def per_record_ms(seconds: float) -> float:
        return round(seconds / count * 1000, 4)

    our_code = handler_cpu - ours["in_call_seconds"]
    botocore = ours["in_call_seconds"] - ours["transport_seconds"]
    return {
        "programmes": count,
        "max_workers": 1,
        "clock": "process CPU time",
        "handler_ms_per_record": per_record_ms(handler_cpu),
        "our_code_ms_per_record": per_record_ms(our_code),
        "botocore_ms_per_record": per_record_ms(botocore),
        "moto_ms_per_record": per_record_ms(ours["transport_seconds"]),
        "baseline_ms_per_record": per_record_ms(baseline_cpu),
        "baseline_outside_calls_ms_per_record": per_record_ms(
            baseline_cpu - theirs["in_call_seconds"]
        ),
        "calls_per_record": round(ours["total_calls"] / count, 3),
        "our_code_vs_client_calls": round(our_code / ours["in_call_seconds"], 3),
        "our_code_vs_botocore_alone": round(our_code / botocore, 3),
    }


def _scan_probe(bench_: Bench) -> dict[str, Any]:
    """The scanning design's per-minute work on this table: read, decode and filter it all."""
    meter = CallMeter(clock=time.process_time)
    client = meter.attach(aws.client("dynamodb"))
    now = datetime.now(UTC)
    horizon = now + timedelta(minutes=1)
    items, due = 0, 0
    sizes: list[int] = []
    with _timed() as timing:
        for page in client.get_paginator("scan").paginate(TableName=bench_.env["TABLE_NAME"]):
            for image in page.get("Items", []):
                item = to_item(image)
                items += 1
                for attribute in ("start_time", "end_time"):
                    text = str(item.get(attribute)).replace("Z", "+00:00")
                    due += now <= datetime.fromisoformat(text) < horizon
                sizes.append(item_size_bytes(item))
    snapshot = meter.snapshot()
    return {
        "items": items,
        "due_edges": due,
        "scan_calls": snapshot["total_calls"],
        "clock": "process CPU time, moto's own share removed",
        "cpu_microseconds_per_item": round(
            (timing.cpu - snapshot["transport_seconds"]) / items * 1_000_000, 2
        ),
        "mean_item_bytes": round(sum(sizes) / len(sizes), 1),
    }


def run(report: Callable[[str], None] = progress) -> dict[str, Any]:
    """Runs 1 and 2, the per-invocation figures the cost model needs, and the scan probe."""
    began = time.perf_counter()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    count = BATCH_SIZE * BATCHES
    warm = {
        phase: (
            programmes(f"warm{phase}-ours", WARM_UP, start),
            programmes(f"warm{phase}-base", WARM_UP, start),
        )
        for phase in ("moto", "remote", "bare", "attribution")
    }
    population = {
        "latency_handler": programmes("lat-ours", count, start),
        "latency_baseline": programmes("lat-base", count, start),
        "bare_handler": programmes("bare-ours", count, start),
        "bare_baseline": programmes("bare-base", count, start),
        "single": programmes("single", SINGLES, start),
        "attribution_handler": programmes("attr-ours", ATTRIBUTION_PROGRAMMES, start),
        "attribution_baseline": programmes("attr-base", ATTRIBUTION_PROGRAMMES, start),
    }
    with bench() as bench_:
        report(f"moto: writing {sum(map(len, population.values()))} programmes")
        for items in [*population.values(), *(i for pair in warm.values() for i in pair)]:
            bench_.load(items)

        bench_.set_latency(LATENCY_SECONDS)
        report("run 1 on moto: 20 ms per call, stream function then sequential baseline")
        on_moto = _side_by_side(
            bench_,
            population["latency_handler"],
            population["latency_baseline"],
            "stream",
            "baseline",
            warm["moto"],
        )
        report("run 1, remote-service model: moto's recorded replies after 20 ms")
        bench_.share_replies()
        remote_count = REMOTE_BATCHES * BATCH_SIZE
        remote = _side_by_side(
            bench_,
            population["latency_handler"][:remote_count],
            population["latency_baseline"][:remote_count],
            "stream_remote",
            "baseline_remote",
            warm["remote"],
        )
        remote["sweep"] = _sweep(
            bench_, population["latency_handler"][: SWEEP_BATCHES * BATCH_SIZE]
        )
        report("moto: single invocations of each function (cost inputs) and the scan probe")
        durations = _lambda_durations(bench_, population["single"])
        scan = _scan_probe(bench_)

        bench_.set_latency(0.0)
        report("run 2 on moto: no added latency")
        bare = _side_by_side(
            bench_,
            population["bare_handler"],
            population["bare_baseline"],
            "stream",
            "baseline",
            warm["bare"],
        )
        bare["attribution"] = _attribution(
            bench_,
            population["attribution_handler"],
            population["attribution_baseline"],
            warm["attribution"],
        )
    return {
        "throughput_on_moto": on_moto,
        "throughput_remote_model": remote,
        "overhead": bare,
        "lambda_durations": durations,
        "scan_probe": scan,
        "latency_ms": LATENCY_SECONDS * 1000,
        "seconds": round(time.perf_counter() - began, 1),
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    print()

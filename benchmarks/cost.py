"""Run 5: the monthly AWS bill of this design beside a one-minute scanning design.

Pure arithmetic on measured inputs (calls and invocations counted in runs 1 and 3, Lambda
durations measured on moto with 20 ms per call) and the list prices in prices.json.

This design, per programme: two one-shot schedule invocations; the stream function's
invocations (one per stream record in the worst case, where no two records share a batch:
the INSERT, then the status writes of the stream function and of the notifier); two
notifier invocations; the DynamoDB writes and reads those invocations make; two publishes.

The scanning design: a function invoked every minute (43,200 times in a 30-day month)
scans the whole table, publishes the edges due in that minute and marks each announced
edge on its item (one write per edge). The table holds a rolling week of programmes (the
same in both designs): 7/30 of a month's programmes. A scan reads every item, billed at
half a read unit per 4 KB (eventually consistent); its duration is the page round trips
(1 MB a page, 20 ms each) plus the CPU to decode each item, measured on moto.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MINUTES_PER_MONTH = 30 * 24 * 60
ROLLING_DAYS = 7
DAYS_PER_MONTH = 30
SCAN_PAGE_BYTES = 1024 * 1024
READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
EDGES_PER_PROGRAMME = 2


def load_prices(path: Path) -> dict[str, Any]:
    """The list prices, as kept in prices.json."""
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


@dataclass(frozen=True)
class Measured:
    """What the runs measured, per programme or per invocation."""

    stream_invocations_per_programme: float
    stream_insert_ms: float
    stream_status_only_ms: float
    notifier_invocations_per_programme: float
    notifier_ms: float
    stream_calls_per_programme: dict[str, float]
    notifier_calls_per_invocation: dict[str, float]
    item_bytes: float
    scan_cpu_seconds_per_item: float
    latency_seconds: float
    memory_mb: int


def _units(size_bytes: float, unit: int) -> int:
    return max(1, math.ceil(size_bytes / unit))


def scheduler_usage(m: Measured, programmes: int) -> dict[str, float]:
    """This design's monthly usage for `programmes` programmes a month."""
    notifier_calls = {
        name: count * m.notifier_invocations_per_programme
        for name, count in m.notifier_calls_per_invocation.items()
    }
    calls = dict(m.stream_calls_per_programme)
    for name, count in notifier_calls.items():
        calls[name] = calls.get(name, 0.0) + count
    writes = sum(calls.get(f"dynamodb.{op}", 0.0) for op in ("PutItem", "UpdateItem", "DeleteItem"))
    reads = calls.get("dynamodb.GetItem", 0.0)
    status_only = m.stream_invocations_per_programme - 1
    stream_ms = math.ceil(m.stream_insert_ms) + status_only * math.ceil(m.stream_status_only_ms)
    notifier_ms = m.notifier_invocations_per_programme * math.ceil(m.notifier_ms)
    gb = m.memory_mb / 1024
    return {
        "scheduler_invocations": programmes * calls.get("scheduler.CreateSchedule", 0.0),
        "lambda_requests": programmes
        * (m.stream_invocations_per_programme + m.notifier_invocations_per_programme),
        "lambda_gb_seconds": programmes * gb * (stream_ms + notifier_ms) / 1000,
        "dynamodb_write_units": programmes * writes * _units(m.item_bytes, WRITE_UNIT_BYTES),
        "dynamodb_read_units": programmes * reads * _units(m.item_bytes, READ_UNIT_BYTES),
        "stream_records_read_by_lambda": programmes * m.stream_invocations_per_programme,
        "sns_publishes": programmes * calls.get("sns.Publish", 0.0),
    }


def table_items(programmes: int) -> float:
    """Items in a table that keeps a rolling week of a month's programmes."""
    return programmes * ROLLING_DAYS / DAYS_PER_MONTH


def scan_seconds(m: Measured, programmes: int) -> float:
    """One scan of the rolling-week table: page round trips plus decoding every item."""
    items = table_items(programmes)
    pages = _units(items * m.item_bytes, SCAN_PAGE_BYTES)
    return pages * m.latency_seconds + items * m.scan_cpu_seconds_per_item


def scanner_usage(m: Measured, programmes: int) -> dict[str, float]:
    """The one-minute scanning design's monthly usage for `programmes` programmes a month."""
    items = table_items(programmes)
    edges = programmes * EDGES_PER_PROGRAMME
    # Each announced edge costs a publish and a marking write, 20 ms each, in some minute.
    work_seconds = MINUTES_PER_MONTH * scan_seconds(m, programmes) + edges * 2 * m.latency_seconds
    read_units_per_scan = 0.5 * _units(items * m.item_bytes, READ_UNIT_BYTES)
    return {
        "scheduler_invocations": MINUTES_PER_MONTH,
        "lambda_requests": MINUTES_PER_MONTH,
        "lambda_gb_seconds": m.memory_mb / 1024 * work_seconds,
        "dynamodb_write_units": edges * _units(m.item_bytes, WRITE_UNIT_BYTES),
        "dynamodb_read_units": MINUTES_PER_MONTH * read_units_per_scan,
        "stream_records_read_by_lambda": 0.0,
        "sns_publishes": edges,
    }


def bill(usage: dict[str, float], prices: dict[str, Any]) -> dict[str, float]:
    """Dollars per line item and in total, for one month of `usage`."""
    lam, sch = prices["lambda"], prices["scheduler"]
    ddb, sns = prices["dynamodb_on_demand"], prices["sns"]
    lines = {
        "scheduler": usage["scheduler_invocations"] * sch["invocation_per_million"] / 1e6,
        "lambda_requests": usage["lambda_requests"] * lam["request_per_million"] / 1e6,
        "lambda_duration": usage["lambda_gb_seconds"] * lam["gb_second_x86"],
        "dynamodb_writes": usage["dynamodb_write_units"]
        * ddb["write_request_unit_per_million"]
        / 1e6,
        "dynamodb_reads": usage["dynamodb_read_units"] * ddb["read_request_unit_per_million"] / 1e6,
        "dynamodb_stream_reads": usage["stream_records_read_by_lambda"]
        * ddb["stream_reads_by_lambda_trigger"],
        "sns": usage["sns_publishes"] * sns["publish_per_million"] / 1e6,
    }
    lines["total"] = sum(lines.values())
    return {name: round(value, 4) for name, value in lines.items()}


def compare(m: Measured, prices: dict[str, Any], sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Both designs' bills and usage at each size, with the ratio scanner / this design."""
    rows = []
    for programmes in sizes:
        ours, theirs = scheduler_usage(m, programmes), scanner_usage(m, programmes)
        ours_bill, theirs_bill = bill(ours, prices), bill(theirs, prices)
        rows.append(
            {
                "programmes_per_month": programmes,
                "table_items_scanned": round(table_items(programmes)),
                "scan_seconds": round(scan_seconds(m, programmes), 3),
                "scheduler_design": {"usage": _rounded(ours), "bill": ours_bill},
                "scanning_design": {"usage": _rounded(theirs), "bill": theirs_bill},
                "ratio_scanning_to_scheduler": round(theirs_bill["total"] / ours_bill["total"], 1),
            }
        )
    return rows


def _rounded(usage: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in usage.items()}

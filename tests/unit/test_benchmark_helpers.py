"""Benchmark helpers: order statistics, the baseline's calls, the call meter, the cost model."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from benchmarks.cost import (
    Measured,
    bill,
    scanner_usage,
    scheduler_usage,
    table_items,
)
from benchmarks.hooks import CallMeter, Reply, without_moto
from benchmarks.stats import percentile, summary
from benchmarks.workload import insert_calls, item_size_bytes, programme_item
from telecast.adapters.scheduler import ScheduleTarget

PRICES = {
    "lambda": {"request_per_million": 0.20, "gb_second_x86": 0.0000166667},
    "scheduler": {"invocation_per_million": 1.0},
    "dynamodb_on_demand": {
        "write_request_unit_per_million": 0.625,
        "read_request_unit_per_million": 0.125,
        "stream_reads_by_lambda_trigger": 0.0,
    },
    "sns": {"publish_per_million": 0.50},
}


def measured(**changes: object) -> Measured:
    """Inputs shaped like a real run's: 2 schedules, 4 stream records, 2 notifier calls."""
    values: dict[str, object] = {
        "stream_invocations_per_programme": 4.0,
        "stream_insert_ms": 70.0,
        "stream_status_only_ms": 0.4,
        "notifier_invocations_per_programme": 2.0,
        "notifier_ms": 120.0,
        "stream_calls_per_programme": {"scheduler.CreateSchedule": 2.0, "dynamodb.UpdateItem": 1.0},
        "notifier_calls_per_invocation": {
            "dynamodb.GetItem": 1.0,
            "dynamodb.PutItem": 1.0,
            "dynamodb.UpdateItem": 2.0,
            "sns.Publish": 1.0,
        },
        "item_bytes": 200.0,
        "scan_cpu_seconds_per_item": 0.00004,
        "latency_seconds": 0.02,
        "memory_mb": 256,
    }
    values.update(changes)
    return Measured(**values)  # type: ignore[arg-type]


def test_percentile_interpolates_between_the_closest_ranks() -> None:
    # given four samples
    samples = [4.0, 1.0, 3.0, 2.0]

    # when / then
    assert percentile(samples, 0.5) == pytest.approx(2.5)
    assert percentile(samples, 0.0) == 1.0
    assert percentile(samples, 1.0) == 4.0


def test_percentile_of_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_summary_reports_count_median_p95_and_extremes() -> None:
    result = summary([float(n) for n in range(1, 101)])

    assert result == {"count": 100, "median": 50.5, "p95": 95.05, "best": 1.0, "worst": 100.0}


def test_the_baseline_makes_the_stream_functions_read_schedule_writes_and_status_write() -> None:
    # given a future programme and the stack's schedule target
    item = programme_item("prog-7", 7, datetime(2030, 1, 2, 20, 0, tzinfo=UTC))
    target = ScheduleTarget("group", "arn:aws:lambda:::function:n", "arn:aws:iam:::role/r")

    # when the calls for its INSERT are computed
    calls = insert_calls(item, target, "programmes", datetime(2030, 1, 1, tzinfo=UTC))

    # then they are a consistent read, START and END schedules, then the status write
    assert [(service, operation) for service, operation, _ in calls] == [
        ("dynamodb", "get_item"),
        ("scheduler", "create_schedule"),
        ("scheduler", "create_schedule"),
        ("dynamodb", "update_item"),
    ]
    assert calls[0][2]["ConsistentRead"] is True
    assert calls[1][2]["ScheduleExpression"] == "at(2030-01-02T20:00:00)"
    assert calls[2][2]["ScheduleExpression"] == "at(2030-01-02T20:30:00)"
    assert calls[3][2]["ExpressionAttributeValues"][":status"] == {"S": "SCHEDULED"}


def test_item_size_counts_attribute_names_and_values() -> None:
    assert item_size_bytes({"id": "abc", "n": 12345, "ok": True}) == 2 + 3 + 1 + 4 + 2 + 1


def test_the_meter_counts_calls_and_can_answer_them_itself() -> None:
    # given a client whose meter holds a recorded reply and adds a latency per call
    slept: list[float] = []
    meter = CallMeter(
        latency_seconds=0.02,
        sleep=slept.append,
        replies={"dynamodb.UpdateItem": Reply(200, {}, b"{}")},
    )
    client = meter.attach(without_moto(boto3.client("dynamodb", region_name="us-east-1")))

    # when the client makes two calls
    for _ in range(2):
        client.update_item(TableName="programmes", Key={"program_id": {"S": "p"}})

    # then both were counted, answered from the recording, and each paid the latency
    assert meter.snapshot()["calls"] == {"dynamodb.UpdateItem": 2}
    assert slept == [0.02, 0.02]


def test_a_rolling_week_table_holds_seven_thirtieths_of_a_months_programmes() -> None:
    assert table_items(30_000) == pytest.approx(7_000)


def test_this_designs_bill_grows_in_proportion_to_programmes() -> None:
    small = bill(scheduler_usage(measured(), 10_000), PRICES)["total"]
    large = bill(scheduler_usage(measured(), 1_000_000), PRICES)["total"]

    assert large == pytest.approx(100 * small, rel=0.01)


def test_this_design_is_billed_for_two_schedule_invocations_and_two_publishes_each() -> None:
    usage = scheduler_usage(measured(), 1_000)

    assert usage["scheduler_invocations"] == 2_000
    assert usage["sns_publishes"] == 2_000
    assert usage["dynamodb_write_units"] == 7_000  # status, 2 x (idempotency x 2 + status)
    assert usage["lambda_requests"] == 6_000  # 4 stream records + 2 notifier invocations


def test_the_scanner_reads_the_whole_table_every_minute() -> None:
    usage = scanner_usage(measured(), 30_000)

    # 7,000 items of 200 bytes are 342 blocks of 4 KB, half a unit each, 43,200 times
    assert usage["dynamodb_read_units"] == pytest.approx(43_200 * 171)
    assert usage["lambda_requests"] == 43_200

"""Exactly one message per programme edge, whatever is delivered twice or fails on the way."""

from __future__ import annotations

import json
import os
import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

import notifier_handler
from faults import FaultInjector
from pipeline import Pipeline
from support import iso
from telecast.schedule_plan import Edge, schedule_name

NOTIFIER_ATTEMPTS = 3  # Lambda's asynchronous invocation: the call and two retries


def _programme(program_id: str, start_in: int) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=start_in)
    return {
        "program_id": program_id,
        "title": f"Programme {program_id}",
        "start_time": iso(start),
        "end_time": iso(start + timedelta(seconds=600)),
    }


def _deliver_like_lambda(pipeline: Pipeline, records: list[dict[str, Any]]) -> int:
    """Hand a batch over and over as the event source mapping does; return the attempts."""
    pending = records
    attempts = 0
    while pending:
        attempts += 1
        assert attempts <= 300, "the batch never succeeded"
        try:
            response = pipeline.run_stream(pending)
        except BatchProcessingError:
            continue  # every record failed: Lambda retries the whole batch
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        if not failed:
            return attempts
        sequences = [record["dynamodb"]["SequenceNumber"] for record in pending]
        pending = pending[min(sequences.index(sequence) for sequence in failed) :]
    return attempts


def _invoke_like_async_lambda(pipeline: Pipeline, payload: dict[str, Any]) -> bool:
    """Invoke with Lambda's async retries; False when the event would go to the DLQ."""
    for _ in range(NOTIFIER_ATTEMPTS):
        try:
            pipeline.invoke_notifier(payload)
            return True
        except Exception:  # noqa: BLE001 - any error makes Lambda retry
            continue
    return False


def _expected_names(program_ids: list[str]) -> set[str]:
    return {schedule_name(program_id, edge) for program_id in program_ids for edge in Edge}


def test_replaying_every_batch_twice_leaves_exactly_the_expected_schedules(
    pipeline: Pipeline,
) -> None:
    ids = [f"replay-{n}" for n in range(30)]
    for program_id in ids:
        pipeline.put(_programme(program_id, 900))
    records = pipeline.pending_records()
    for program_id in ids[:10]:
        pipeline.update(program_id, end_time=iso(datetime.now(UTC) + timedelta(hours=3)))
    for program_id in ids[10:15]:
        pipeline.delete(program_id)
    records += pipeline.pending_records()

    for start in range(0, len(records), 10):
        batch = records[start : start + 10]
        pipeline.run_stream(batch)
        pipeline.run_stream(batch)

    assert set(pipeline.schedules()) == _expected_names(ids[:10] + ids[15:])
    ends = {
        name: schedule["ScheduleExpression"]
        for name, schedule in pipeline.schedules().items()
        if name.endswith("END")
    }
    for program_id in ids[:10]:
        updated = pipeline.get(program_id)
        assert updated is not None
        assert ends[schedule_name(program_id, Edge.END)] == f"at({updated['end_time'][:-1]})"


def test_duplicates_shuffled_into_later_batches_converge(pipeline: Pipeline) -> None:
    ids = [f"shuffle-{n}" for n in range(20)]
    for program_id in ids:
        pipeline.put(_programme(program_id, 900))
    for program_id in ids[:5]:
        pipeline.delete(program_id)
    records = pipeline.pending_records()
    duplicates = random.Random(3).sample(records, 10)

    pipeline.run_stream(records)
    pipeline.run_stream(sorted(duplicates, key=lambda r: r["dynamodb"]["SequenceNumber"]))

    assert set(pipeline.schedules()) == _expected_names(ids[5:])


def test_invoking_the_notifier_twice_publishes_one_message(pipeline: Pipeline) -> None:
    pipeline.put(_programme("twice", 0))
    payload = {
        "program_id": "twice",
        "event_type": "START",
        "scheduled_for": pipeline.get("twice")["start_time"],
    }

    pipeline.invoke_notifier(payload)
    pipeline.invoke_notifier(payload)

    assert len(pipeline.messages()) == 1


def test_concurrent_invocations_for_one_schedule_publish_one_message(
    pipeline: Pipeline,
) -> None:
    pipeline.put(_programme("concurrent", 0))
    payload = {
        "program_id": "concurrent",
        "event_type": "START",
        "scheduled_for": pipeline.get("concurrent")["start_time"],
    }
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def invoke() -> None:
        barrier.wait()
        try:
            pipeline.invoke_notifier(payload)
            outcomes.append("done")
        except IdempotencyAlreadyInProgressError:
            outcomes.append("in progress")  # Lambda retries it a minute later

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(outcomes.count("in progress")):
        pipeline.invoke_notifier(payload)  # the retries, after the first run finished

    assert len(outcomes) == 4
    assert len(pipeline.messages()) == 1


def test_a_schedule_for_an_old_start_time_publishes_nothing(pipeline: Pipeline) -> None:
    item = _programme("moved", 900)
    pipeline.put(item)
    pipeline.settle()
    old = pipeline.schedules()[schedule_name("moved", Edge.START)]
    pipeline.update("moved", start_time=iso(datetime.now(UTC) + timedelta(seconds=1200)))
    pipeline.settle()

    result = pipeline.invoke_notifier(json.loads(old["Target"]["Input"]))

    assert result["published"] is False
    assert pipeline.messages() == []


def test_a_schedule_of_a_deleted_programme_publishes_nothing(pipeline: Pipeline) -> None:
    pipeline.put(_programme("gone", 900))
    pipeline.settle()
    leftover = pipeline.schedules()[schedule_name("gone", Edge.START)]
    pipeline.delete("gone")

    result = pipeline.invoke_notifier(json.loads(leftover["Target"]["Input"]))

    assert result["published"] is False
    assert pipeline.messages() == []


def test_a_record_that_keeps_failing_is_reported_alone(pipeline: Pipeline) -> None:
    def refuse_doomed(params: dict[str, Any], **_: Any) -> None:
        if str(params.get("Name", "")).startswith("doomed"):
            raise RuntimeError("injected permanent failure")

    pipeline.sync.scheduler._client.meta.events.register(
        "before-parameter-build.scheduler.CreateSchedule", refuse_doomed
    )
    for program_id in ("fine-1", "doomed", "fine-2"):
        pipeline.put(_programme(program_id, 900))
    pipeline.update("doomed", title="edited")
    records = pipeline.pending_records()
    doomed = [r["dynamodb"]["SequenceNumber"] for r in records if "doomed" in json.dumps(r)]

    response = pipeline.run_stream(records)

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(doomed)
    assert set(pipeline.schedules()) == _expected_names(["fine-1", "fine-2"])


@pytest.mark.parametrize("share", [0.2])
def test_every_due_edge_is_published_exactly_once_under_injected_failures(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _seconds: None)
    injector = FaultInjector(share)
    injector.attach(pipeline.sync.scheduler._client)
    service, _, _ = notifier_handler.notifier()
    injector.attach(service.publisher._client)
    ids = [f"fault-{n:03d}" for n in range(int(os.environ.get("FAULT_PROGRAMMES", "500")))]
    for program_id in ids:
        pipeline.put(_programme(program_id, 900))

    records = pipeline.pending_records()
    attempts = [
        _deliver_like_lambda(pipeline, records[start : start + 100])
        for start in range(0, len(records), 100)
    ]
    schedules = pipeline.schedules()
    dead_letters = []
    for name in sorted(schedules, key=lambda n: schedules[n]["ScheduleExpression"]):
        payload = json.loads(schedules[name]["Target"]["Input"])
        for _delivery in range(2):  # Scheduler delivers at least once: here, twice
            if not _invoke_like_async_lambda(pipeline, payload):
                dead_letters.append(payload)
    injector.share = 0.0  # the outage ends; an operator replays the dead letters
    for payload in dead_letters:
        assert _invoke_like_async_lambda(pipeline, payload)

    published = Counter((body["program_id"], body["event_type"]) for body, _ in pipeline.messages())
    report = {
        "programmes": len(ids),
        "calls": sum(injector.calls.values()),
        "injected_failures": sum(injector.injected.values()),
        "batch_attempts": attempts,
        "dead_letters_replayed": len(dead_letters),
        "lost": sum(1 for p in ids for e in Edge if published[(p, e.value)] == 0),
        "duplicated": sum(1 for count in published.values() if count > 1),
    }
    print(f"fault injection: {report}")
    assert set(schedules) == _expected_names(ids)
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["injected_failures"] > 0

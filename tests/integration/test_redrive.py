"""Redrive: dead letters of both kinds are replayed once, and safely."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipeline import Pipeline
from support import iso, load_event
from telecast_ops.redrive import notifier_payload, redrive


def _dead_letter_queue(pipeline: Pipeline) -> str:
    return str(pipeline.sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"])


def _programme(pipeline: Pipeline, program_id: str) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    item = {
        "program_id": program_id,
        "title": "Replayed",
        "start_time": iso(start),
        "end_time": iso(start + timedelta(hours=1)),
    }
    pipeline.put(item)
    return item


def test_both_kinds_of_dead_letter_are_published_once_and_deleted(pipeline: Pipeline) -> None:
    queue = _dead_letter_queue(pipeline)
    scheduler_kind = _programme(pipeline, "from-scheduler")
    lambda_kind = _programme(pipeline, "from-lambda")
    pipeline.sqs.send_message(
        QueueUrl=queue,
        MessageBody=json.dumps(
            {
                "program_id": "from-scheduler",
                "event_type": "START",
                "scheduled_for": scheduler_kind["start_time"],
            }
        ),
    )
    async_failure = load_event("notifier-async-failure.json")
    async_failure["requestPayload"]["scheduled_for"] = lambda_kind["start_time"]
    pipeline.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(async_failure))

    first = redrive(pipeline.sqs, queue, pipeline.invoke_notifier)
    second = redrive(pipeline.sqs, queue, pipeline.invoke_notifier)

    assert (first.found, first.published, first.failed) == (2, 2, 0)
    assert second.found == 0
    published = sorted(body["program_id"] for body, _ in pipeline.messages())
    assert published == ["from-lambda", "from-scheduler"]


def test_a_dead_letter_for_a_deleted_programme_is_skipped_not_published(
    pipeline: Pipeline,
) -> None:
    queue = _dead_letter_queue(pipeline)
    payload = {"program_id": "gone", "event_type": "END", "scheduled_for": "2030-01-01T00:00:00Z"}
    pipeline.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(payload))

    report = redrive(pipeline.sqs, queue, pipeline.invoke_notifier)

    assert (report.found, report.skipped, report.published) == (1, 1, 0)
    assert pipeline.messages() == []


def test_a_dry_run_lists_and_keeps_every_message(pipeline: Pipeline) -> None:
    queue = _dead_letter_queue(pipeline)
    item = _programme(pipeline, "listed")
    payload = {"program_id": "listed", "event_type": "START", "scheduled_for": item["start_time"]}
    pipeline.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(payload))
    pipeline.sqs.send_message(QueueUrl=queue, MessageBody="not json")

    report = redrive(pipeline.sqs, queue, pipeline.invoke_notifier, dry_run=True)

    assert (report.found, report.unreadable) == (2, 1)
    assert pipeline.messages() == []
    kept = pipeline.sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert sum(int(count) for count in kept.values()) == 2


def test_unrelated_documents_carry_no_payload() -> None:
    assert notifier_payload('{"hello": "world"}') is None
    assert notifier_payload("[1, 2]") is None
    assert notifier_payload('{"requestPayload": {"program_id": "x"}}') is None

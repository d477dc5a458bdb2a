"""The pipeline on moto: a programme item produces exactly its START and END messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline import Pipeline
from telecast.schedule_plan import Edge, schedule_name


def _iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _programme(program_id: str, start_in: int = 600, length: int = 1800) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=start_in)
    return {
        "program_id": program_id,
        "title": "Evening News",
        "channel": "Channel 1",
        "start_time": _iso(start),
        "end_time": _iso(start + timedelta(seconds=length)),
    }


def test_insert_creates_both_schedules_with_the_full_definition(pipeline: Pipeline) -> None:
    item = _programme("news-1")
    pipeline.put(item)

    response = pipeline.run_stream()

    assert response == {"batchItemFailures": []}
    schedules = pipeline.schedules()
    assert set(schedules) == {schedule_name("news-1", edge) for edge in Edge}
    start = schedules[schedule_name("news-1", Edge.START)]
    assert start["ScheduleExpression"] == f"at({item['start_time'][:-1]})"
    assert start["ScheduleExpressionTimezone"] == "UTC"
    assert start["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert start["ActionAfterCompletion"] == "DELETE"
    assert start["Target"]["Arn"] == pipeline.env["NOTIFIER_FUNCTION_ARN"]
    assert start["Target"]["DeadLetterConfig"]["Arn"] == pipeline.env["SCHEDULER_DEAD_LETTER_ARN"]
    assert start["Target"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_fired_schedules_publish_start_then_end(pipeline: Pipeline) -> None:
    item = _programme("news-2")
    pipeline.put(item)
    pipeline.settle()

    pipeline.fire_all()

    messages = pipeline.messages()
    assert [body["event_type"] for body, _ in messages] == ["START", "END"]
    body, attributes = messages[0]
    assert body["program_id"] == "news-2"
    assert body["title"] == "Evening News"
    assert body["channel"] == "Channel 1"
    assert body["start_time"] == item["start_time"]
    assert body["end_time"] == item["end_time"]
    assert body["scheduled_for"] == item["start_time"]
    assert body["published_at"].endswith("Z")
    assert attributes == {"event_type": "START", "program_id": "news-2", "channel": "Channel 1"}
    assert pipeline.get("news-2")["notification_status"] == "ENDED"
    assert pipeline.schedules() == {}


def test_status_is_scheduled_and_its_own_write_is_ignored(pipeline: Pipeline) -> None:
    pipeline.put(_programme("news-3"))
    pipeline.run_stream()
    created = pipeline.schedules()

    pipeline.settle()

    assert pipeline.get("news-3")["notification_status"] == "SCHEDULED"
    assert pipeline.schedules().keys() == created.keys()


def test_modify_of_start_replaces_only_the_start_schedule(pipeline: Pipeline) -> None:
    item = _programme("news-4")
    pipeline.put(item)
    pipeline.settle()
    before = pipeline.schedules()
    later = _iso(datetime.now(UTC) + timedelta(seconds=900))

    pipeline.update("news-4", start_time=later)
    pipeline.settle()

    after = pipeline.schedules()
    start, end = schedule_name("news-4", Edge.START), schedule_name("news-4", Edge.END)
    assert after[start]["ScheduleExpression"] == f"at({later[:-1]})"
    assert after[end]["LastModificationDate"] == before[end]["LastModificationDate"]


def test_title_change_touches_no_schedule(pipeline: Pipeline) -> None:
    pipeline.put(_programme("news-5"))
    pipeline.settle()
    before = pipeline.schedules()

    pipeline.update("news-5", title="Evening News (extended)")
    pipeline.settle()

    assert pipeline.schedules() == before


def test_delete_removes_both_schedules_and_nothing_is_sent(pipeline: Pipeline) -> None:
    pipeline.put(_programme("news-6"))
    pipeline.settle()

    pipeline.delete("news-6")
    response = pipeline.run_stream()

    assert response == {"batchItemFailures": []}
    assert pipeline.schedules() == {}
    assert pipeline.messages() == []


def test_duplicate_insert_delivery_replaces_the_schedule(pipeline: Pipeline) -> None:
    pipeline.put(_programme("news-7"))
    records = pipeline.pending_records()

    pipeline.run_stream(records)
    pipeline.run_stream(records)

    assert len(pipeline.schedules()) == 2
    assert all(r == {"batchItemFailures": []} for r in pipeline.responses)

"""Every sample event in events/ replayed through its handler against moto."""

from __future__ import annotations

from typing import Any

from pipeline import Pipeline
from support import load_event
from telecast.schedule_plan import Edge, schedule_name

NEWS = "news-2030-06-01"


def _put_images(pipeline: Pipeline, event: dict[str, Any]) -> None:
    """Make the table hold what the event's records say it holds (the stream's source)."""
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage")
        if image is not None:
            pipeline.dynamodb.put_item(TableName=pipeline.env["TABLE_NAME"], Item=image)
        elif record["eventName"] == "REMOVE":
            pipeline.dynamodb.delete_item(
                TableName=pipeline.env["TABLE_NAME"], Key=record["dynamodb"]["Keys"]
            )


def test_insert_event_creates_both_schedules(pipeline: Pipeline) -> None:
    event = load_event("stream-insert.json")
    _put_images(pipeline, event)

    response = pipeline.run_stream(event["Records"])

    assert response == {"batchItemFailures": []}
    assert set(pipeline.schedules()) == {schedule_name(NEWS, edge) for edge in Edge}
    assert pipeline.get(NEWS)["notification_status"] == "SCHEDULED"


def test_modify_end_time_event_replaces_only_the_end_schedule(pipeline: Pipeline) -> None:
    insert = load_event("stream-insert.json")
    _put_images(pipeline, insert)
    pipeline.run_stream(insert["Records"])
    modify = load_event("stream-modify-end-time.json")
    _put_images(pipeline, modify)

    pipeline.run_stream(modify["Records"])

    end = pipeline.schedules()[schedule_name(NEWS, Edge.END)]
    assert end["ScheduleExpression"] == "at(2030-06-01T18:45:00)"


def test_modify_title_event_touches_no_schedule(pipeline: Pipeline) -> None:
    insert = load_event("stream-insert.json")
    _put_images(pipeline, insert)
    pipeline.run_stream(insert["Records"])
    before = pipeline.schedules()
    modify = load_event("stream-modify-title.json")
    _put_images(pipeline, modify)

    pipeline.run_stream(modify["Records"])

    assert pipeline.schedules() == before


def test_remove_and_ttl_remove_events_delete_both_schedules(pipeline: Pipeline) -> None:
    for removal in ("stream-remove.json", "stream-ttl-remove.json"):
        insert = load_event("stream-insert.json")
        _put_images(pipeline, insert)
        pipeline.run_stream(insert["Records"])

        remove = load_event(removal)
        _put_images(pipeline, remove)
        response = pipeline.run_stream(remove["Records"])

        assert response == {"batchItemFailures": []}
        assert pipeline.schedules() == {}


def test_remove_of_a_programme_without_schedules_succeeds(pipeline: Pipeline) -> None:
    response = pipeline.run_stream(load_event("stream-remove.json")["Records"])

    assert response == {"batchItemFailures": []}


def test_mixed_batch_schedules_the_valid_and_marks_the_invalid(pipeline: Pipeline) -> None:
    event = load_event("stream-mixed-batch.json")
    _put_images(pipeline, event)

    response = pipeline.run_stream(event["Records"])

    assert response == {"batchItemFailures": []}
    names = set(pipeline.schedules())
    for program_id in ("film-2030-06-01", "quiz-2030-06-01"):
        assert {schedule_name(program_id, edge) for edge in Edge} <= names
    film_start = pipeline.schedules()[schedule_name("film-2030-06-01", Edge.START)]
    assert film_start["ScheduleExpression"] == "at(2030-06-01T19:00:00)"  # 20:00 BST
    broken = pipeline.get("broken-2030-06-01")
    assert broken["notification_status"] == "INVALID"
    assert "start_time" in broken["notification_error"]
    assert not any(name.startswith("broken") for name in names)


def test_schedule_invocation_events_publish_start_and_end(pipeline: Pipeline) -> None:
    insert = load_event("stream-insert.json")
    _put_images(pipeline, insert)
    pipeline.run_stream(insert["Records"])

    for name in ("notifier-schedule-start.json", "notifier-schedule-end.json"):
        pipeline.invoke_notifier(load_event(name))

    assert [body["event_type"] for body, _ in pipeline.messages()] == ["START", "END"]


def test_catch_up_invocation_is_marked_late(pipeline: Pipeline) -> None:
    insert = load_event("stream-insert.json")
    _put_images(pipeline, insert)

    pipeline.invoke_notifier(load_event("notifier-catch-up.json"))

    [(body, _)] = pipeline.messages()
    assert body["late"] is True

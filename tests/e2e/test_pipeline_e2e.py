"""End to end on the local runtime: programme items produce START and END on the topic."""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from support import ROOT, iso, unique_id
from telecast.schedule_plan import Edge, schedule_name

pytestmark = pytest.mark.e2e


def _put(dynamodb: Any, table: str, program_id: str, start: datetime, end: datetime) -> None:
    dynamodb.put_item(
        TableName=table,
        Item={
            "program_id": {"S": program_id},
            "title": {"S": "End-to-end news"},
            "channel": {"S": "E2E One"},
            "start_time": {"S": iso(start)},
            "end_time": {"S": iso(end)},
        },
    )


def _existing(scheduler: Any, group: str, names: set[str]) -> set[str]:
    """Which of these schedules exist (by name: a listing stops at 100 on the emulator)."""
    found = set()
    for name in names:
        try:
            scheduler.get_schedule(Name=name, GroupName=group)
            found.add(name)
        except scheduler.exceptions.ResourceNotFoundException:
            continue
    return found


def test_a_programme_gets_start_then_end_with_body_and_attributes(
    local_stack: dict[str, str], dynamodb: Any, scheduler: Any, inbox: Any
) -> None:
    program_id = unique_id("e2e-basic")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    end = start + timedelta(seconds=4)

    _put(dynamodb, local_stack["TableName"], program_id, start, end)
    messages = inbox.wait_for(program_id, 2, timeout=45)

    assert [m["event_type"] for m in messages] == ["START", "END"]
    first = messages[0]
    assert first["title"] == "End-to-end news"
    assert first["channel"] == "E2E One"
    assert first["start_time"] == iso(start)
    assert first["end_time"] == iso(end)
    assert first["scheduled_for"] == iso(start)
    assert messages[1]["scheduled_for"] == iso(end)
    assert first["_attributes"] == {
        "event_type": "START",
        "program_id": program_id,
        "channel": "E2E One",
    }
    names = {schedule_name(program_id, edge) for edge in Edge}
    assert _existing(scheduler, local_stack["ScheduleGroupName"], names) == set()


def test_moving_the_start_time_moves_the_start_message(
    local_stack: dict[str, str], dynamodb: Any, inbox: Any
) -> None:
    program_id = unique_id("e2e-move")
    now = datetime.now(UTC).replace(microsecond=0)
    _put(
        dynamodb,
        local_stack["TableName"],
        program_id,
        now + timedelta(seconds=300),
        now + timedelta(seconds=400),
    )
    time.sleep(1)
    moved = now + timedelta(seconds=7)
    dynamodb.update_item(
        TableName=local_stack["TableName"],
        Key={"program_id": {"S": program_id}},
        UpdateExpression="SET start_time = :s",
        ExpressionAttributeValues={":s": {"S": iso(moved)}},
    )

    messages = inbox.wait_for(program_id, 1, timeout=40)

    assert [m["event_type"] for m in messages] == ["START"]
    assert messages[0]["scheduled_for"] == iso(moved)


def test_deleting_before_the_start_sends_nothing_and_leaves_no_schedule(
    local_stack: dict[str, str], dynamodb: Any, scheduler: Any, inbox: Any
) -> None:
    program_id = unique_id("e2e-delete")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    _put(dynamodb, local_stack["TableName"], program_id, start, start + timedelta(seconds=3))
    group = local_stack["ScheduleGroupName"]
    names = {schedule_name(program_id, edge) for edge in Edge}
    deadline = time.monotonic() + 20
    while _existing(scheduler, group, names) != names and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _existing(scheduler, group, names) == names

    dynamodb.delete_item(TableName=local_stack["TableName"], Key={"program_id": {"S": program_id}})
    time.sleep(16)

    assert inbox.of(program_id) == []
    assert _existing(scheduler, group, names) == set()


def test_twenty_notifications_arrive_and_their_lateness_is_recorded(
    local_stack: dict[str, str], dynamodb: Any, inbox: Any
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = [unique_id(f"e2e-late{n}") for n in range(10)]
    for n, program_id in enumerate(ids):
        start = now + timedelta(seconds=6 + n)
        _put(dynamodb, local_stack["TableName"], program_id, start, start + timedelta(seconds=5))

    received = [m for program_id in ids for m in inbox.wait_for(program_id, 2, timeout=60)]

    assert len(received) == 20, inbox.errors
    lateness = sorted(
        (
            m["_received_at"] - datetime.fromisoformat(m["scheduled_for"].replace("Z", "+00:00"))
        ).total_seconds()
        for m in received
    )
    figures = {
        "notifications": len(lateness),
        "median_s": round(statistics.median(lateness), 3),
        "worst_s": round(lateness[-1], 3),
        "best_s": round(lateness[0], 3),
        "measured_at": iso(datetime.now(UTC)),
    }
    Path(ROOT / ".local" / "lateness.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"local lateness: {figures}")
    print(sorted(lateness))


def test_a_spoken_local_time_in_tokyo_fires_at_the_right_instant(
    local_stack: dict[str, str], dynamodb: Any, inbox: Any
) -> None:
    program_id = unique_id("e2e-spoken")
    zone = ZoneInfo("Asia/Tokyo")
    # The spoken form has minutes only: start at the next whole minute, at least 8 s away.
    start = (datetime.now(UTC) + timedelta(seconds=68)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=1)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)

    dynamodb.put_item(
        TableName=local_stack["TableName"],
        Item={
            "program_id": {"S": program_id},
            "title": {"S": "ニュース"},
            "timezone": {"S": "Asia/Tokyo"},
            "start_time": {"S": local_start.strftime("%d %B %Y, %I:%M%p")},
            "end_time": {"S": local_end.strftime("%d %b %Y, %I:%M %p").lower()},
        },
    )
    messages = inbox.wait_for(program_id, 2, timeout=150)

    assert [m["event_type"] for m in messages] == ["START", "END"]
    assert [m["scheduled_for"] for m in messages] == [iso(start), iso(end)]
    assert messages[0]["title"] == "ニュース"
    assert messages[0]["timezone"] == "Asia/Tokyo"


def test_an_invalid_item_shows_invalid_with_its_reason_within_seconds(
    local_stack: dict[str, str], dynamodb: Any
) -> None:
    program_id = unique_id("e2e-invalid")
    dynamodb.put_item(
        TableName=local_stack["TableName"],
        Item={
            "program_id": {"S": program_id},
            "start_time": {"S": "27 October 2026, 13:34PM"},
            "end_time": {"S": "2026-10-27T14:00:00Z"},
        },
    )

    item: dict[str, Any] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "notification_status" not in item:
        time.sleep(0.5)
        item = dynamodb.get_item(
            TableName=local_stack["TableName"],
            Key={"program_id": {"S": program_id}},
            ConsistentRead=True,
        ).get("Item", {})

    assert item["notification_status"] == {"S": "INVALID"}
    assert "start_time" in item["notification_error"]["S"]
    assert "12:00 PM" in item["notification_error"]["S"]

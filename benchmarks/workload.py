"""Workload: programme items, and the exact calls a sequential baseline makes for each."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from telecast.adapters.scheduler import SchedulerGateway, ScheduleTarget
from telecast.adapters.table import ProgrammeTable
from telecast.schedule_plan import Upsert, plan_change

ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo")
DUE_MARGIN = timedelta(seconds=5)

Call = tuple[str, str, dict[str, Any]]


def iso_z(instant: datetime) -> str:
    """An aware instant as ISO 8601 UTC with a Z, to the second."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def programme_item(
    program_id: str, index: int, start: datetime, minutes: int = 30
) -> dict[str, Any]:
    """A complete programme item as a broadcaster would write it."""
    return {
        "program_id": program_id,
        "title": f"Programme {index}",
        "channel": f"Channel {index % 12 + 1}",
        "start_time": iso_z(start),
        "end_time": iso_z(start + timedelta(minutes=minutes)),
        "timezone": ZONES[index % len(ZONES)],
    }


def programmes(prefix: str, count: int, first_start: datetime) -> list[dict[str, Any]]:
    """`count` programmes a minute apart, with ids `<prefix>-0000` onwards."""
    return [
        programme_item(f"{prefix}-{index:04d}", index, first_start + timedelta(minutes=index))
        for index in range(count)
    ]


class _Recorder:
    """Stands in for a boto3 client: keeps every call and answers with an empty reply."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**parameters: Any) -> dict[str, Any]:
            self.calls.append((operation, parameters))
            return {}

        return call


def insert_calls(
    item: dict[str, Any], target: ScheduleTarget, table_name: str, now: datetime
) -> list[Call]:
    """The (service, operation, parameters) our stream function sends for an INSERT of `item`.

    A consistent read of the item (the function checks that the record is not stale),
    the START and END schedules, then the status write. Computed by the same pure plan and
    adapters against recording clients, so a baseline that replays these sends the same
    requests, with none of our code timed.
    """
    plan = plan_change(
        event_name="INSERT",
        program_id=item["program_id"],
        old_item=None,
        new_item=item,
        now=now,
        default_zone="UTC",
        due_margin=DUE_MARGIN,
    )
    scheduler, table = _Recorder(), _Recorder()
    programme_table = ProgrammeTable(table, table_name)
    programme_table.get(item["program_id"])
    gateway = SchedulerGateway(scheduler, target)
    for action in plan.actions:
        if not isinstance(action, Upsert):
            raise ValueError(f"{item['program_id']}: expected only schedule upserts, got {action}")
        gateway.upsert(action.request)
    if plan.status is not None:
        update = plan.status
        programme_table.set_status(
            update.program_id, update.status, update.expected_times, now, update.error
        )
    reads, writes = table.calls[:1], table.calls[1:]
    return [
        *(("dynamodb", op, params) for op, params in reads),
        *(("scheduler", op, params) for op, params in scheduler.calls),
        *(("dynamodb", op, params) for op, params in writes),
    ]


def item_size_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's billed size of a plain item: attribute names plus values, in bytes."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, int | float | Decimal):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(_value_size(v) + 1 for v in value)
    raise TypeError(f"no DynamoDB size rule for {type(value).__name__}")

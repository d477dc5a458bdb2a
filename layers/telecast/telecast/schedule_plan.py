"""Schedule plan: which schedules a programme change creates, replaces or deletes.

Everything here is pure: it takes deserialised item images and the current time, and
returns a `Plan` that the stream adapter carries out.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from telecast.errors import InvalidProgramme
from telecast.programme import (
    STATUS_ATTRIBUTES,
    Programme,
    parse_programme,
    time_attributes,
)
from telecast.time_rules import to_iso_utc

_NAME_PREFIX_LENGTH = 40
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]+")


class Edge(StrEnum):
    """The two moments of a programme that notify."""

    START = "START"
    END = "END"


class Status(StrEnum):
    """The `notification_status` values written back on the programme item."""

    SCHEDULED = "SCHEDULED"
    STARTED = "STARTED"
    ENDED = "ENDED"
    PAST = "PAST"
    INVALID = "INVALID"


def schedule_name(program_id: str, edge: Edge) -> str:
    """The one schedule name for a programme edge: stable, valid, and distinct per id.

    A readable prefix of the id (unsafe characters replaced) is followed by 16 hex digits
    of the SHA-256 of the whole id, so ids that share a prefix or differ only in unsafe
    characters still get different names. Always 1-64 characters of [0-9A-Za-z_.-].
    """
    digest = hashlib.sha256(program_id.encode("utf-8")).hexdigest()[:16]
    prefix = _UNSAFE.sub("_", program_id)[:_NAME_PREFIX_LENGTH] or "p"
    return f"{prefix}-{digest}-{edge.value}"


@dataclass(frozen=True)
class NotificationRequest:
    """What a schedule (or the catch-up path) hands the notifier: one programme edge."""

    program_id: str
    event_type: Edge
    scheduled_for: datetime
    catch_up: bool = False

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready form carried in a schedule's `Input` or an async invocation."""
        payload: dict[str, Any] = {
            "program_id": self.program_id,
            "event_type": self.event_type.value,
            "scheduled_for": to_iso_utc(self.scheduled_for),
            "schedule_name": schedule_name(self.program_id, self.event_type),
        }
        if self.catch_up:
            payload["catch_up"] = True
        return payload

    def to_json(self) -> str:
        """The payload as compact JSON."""
        return json.dumps(self.to_payload(), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Upsert:
    """Create the schedule for this edge, or replace it with the full definition."""

    request: NotificationRequest


@dataclass(frozen=True)
class Delete:
    """Delete the schedule for this edge if it is there."""

    program_id: str
    edge: Edge


@dataclass(frozen=True)
class PublishNow:
    """Hand this edge to the notifier at once: its moment is due or already passed."""

    request: NotificationRequest


Action = Upsert | Delete | PublishNow


@dataclass(frozen=True)
class StatusUpdate:
    """Write `status` on the item, only while it still has `expected_times`."""

    program_id: str
    status: Status
    expected_times: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    """What one stream record asks for; empty when nothing needs doing."""

    program_id: str
    actions: tuple[Action, ...] = ()
    status: StatusUpdate | None = None
    outcome: str = "unchanged"
    invalid_reason: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def _evaluate(
    item: dict[str, Any] | None, default_zone: str
) -> Programme | InvalidProgramme | None:
    if item is None:
        return None
    try:
        return parse_programme(item, default_zone)
    except InvalidProgramme as error:
        return error


def plan_change(
    event_name: str,
    program_id: str,
    old_item: dict[str, Any] | None,
    new_item: dict[str, Any] | None,
    now: datetime,
    default_zone: str,
    due_margin: timedelta,
) -> Plan:
    """Plan the schedule changes for one stream record (INSERT, MODIFY or REMOVE)."""
    if event_name == "REMOVE" or new_item is None:
        deletes = tuple(Delete(program_id, edge) for edge in Edge)
        return Plan(program_id, deletes, outcome="removed")

    if event_name == "MODIFY" and old_item is not None and _only_status_changed(old_item, new_item):
        return _restore_wiped_status(program_id, old_item, new_item)

    new = _evaluate(new_item, default_zone)
    old = _evaluate(old_item, default_zone) if event_name == "MODIFY" else None
    expected = time_attributes(new_item)

    if isinstance(new, InvalidProgramme) or new is None:
        reason = new.reason if isinstance(new, InvalidProgramme) else "item is empty"
        deletes = tuple(Delete(program_id, edge) for edge in Edge)
        status = StatusUpdate(program_id, Status.INVALID, expected, reason)
        return Plan(program_id, deletes, _unless_current(status, new_item), "invalid", reason)

    previous = old if isinstance(old, Programme) else None
    if new_item.get("notification_status") == Status.INVALID:
        previous = None  # marked invalid (perhaps under older rules): plan it afresh
    if previous is not None and (previous.start, previous.end) == (new.start, new.end):
        return Plan(program_id, outcome="times-unchanged")

    return _plan_valid(new, previous, now, due_margin, expected, new_item)


def _plan_valid(
    new: Programme,
    previous: Programme | None,
    now: datetime,
    due_margin: timedelta,
    expected: dict[str, Any],
    new_item: dict[str, Any],
) -> Plan:
    program_id = new.program_id
    due = now + due_margin
    if new.end <= now:
        return _plan_ended(new, previous, now, expected, new_item)

    actions: list[Action] = []
    for edge, instant in ((Edge.START, new.start), (Edge.END, new.end)):
        before = None if previous is None else (previous.start, previous.end)[edge is Edge.END]
        if before == instant:
            continue
        if before is not None and before <= now and instant <= now:
            continue  # this edge already fired under the old time: never announce it twice
        request = NotificationRequest(program_id, edge, instant, catch_up=instant <= now)
        if instant <= due:
            actions.append(Delete(program_id, edge))
            actions.append(PublishNow(request))
        else:
            actions.append(Upsert(request))

    status_value = _status_for(new, now, due_margin)
    status: StatusUpdate | None = None
    if status_value is Status.SCHEDULED:
        status = _unless_current(StatusUpdate(program_id, status_value, expected), new_item)
    outcome = "scheduled" if previous is None else "rescheduled"
    return Plan(program_id, tuple(actions), status, outcome)


def _plan_ended(
    new: Programme,
    previous: Programme | None,
    now: datetime,
    expected: dict[str, Any],
    new_item: dict[str, Any],
) -> Plan:
    """A programme whose end has passed: PAST if nothing was announced, else finish it."""
    program_id = new.program_id
    deletes = tuple(Delete(program_id, edge) for edge in Edge)
    if previous is None or previous.start > now:
        past = StatusUpdate(program_id, Status.PAST, expected)
        return Plan(program_id, deletes, _unless_current(past, new_item), "past")
    if previous.end <= now:
        return Plan(program_id, deletes, outcome="ended-edited")  # both were announced
    # On air, and its end moved into the past: it ended early, so announce the END now.
    end = NotificationRequest(program_id, Edge.END, new.end, catch_up=True)
    return Plan(program_id, (Delete(program_id, Edge.END), PublishNow(end)), outcome="ended-early")


def _status_for(programme: Programme, now: datetime, due_margin: timedelta) -> Status:
    if programme.end <= now:
        return Status.PAST
    if programme.start <= now + due_margin:
        return Status.STARTED
    return Status.SCHEDULED


def _unless_current(update: StatusUpdate, item: dict[str, Any]) -> StatusUpdate | None:
    """Skip a status write that would change nothing, so the stream stays quiet."""
    same_status = item.get("notification_status") == update.status.value
    same_error = item.get("notification_error") == update.error
    return None if same_status and same_error else update


def _restore_wiped_status(
    program_id: str, old_item: dict[str, Any], new_item: dict[str, Any]
) -> Plan:
    """A change to the status alone is ours (ignored), unless a put wiped it: restore it."""
    previous = old_item.get("notification_status")
    if "notification_status" in new_item or previous not in set(Status):
        return Plan(program_id, outcome="status-only")
    restore = StatusUpdate(
        program_id, Status(previous), time_attributes(new_item), old_item.get("notification_error")
    )
    return Plan(program_id, status=restore, outcome="status-restored")


def _only_status_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = (set(old) | set(new)) - STATUS_ATTRIBUTES
    return all(old.get(key) == new.get(key) for key in keys)

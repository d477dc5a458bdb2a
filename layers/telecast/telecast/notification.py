"""Notification: the message subscribers get when a programme starts or ends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telecast.programme import Programme
from telecast.schedule_plan import Edge, NotificationRequest
from telecast.time_rules import parse_iso_utc, to_iso_utc

# Scheduler promises delivery within the minute of the at() time: anything later is late.
LATE_AFTER = timedelta(seconds=60)
_JSON_PROTOCOLS = (
    "default",
    "sqs",
    "lambda",
    "http",
    "https",
    "email-json",
    "application",
    "firehose",
)
_TEXT_PROTOCOLS = ("email", "sms")


class InvalidRequest(ValueError):
    """A notifier event that is not a programme edge request."""


def parse_request(event: dict[str, Any]) -> NotificationRequest:
    """Read a schedule's `Input` (or a catch-up invocation) into a request."""
    if not isinstance(event, dict):
        raise InvalidRequest("event must be a JSON object")
    program_id = event.get("program_id")
    if not isinstance(program_id, str) or not program_id:
        raise InvalidRequest("program_id must be a non-empty string")
    try:
        edge = Edge(str(event.get("event_type")))
    except ValueError as error:
        raise InvalidRequest("event_type must be START or END") from error
    try:
        scheduled_for = parse_iso_utc(str(event.get("scheduled_for")))
    except ValueError as error:
        raise InvalidRequest("scheduled_for must be ISO 8601 with Z or an offset") from error
    return NotificationRequest(program_id, edge, scheduled_for, bool(event.get("catch_up")))


def stale_reason(request: NotificationRequest, programme: Programme | None) -> str | None:
    """Why this request must not publish (the programme changed or went), or None."""
    if programme is None:
        return "programme no longer exists or is no longer valid"
    current = programme.start if request.event_type is Edge.START else programme.end
    if current != request.scheduled_for:
        return f"programme's {request.event_type.value} time is now {to_iso_utc(current)}"
    return None


@dataclass(frozen=True)
class Notification:
    """One message: a JSON body for machines, a sentence for people, filterable attributes."""

    body: dict[str, Any]
    sentence: str
    attributes: dict[str, str]

    def sns_message(self) -> str:
        """The per-protocol message for SNS `MessageStructure=json`."""
        body = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        per_protocol = {protocol: body for protocol in _JSON_PROTOCOLS}
        per_protocol.update({protocol: self.sentence for protocol in _TEXT_PROTOCOLS})
        return json.dumps(per_protocol, ensure_ascii=False)

    def sns_attributes(self) -> dict[str, dict[str, str]]:
        """The SNS message attributes, for subscription filter policies."""
        return {
            name: {"DataType": "String", "StringValue": value}
            for name, value in self.attributes.items()
        }


def build_notification(
    request: NotificationRequest, programme: Programme, published_at: datetime
) -> Notification:
    """The message for one programme edge published at `published_at`."""
    lateness = published_at - request.scheduled_for
    late = request.catch_up or lateness > LATE_AFTER
    body: dict[str, Any] = {
        "event_type": request.event_type.value,
        "program_id": programme.program_id,
        "title": programme.title,
        "channel": programme.channel,
        "start_time": to_iso_utc(programme.start),
        "end_time": to_iso_utc(programme.end),
        "timezone": programme.zone,
        "scheduled_for": to_iso_utc(request.scheduled_for),
        "published_at": to_iso_utc(published_at),
        "late": late,
        "lateness_ms": max(0, int(lateness.total_seconds() * 1000)),
    }
    attributes = {"event_type": request.event_type.value, "program_id": programme.program_id}
    if programme.channel:
        attributes["channel"] = programme.channel
    return Notification(body, _sentence(request, programme, late, lateness), attributes)


def _sentence(
    request: NotificationRequest, programme: Programme, late: bool, lateness: timedelta
) -> str:
    name = programme.title or f"Programme {programme.program_id}"
    where = f" on {programme.channel}" if programme.channel else ""
    verb = "has started" if request.event_type is Edge.START else "has ended"
    local = request.scheduled_for.astimezone(programme.zone_info)
    when = f"{local:%H:%M} {local.tzname()}, {local:%d %b %Y}"
    suffix = f" (announced {_duration(lateness)} late)" if late else ""
    return f"{name}{where} {verb} ({when}){suffix}."


def _duration(span: timedelta) -> str:
    seconds = max(0, int(span.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"

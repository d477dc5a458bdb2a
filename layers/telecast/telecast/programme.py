"""The programme: one DynamoDB item per TV programme, validated by the time rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telecast.errors import FieldError, InvalidProgramme, describe_type
from telecast.time_rules import (
    ACCEPTED_FORMS,
    TimeValueError,
    check_zone_name,
    load_zone,
    parse_time,
)

MAX_TITLE_LENGTH = 300
MAX_CHANNEL_LENGTH = 100
MAX_ID_LENGTH = 512

# Attributes the service writes back on the item; a change to these alone is never acted on.
STATUS_ATTRIBUTES = frozenset(
    {"notification_status", "notification_error", "notification_updated_at"}
)
# Attributes whose change moves the notification instants.
TIME_ATTRIBUTES = ("start_time", "end_time", "timezone")


@dataclass(frozen=True)
class Programme:
    """A valid programme: start strictly before end, both as UTC instants."""

    program_id: str
    start: datetime
    end: datetime
    title: str | None = None
    channel: str | None = None
    zone: str = "UTC"
    raw_times: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def zone_info(self) -> Any:
        """The programme's zone, for showing local times to people."""
        return load_zone(self.zone)


def time_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """The raw values of the attributes that decide when notifications fire (those present).

    A missing attribute is left out; one stored as NULL is kept, as None.
    """
    return {name: item[name] for name in TIME_ATTRIBUTES if name in item}


def parse_programme(item: dict[str, Any], default_zone: str) -> Programme:
    """Validate a deserialised item; raise InvalidProgramme listing every bad field."""
    errors: list[FieldError] = []
    program_id = _check_id(item.get("program_id"), errors)
    zone = default_zone
    if item.get("timezone") is not None:
        try:
            zone = check_zone_name(item["timezone"])
        except TimeValueError as error:
            errors.append(FieldError("timezone", str(error)))
            zone = ""

    instants = {}
    for name in ("start_time", "end_time"):
        if name not in item:
            errors.append(FieldError(name, f"is missing; accepted: {ACCEPTED_FORMS}"))
        elif item[name] is None:
            errors.append(FieldError(name, f"is null (NULL); accepted: {ACCEPTED_FORMS}"))
        elif zone:
            try:
                instants[name] = parse_time(item[name], zone).instant
            except TimeValueError as error:
                errors.append(FieldError(name, str(error)))

    start, end = instants.get("start_time"), instants.get("end_time")
    if start is not None and end is not None and end <= start:
        errors.append(
            FieldError("end_time", "must be strictly after start_time (both read as instants)")
        )

    title = _optional_text(item, "title", MAX_TITLE_LENGTH, errors)
    channel = _optional_text(item, "channel", MAX_CHANNEL_LENGTH, errors)
    if errors or start is None or end is None:
        raise InvalidProgramme(errors)
    return Programme(
        program_id=program_id,
        start=start,
        end=end,
        title=title,
        channel=channel,
        zone=zone,
        raw_times=time_attributes(item),
    )


def _check_id(value: object, errors: list[FieldError]) -> str:
    if not isinstance(value, str) or not value:
        errors.append(FieldError("program_id", "must be a non-empty string"))
        return ""
    if len(value) > MAX_ID_LENGTH:
        errors.append(FieldError("program_id", f"is longer than {MAX_ID_LENGTH} characters"))
    if not _encodable(value):
        errors.append(FieldError("program_id", "is not valid Unicode text (a lone surrogate)"))
    return value


def _optional_text(
    item: dict[str, Any], name: str, limit: int, errors: list[FieldError]
) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(FieldError(name, f"must be a string, not {describe_type(value)}"))
        return None
    if not value.strip():
        errors.append(FieldError(name, "must not be empty (leave the attribute out instead)"))
        return None
    if len(value) > limit:
        errors.append(FieldError(name, f"is longer than {limit} characters ({len(value)})"))
        return None
    if not _encodable(value):
        errors.append(FieldError(name, "is not valid Unicode text (a lone surrogate)"))
        return None
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True

"""The REST API's bodies: the shapes that requests and responses take on the wire.

The request models only check shape (a JSON object, known field names) and describe the
fields for the OpenAPI document. Values are judged by `telecast.programme.parse_programme`,
so that the API and the stream function accept the same programmes with the same messages.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema

from telecast.programme import MAX_CHANNEL_LENGTH, MAX_ID_LENGTH, MAX_TITLE_LENGTH
from telecast.time_rules import ACCEPTED_FORMS, MAX_TEXT_LENGTH

MAX_BODY_BYTES = 16 * 1024
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_TOKEN_LENGTH = 2048

# The id travels in URL paths, so the ones clients choose keep to characters that need no
# escaping there; the table itself accepts any string (items written by other means).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:@-]*$"

_TIME_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
        {"type": "number", "minimum": 0, "exclusiveMaximum": 4102444800},
    ],
    "description": f"A time: {ACCEPTED_FORMS}.",
}


def _nullable_text(limit: int, description: str, pattern: str | None = None) -> Any:
    """A field typed Any (the time rules judge it) but documented as optional text."""
    text: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": limit}
    if pattern is not None:
        text["pattern"] = pattern
    return WithJsonSchema({"anyOf": [text, {"type": "null"}], "description": description})


# Values are Any on purpose: a wrong type is reported by the time rules, in their words.
TimeValue = Annotated[Any, WithJsonSchema(_TIME_SCHEMA)]
ProgrammeId = Annotated[
    Any,
    _nullable_text(
        MAX_ID_LENGTH,
        "The programme's id: letters, digits and . _ ~ : @ -, starting with a letter or "
        "digit. Generated (a UUID) when null or left out.",
        ID_PATTERN,
    ),
]
Title = Annotated[Any, _nullable_text(MAX_TITLE_LENGTH, "The title; null means none.")]
Channel = Annotated[
    Any, _nullable_text(MAX_CHANNEL_LENGTH, "The channel that airs it; null means none.")
]
Zone = Annotated[
    Any,
    _nullable_text(
        MAX_TEXT_LENGTH,
        "IANA time zone (such as 'Europe/London') for times written without an offset, "
        "kept as the programme's zone; null means the service's default zone.",
    ),
]

_EXAMPLE: dict[str, JsonValue] = {
    "program_id": "evening-news-2026-10-27",
    "title": "Evening News",
    "channel": "Channel 1",
    "start_time": "2026-10-27T18:00:00",
    "end_time": "2026-10-27T18:30:00",
    "timezone": "Europe/London",
}


class ProgrammeIn(BaseModel):
    """A whole programme, as sent to POST /programs and PUT /programs/{program_id}."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"required": ["start_time", "end_time"], "examples": [_EXAMPLE]},
    )

    program_id: ProgrammeId = None
    start_time: TimeValue = None
    end_time: TimeValue = None
    title: Title = None
    channel: Channel = None
    timezone: Zone = None


class ProgrammePatch(BaseModel):
    """A partial change for PATCH /programs/{program_id}: only the fields sent change.

    A null title, channel or timezone removes it; a null time is refused.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"end_time": "2026-10-27T18:40:00"}]},
    )

    start_time: TimeValue = None
    end_time: TimeValue = None
    title: Title = None
    channel: Channel = None
    timezone: Zone = None


class ProgrammeOut(BaseModel):
    """A stored programme: normalised times, its zone, and its notification status."""

    program_id: str
    start_time: str = Field(description="ISO 8601 UTC with Z (as sent, for invalid items).")
    end_time: str = Field(description="ISO 8601 UTC with Z (as sent, for invalid items).")
    timezone: str | None = Field(default=None, description="The zone the times were given in.")
    title: str | None = None
    channel: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    notification_status: str | None = Field(
        default=None, description="SCHEDULED, STARTED, ENDED, PAST or INVALID."
    )
    notification_error: str | None = None
    notification_updated_at: str | None = None
    etag: str = Field(description="The value of the ETag header for this programme.")


class ProgrammePage(BaseModel):
    """One page of programmes; pass next_token back to get the next page."""

    items: list[ProgrammeOut]
    next_token: str | None = Field(default=None, description="Opaque; absent on the last page.")


class FieldProblem(BaseModel):
    """One request field that was rejected, and why."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: a summary and the field errors behind it (maybe none)."""

    message: str
    errors: list[FieldProblem] = Field(default_factory=list)

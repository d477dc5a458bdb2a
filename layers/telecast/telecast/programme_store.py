"""Programme store: the API's reads and writes of programme items, with optimistic locking.

Every programme the API writes is validated by `parse_programme` and stored normalised:
start and end as ISO 8601 UTC with a Z, plus `timezone` when the client gave one or wrote
local times. Each write sets a fresh random `revision`; the ETag is that revision, so a
status write by the stream or the notifier never invalidates a client's ETag. Lists read
one of four sparse global secondary indexes (keys named `gsi_*`, written only by the API):
never a Scan.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from telecast.adapters.aws import error_code
from telecast.adapters.table import to_image, to_item
from telecast.api_models import ID_PATTERN
from telecast.errors import FieldError, InvalidProgramme
from telecast.programme import STATUS_ATTRIBUTES, Programme, parse_programme
from telecast.time_rules import TimeValueError, parse_time, to_iso_utc

Clock = Callable[[], datetime]

# Index names and key attributes; template.yaml declares the same.
INDEX_BY_START = "by-start"
INDEX_BY_CREATED = "by-created"
INDEX_CHANNEL_BY_START = "channel-by-start"
INDEX_CHANNEL_BY_CREATED = "channel-by-created"
ALL_PARTITION = "PROGRAMME"
_INDEX_KEYS = {
    INDEX_BY_START: ("gsi_all", "gsi_start"),
    INDEX_BY_CREATED: ("gsi_all", "gsi_created"),
    INDEX_CHANNEL_BY_START: ("gsi_channel", "gsi_start"),
    INDEX_CHANNEL_BY_CREATED: ("gsi_channel", "gsi_created"),
}
INDEX_ATTRIBUTES = ("gsi_all", "gsi_channel", "gsi_start", "gsi_created")

OPTIONAL_FIELDS = ("title", "channel", "timezone")
PROGRAMME_FIELDS = ("program_id", "start_time", "end_time", *OPTIONAL_FIELDS)
_BOOKKEEPING = ("created_at", "updated_at", "revision", *INDEX_ATTRIBUTES)
_PUBLIC_FIELDS = (*PROGRAMME_FIELDS, "created_at", "updated_at", *sorted(STATUS_ATTRIBUTES))
_ID = re.compile(ID_PATTERN)
_EPOCH_TEXT = re.compile(r"\d{1,12}(\.\d{1,6})?", re.ASCII)
_WRITE_ATTEMPTS = 3
_THROTTLED = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


class BadRequest(ValueError):
    """A request whose parameters can never be served as sent (HTTP 400)."""

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors or [])


class ProgrammeNotFound(LookupError):
    """No programme has this id (HTTP 404)."""


class ProgrammeExists(RuntimeError):
    """A programme with this id is already stored (HTTP 409)."""


class WriteConflict(RuntimeError):
    """Other writers kept changing the programme while this write retried (HTTP 409)."""


class PreconditionFailed(RuntimeError):
    """If-Match named none of the programme's current ETag (HTTP 412)."""

    def __init__(self, current_etag: str) -> None:
        super().__init__("the programme has changed since the ETag given in If-Match")
        self.current_etag = current_etag


class StoreBusy(RuntimeError):
    """DynamoDB kept throttling after the client's retries (HTTP 503)."""


@dataclass(frozen=True)
class Page:
    """One page of stored items and the token for the next page, if any."""

    items: list[dict[str, Any]]
    next_token: str | None


def etag_of(item: dict[str, Any]) -> str:
    """The item's entity tag (quoted): its revision, or a digest for items the API never wrote."""
    revision = item.get("revision")
    if isinstance(revision, str) and revision:
        return f'"{revision}"'
    fields = {k: v for k, v in item.items() if k not in STATUS_ATTRIBUTES}
    canonical = json.dumps(fields, sort_keys=True, default=_canonical, separators=(",", ":"))
    return f'"h{hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]}"'


def _canonical(value: Any) -> str:
    """A stable text for values JSON cannot hold (numbers, sets, binary)."""
    raw = getattr(value, "value", value)
    if isinstance(raw, (bytes, bytearray)):
        return raw.hex()
    if isinstance(raw, (set, frozenset)):
        return repr(sorted(map(_canonical, raw)))
    return str(raw)


def if_match_allows(item: dict[str, Any], if_match: str | None) -> bool:
    """True when an If-Match header (absent, '*', or a list of ETags) admits the item."""
    if if_match is None:
        return True
    wanted = {tag.strip() for tag in if_match.split(",") if tag.strip()}
    if "*" in wanted:
        return True
    current = etag_of(item)
    return current in wanted or current.strip('"') in wanted


def public_view(item: dict[str, Any], default_zone: str) -> dict[str, Any]:
    """The item as the API shows it: normalised times when valid, plus its ETag."""
    shown = {
        name: value if isinstance(value, str) else str(_plain(value))
        for name in _PUBLIC_FIELDS
        if (value := item.get(name)) is not None
    }
    try:
        shown.update(normalise(item, default_zone))
    except InvalidProgramme:
        shown.setdefault("start_time", "")
        shown.setdefault("end_time", "")
    shown["etag"] = etag_of(item)
    return shown


def normalise(item: dict[str, Any], default_zone: str) -> dict[str, Any]:
    """The programme fields to store: times as ISO 8601 UTC with Z, and the zone when it mattered.

    Raises InvalidProgramme (every bad field) exactly as the stream function would.
    """
    programme = parse_programme(item, default_zone)
    fields: dict[str, Any] = {
        "program_id": programme.program_id,
        "start_time": to_iso_utc(programme.start),
        "end_time": to_iso_utc(programme.end),
    }
    if item.get("timezone") is not None or _has_local_time(programme):
        fields["timezone"] = programme.zone
    if programme.title is not None:
        fields["title"] = programme.title
    if programme.channel is not None:
        fields["channel"] = programme.channel
    return fields


def _has_local_time(programme: Programme) -> bool:
    """True when a time was written without an offset, so the zone decided its instant."""
    return any(
        parse_time(value, programme.zone).zone is not None
        for value in programme.raw_times.values()
        if value is not None and not isinstance(value, (int, float, Decimal))
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _instant_key(instant: datetime) -> str:
    """A fixed-width UTC timestamp: sorts as text in time order (index sort keys)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ProgrammeStore:
    """Create, read, list, replace, patch and delete programme items for the API."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        default_zone: str = "UTC",
        clock: Clock | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._client = client
        self.table_name = table_name
        self.default_zone = default_zone
        self._clock = clock or (lambda: datetime.now(UTC))
        self._new_id = new_id or (lambda: str(uuid.uuid4()))

    # ------------------------------------------------------------ reads
    def get(self, program_id: str) -> dict[str, Any]:
        """The stored item (strongly consistent); raises ProgrammeNotFound."""
        response = self._call(
            self._client.get_item,
            TableName=self.table_name,
            Key={"program_id": {"S": program_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            raise ProgrammeNotFound(program_id)
        return to_item(item)

    def list_programmes(
        self,
        channel: str | None = None,
        start_from: str | None = None,
        start_to: str | None = None,
        limit: int = 25,
        next_token: str | None = None,
    ) -> Page:
        """Newest first; or by start time when a window is given: from inclusive, to exclusive."""
        window = self._window(start_from, start_to)
        by_start = start_from is not None or start_to is not None
        if channel is not None:
            index = INDEX_CHANNEL_BY_START if by_start else INDEX_CHANNEL_BY_CREATED
        else:
            index = INDEX_BY_START if by_start else INDEX_BY_CREATED
        partition, sort = _INDEX_KEYS[index]
        names = {"#p": partition}
        values: dict[str, Any] = {":p": channel if channel is not None else ALL_PARTITION}
        condition = "#p = :p"
        low, high = window
        if by_start:
            names["#s"] = sort
        if low is not None and high is not None:
            condition += " AND #s BETWEEN :low AND :high"
            values.update({":low": _instant_key(low), ":high": _instant_key(high)})
        elif low is not None:
            condition += " AND #s >= :low"
            values[":low"] = _instant_key(low)
        elif high is not None:
            condition += " AND #s <= :high"
            values[":high"] = _instant_key(high)

        fingerprint = _fingerprint(index, channel, low, high)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_image(values),
            "ScanIndexForward": by_start,
            "Limit": limit,
        }
        if next_token is not None:
            request["ExclusiveStartKey"] = _decode_token(next_token, index, fingerprint)
        try:
            response = self._call(self._client.query, **request)
        except ClientError as error:
            if next_token is not None and error_code(error) == "ValidationException":
                raise _bad_token("does not continue this list") from error
            raise
        items = [to_item(raw) for raw in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        token = _encode_token(last, fingerprint) if last else None
        return Page(items, token)

    # ------------------------------------------------------------ writes
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Store a new programme; raises InvalidProgramme or ProgrammeExists."""
        given = body.get("program_id")
        errors: list[FieldError] = []
        if isinstance(given, str) and given and not _ID.fullmatch(given):
            errors.append(
                FieldError(
                    "program_id",
                    "may hold only letters, digits and . _ ~ : @ - and must start with a "
                    "letter or digit (it is part of the programme's URL)",
                )
            )
        program_id = given if given is not None else self._new_id()
        fields = self._validated({**body, "program_id": program_id}, errors)
        now = self._clock()
        item = {
            **fields,
            "created_at": to_iso_utc(now),
            **self._bookkeeping(fields, now, _instant_key(now)),
        }
        try:
            self._call(
                self._client.put_item,
                TableName=self.table_name,
                Item=to_image(item),
                ConditionExpression="attribute_not_exists(program_id)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ProgrammeExists(fields["program_id"]) from error
            raise
        return item

    def replace(
        self, program_id: str, body: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        """Replace every programme field (status attributes stay: the stream recomputes them)."""
        errors: list[FieldError] = []
        if body.get("program_id") is not None and body["program_id"] != program_id:
            errors.append(FieldError("program_id", "must match the id in the URL, or be left out"))
        fields = self._validated({**body, "program_id": program_id}, errors)
        return self._rewrite(program_id, if_match, lambda current: fields, drop_unknown=True)

    def patch(
        self, program_id: str, changes: dict[str, Any], if_match: str | None = None
    ) -> dict[str, Any]:
        """Change only the fields given (null removes an optional field), then revalidate."""

        def merged(current: dict[str, Any]) -> dict[str, Any]:
            item = {name: current[name] for name in PROGRAMME_FIELDS if name in current}
            for name, value in changes.items():
                if value is None and name in OPTIONAL_FIELDS:
                    item.pop(name, None)
                else:
                    item[name] = value
            item["program_id"] = program_id
            return self._validated(item, [])

        return self._rewrite(program_id, if_match, merged, drop_unknown=False)

    def delete(self, program_id: str, if_match: str | None = None) -> None:
        """Delete the programme; its schedules go with the stream's REMOVE record."""
        for _ in range(_WRITE_ATTEMPTS):
            condition = "attribute_exists(program_id)"
            names: dict[str, str] = {}
            values: dict[str, Any] = {}
            if if_match is not None:
                current = self.get(program_id)
                if not if_match_allows(current, if_match):
                    raise PreconditionFailed(etag_of(current))
                condition, names, values = _unchanged_condition(current)
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "Key": {"program_id": {"S": program_id}},
                "ConditionExpression": condition,
            }
            if names:
                request["ExpressionAttributeNames"] = names
            if values:
                request["ExpressionAttributeValues"] = to_image(values)
            try:
                self._call(self._client.delete_item, **request)
                return
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                if if_match is None:
                    raise ProgrammeNotFound(program_id) from error
        raise WriteConflict(program_id)

    # ------------------------------------------------------------ internals
    def _validated(self, item: dict[str, Any], errors: list[FieldError]) -> dict[str, Any]:
        try:
            fields = normalise(item, self.default_zone)
        except InvalidProgramme as invalid:
            raise InvalidProgramme([*errors, *invalid.errors]) from invalid
        if errors:
            raise InvalidProgramme(errors)
        return fields

    def _rewrite(
        self,
        program_id: str,
        if_match: str | None,
        build: Callable[[dict[str, Any]], dict[str, Any]],
        drop_unknown: bool,
    ) -> dict[str, Any]:
        """Read, check If-Match, write on condition nothing changed since; retry if it did."""
        for _ in range(_WRITE_ATTEMPTS):
            current = self.get(program_id)
            if not if_match_allows(current, if_match):
                raise PreconditionFailed(etag_of(current))
            fields = build(current)
            removed = [n for n in OPTIONAL_FIELDS if n not in fields and n in current]
            if drop_unknown:
                known = {*PROGRAMME_FIELDS, *_BOOKKEEPING, *STATUS_ATTRIBUTES, "expires_at"}
                removed += sorted(name for name in current if name not in known)
            unchanged = all(current.get(n) == v for n, v in fields.items())
            if unchanged and not removed and current.get("revision"):
                return current
            try:
                return self._update(current, fields, removed)
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
        raise WriteConflict(program_id)

    def _update(
        self, current: dict[str, Any], fields: dict[str, Any], removed: list[str]
    ) -> dict[str, Any]:
        now = self._clock()
        created_key = current.get("gsi_created")
        if not isinstance(created_key, str):
            created_key = _instant_key(now)
        sets = {**fields, **self._bookkeeping(fields, now, created_key)}
        sets.pop("program_id")
        if "created_at" not in current:
            sets["created_at"] = to_iso_utc(now)
        if "channel" not in fields and "gsi_channel" in current:
            removed = [*removed, "gsi_channel"]

        condition, names, values = _unchanged_condition(current)
        assignments = []
        for index, (name, value) in enumerate(sorted(sets.items())):
            names[f"#n{index}"] = name
            values[f":v{index}"] = value
            assignments.append(f"#n{index} = :v{index}")
        expression = "SET " + ", ".join(assignments)
        if removed:
            for index, name in enumerate(removed):
                names[f"#r{index}"] = name
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
        response = self._call(
            self._client.update_item,
            TableName=self.table_name,
            Key={"program_id": {"S": current["program_id"]}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_image(values),
            ReturnValues="ALL_NEW",
        )
        return to_item(response["Attributes"])

    def _bookkeeping(
        self, fields: dict[str, Any], now: datetime, created_key: str
    ) -> dict[str, Any]:
        start = parse_time(fields["start_time"], "UTC").instant
        keys: dict[str, Any] = {
            "updated_at": to_iso_utc(now),
            "revision": uuid.uuid4().hex[:16],
            "gsi_all": ALL_PARTITION,
            "gsi_start": _instant_key(start),
            "gsi_created": created_key,
        }
        if fields.get("channel") is not None:
            keys["gsi_channel"] = fields["channel"]
        return keys

    def _window(
        self, start_from: str | None, start_to: str | None
    ) -> tuple[datetime | None, datetime | None]:
        """The inclusive index bounds of a [from, to) window of start times."""
        errors: list[FieldError] = []
        bounds: dict[str, datetime] = {}
        for name, text in (("from", start_from), ("to", start_to)):
            if text is None:
                continue
            # A query string carries no types: digits alone are epoch seconds here.
            value: str | Decimal = Decimal(text) if _EPOCH_TEXT.fullmatch(text) else text
            try:
                bounds[name] = parse_time(value, self.default_zone).instant
            except TimeValueError as error:
                errors.append(FieldError(name, str(error)))
        low, high = bounds.get("from"), bounds.get("to")
        if low is not None and high is not None and high <= low:
            errors.append(FieldError("to", "must be after from"))
        if errors:
            raise BadRequest("the list window is not valid", errors)
        return low, (high - timedelta(microseconds=1) if high is not None else None)

    def _call(self, method: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any]:
        try:
            return method(**request)
        except ClientError as error:
            if error_code(error) in _THROTTLED:
                raise StoreBusy(error_code(error)) from error
            raise


def _unchanged_condition(
    current: dict[str, Any],
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A condition that holds while no other API write (or direct time edit) touched the item."""
    revision = current.get("revision")
    if isinstance(revision, str) and revision:
        return "#rev = :rev", {"#rev": "revision"}, {":rev": revision}
    conditions = ["attribute_exists(program_id)", "attribute_not_exists(#rev)"]
    names: dict[str, str] = {"#rev": "revision"}
    values: dict[str, Any] = {}
    for index, name in enumerate(("start_time", "end_time", "timezone")):
        names[f"#t{index}"] = name
        if current.get(name) is None:
            conditions.append(f"attribute_not_exists(#t{index})")
        else:
            conditions.append(f"#t{index} = :t{index}")
            values[f":t{index}"] = current[name]
    return " AND ".join(conditions), names, values


def _fingerprint(
    index: str, channel: str | None, low: datetime | None, high: datetime | None
) -> str:
    query = [index, channel, low and low.isoformat(), high and high.isoformat()]
    return hashlib.sha256(json.dumps(query).encode("utf-8")).hexdigest()[:12]


def _encode_token(last_key: dict[str, Any], fingerprint: str) -> str:
    key = {name: value["S"] for name, value in last_key.items()}
    raw = json.dumps({"q": fingerprint, "k": key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_token(token: str, index: str, fingerprint: str) -> dict[str, Any]:
    """The ExclusiveStartKey inside a token this query issued; BadRequest for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise _bad_token("is not a token this API issued") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), dict):
        raise _bad_token("is not a token this API issued")
    if payload.get("q") != fingerprint:
        raise _bad_token("belongs to a list with other parameters")
    key = payload["k"]
    expected = {"program_id", *_INDEX_KEYS[index]}
    if set(key) != expected or not all(
        isinstance(value, str) and 0 < len(value) <= 1024 for value in key.values()
    ):
        raise _bad_token("is not a token this API issued")
    return {name: {"S": value} for name, value in key.items()}


def _bad_token(reason: str) -> BadRequest:
    return BadRequest("next_token is not valid", [FieldError("next_token", reason)])

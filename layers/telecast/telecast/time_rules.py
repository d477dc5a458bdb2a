"""Time rules: how a programme's start and end times, as people write them, become instants.

Every accepted value maps to exactly one UTC instant; every rejected value raises
`TimeValueError` with a message that names the accepted forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from telecast.errors import describe_type

ACCEPTED_FORMS = (
    "ISO 8601 with Z or an offset (2026-10-27T11:34:00Z, 2026-10-27T12:34:00+01:00), "
    "ISO 8601 local time in the item's timezone (2026-10-27T11:34:00, 2026-10-27 11:34), "
    "'27 October 2026, 11:34AM' (local time), or Unix epoch seconds as a number (N)"
)
_FORMS = f"accepted: {ACCEPTED_FORMS}"

MIN_YEAR = 1970
MAX_YEAR = 2099
_EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
_LATEST = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)
_MAX_EPOCH = Decimal(int(_LATEST.timestamp()))
# Epoch values this large are far more likely milliseconds than seconds (year 5138 onwards).
_MILLISECONDS_HINT = Decimal(10**11)
MAX_TEXT_LENGTH = 64
# Zone names whose meaning depends on the machine, not on the time zone database.
_MACHINE_ZONES = frozenset({"localtime", "posixrules", "Factory"})

# re.ASCII: only 0-9 are digits, so look-alike digits from other scripts are not read.
_ISO = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
_SPOKEN = re.compile(
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]+)\.?\s+(?P<year>\d{4})\s*,\s*"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<meridiem>[AaPp][Mm])",
    re.ASCII,
)
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}


class TimeValueError(ValueError):
    """A time or time zone value that the time rules do not accept."""


@dataclass(frozen=True)
class ParsedTime:
    """An instant in UTC and the zone it was written in (None when it carried an offset)."""

    instant: datetime
    zone: str | None


@lru_cache(maxsize=1)
def _known_zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _MACHINE_ZONES


@lru_cache(maxsize=256)
def load_zone(name: str) -> ZoneInfo:
    """Return the IANA zone called exactly `name`, or raise TimeValueError naming it."""
    if name not in _known_zone_names():
        raise TimeValueError(_unknown_zone(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise TimeValueError(_unknown_zone(name)) from error


def check_zone_name(value: object) -> str:
    """Validate a `timezone` attribute value and return it without surrounding blanks."""
    if not isinstance(value, str):
        raise TimeValueError(
            f"must be a string naming an IANA time zone (such as 'Europe/London'), "
            f"not {describe_type(value)}"
        )
    if not value.strip():
        raise TimeValueError(
            "is empty: name an IANA time zone such as 'Europe/London', or leave the "
            "attribute out to use the default zone"
        )
    if len(value) > MAX_TEXT_LENGTH:
        raise TimeValueError(
            f"is longer than {MAX_TEXT_LENGTH} characters: name an IANA time zone "
            "such as 'Europe/London'"
        )
    load_zone(value.strip())
    return value.strip()


def parse_time(value: object, zone_name: str) -> ParsedTime:
    """Map one stored time value to a UTC instant; local times are read in `zone_name`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise TimeValueError(f"must be a string or a number, not {describe_type(value)}; {_FORMS}")
    if not isinstance(value, str):
        return ParsedTime(_from_epoch(value), None)

    if len(value) > MAX_TEXT_LENGTH:
        raise TimeValueError(f"is longer than {MAX_TEXT_LENGTH} characters; {_FORMS}")
    text = value.strip()
    if not text:
        raise TimeValueError(f"is empty; {_FORMS}")
    if _NUMBER_TEXT.fullmatch(text):
        raise TimeValueError(
            f"{_quote(text)} is a number stored as a string (type S): store epoch seconds "
            f"as a DynamoDB number (type N), or write a date; {_FORMS}"
        )

    iso = _ISO.fullmatch(text)
    if iso:
        return _from_iso(text, iso, zone_name)
    spoken = _SPOKEN.fullmatch(text)
    if spoken:
        return _from_spoken(text, spoken, zone_name)
    raise TimeValueError(f"{_quote(text)} is not a recognised time; {_FORMS}")


def to_iso_utc(instant: datetime) -> str:
    """Format an instant as ISO 8601 UTC with a `Z`, losing nothing: s, ms or µs precision."""
    utc = instant.astimezone(UTC)
    whole = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if not utc.microsecond:
        return f"{whole}Z"
    if utc.microsecond % 1000 == 0:
        return f"{whole}.{utc.microsecond // 1000:03d}Z"
    return f"{whole}.{utc.microsecond:06d}Z"


def parse_iso_utc(text: str) -> datetime:
    """Parse a timestamp this service wrote (ISO 8601 with Z or offset) into an aware datetime."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} carries no offset")
    return instant.astimezone(UTC)


def _unknown_zone(name: str) -> str:
    message = f"names an unknown time zone {_quote(name)}"
    wanted = name.strip().replace(" ", "_").casefold()
    matches = sorted(zone for zone in _known_zone_names() if zone.casefold() == wanted)
    if matches:
        return f"{message} (did you mean {matches[0]!r}?)"
    return f"{message}: use an IANA name such as 'Europe/London' or 'UTC'"


def _from_epoch(value: int | float | Decimal) -> datetime:
    seconds = Decimal(str(value))
    if not seconds.is_finite():
        raise TimeValueError(f"{value} is not a finite number of epoch seconds; {_FORMS}")
    if seconds < 0 or seconds >= _MAX_EPOCH:
        looks_like_ms = seconds > _MILLISECONDS_HINT
        hint = " (it looks like milliseconds: divide by 1000)" if looks_like_ms else ""
        raise TimeValueError(
            f"{value} is out of range for Unix epoch seconds{hint}: the instant must fall "
            f"in {MIN_YEAR}-{MAX_YEAR} (UTC); {_FORMS}"
        )
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return _EARLIEST + timedelta(seconds=whole, microseconds=micro)


def _from_iso(text: str, match: re.Match[str], zone_name: str) -> ParsedTime:
    parts = match.groupdict()
    fraction = (parts["fraction"] or "0")[:6].ljust(6, "0")
    wall = _wall_clock(
        text,
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"]),
        int(parts["minute"]),
        int(parts["second"] or 0),
        int(fraction),
    )
    offset = parts["offset"]
    if offset is None:
        return ParsedTime(_localise(text, wall, zone_name), zone_name)
    instant = wall.replace(tzinfo=_offset_zone(text, offset)).astimezone(UTC)
    return ParsedTime(_in_range(text, instant), None)


def _from_spoken(text: str, match: re.Match[str], zone_name: str) -> ParsedTime:
    parts = match.groupdict()
    month = _MONTHS.get(parts["month"].lower())
    if month is None:
        raise TimeValueError(
            f"{_quote(text)} names no English month ({parts['month']!r}); {_FORMS}"
        )
    hour = int(parts["hour"])
    if not 1 <= hour <= 12:
        raise TimeValueError(
            f"{_quote(text)} has hour {hour}, but a 12-hour time with AM/PM needs 1-12 "
            f"(12:00 AM is midnight, 12:00 PM is noon); {_FORMS}"
        )
    hour = hour % 12 + (12 if parts["meridiem"].lower() == "pm" else 0)
    wall = _wall_clock(
        text, int(parts["year"]), month, int(parts["day"]), hour, int(parts["minute"]), 0, 0
    )
    return ParsedTime(_localise(text, wall, zone_name), zone_name)


def _wall_clock(
    text: str,
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    microsecond: int,
) -> datetime:
    # Checked before any offset is applied, so that year 9999 minus an offset cannot overflow.
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise TimeValueError(
            f"{_quote(text)} has year {year}: it must fall in {MIN_YEAR}-{MAX_YEAR}; {_FORMS}"
        )
    try:
        return datetime(year, month, day, hour, minute, second, microsecond)
    except ValueError as error:
        raise TimeValueError(
            f"{_quote(text)} is not a real date and time ({error}); {_FORMS}"
        ) from error


def _in_range(text: str, instant: datetime) -> datetime:
    if not _EARLIEST <= instant < _LATEST:
        raise TimeValueError(
            f"{_quote(text)} is {to_iso_utc(instant)}: the instant must fall in "
            f"{MIN_YEAR}-{MAX_YEAR} (UTC); {_FORMS}"
        )
    return instant


def _offset_zone(text: str, offset: str) -> tzinfo:
    if offset in ("Z", "z"):
        return UTC
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 18 or minutes > 59 or (hours == 18 and minutes):
        raise TimeValueError(
            f"{_quote(text)} has offset {offset}: offsets run from -18:00 to +18:00; {_FORMS}"
        )
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if offset[0] == "-" else delta)


def _localise(text: str, wall: datetime, zone_name: str) -> datetime:
    """Attach `zone_name` to a wall-clock time: gaps are rejected, repeated times take the first."""
    zone = load_zone(zone_name)
    if not _exists(wall, zone):
        first, last = _gap_around(wall, zone)
        raise TimeValueError(
            f"{_quote(text)} does not exist in {zone_name}: clocks go forward on "
            f"{first:%Y-%m-%d}, skipping local times from {first:%H:%M} up to {last:%H:%M}; "
            "write a time outside the gap, or an ISO 8601 time with an offset "
            "(2026-10-27T12:34:00+01:00)"
        )
    # fold=0 is the earlier of two readings of a repeated wall-clock time.
    return _in_range(text, wall.replace(tzinfo=zone, fold=0).astimezone(UTC))


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return instant.astimezone(zone).replace(tzinfo=None) == wall


def _gap_around(wall: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the first skipped local minute and the first local minute after the gap."""
    minute = timedelta(minutes=1)
    first = wall.replace(second=0, microsecond=0)
    while not _exists(first - minute, zone):
        first -= minute
    last = wall.replace(second=0, microsecond=0) + minute
    while not _exists(last, zone):
        last += minute
    return first, last


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")

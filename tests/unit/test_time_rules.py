"""Time rules: every accepted way of writing an instant reads back as that instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from telecast.time_rules import (
    ParsedTime,
    TimeValueError,
    check_zone_name,
    load_zone,
    parse_iso_utc,
    parse_time,
    to_iso_utc,
)

ZONES = (
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/St_Johns",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# A day inside the accepted range on both sides, so a local time never reads as 1969 or 2100.
FIRST = datetime(1970, 1, 2)
LAST = datetime(2099, 12, 30)

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

zones = st.sampled_from(ZONES)
instants = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC))


@dataclass(frozen=True)
class Written:
    """One way a person could have written an instant, and the instant it must mean."""

    value: str | Decimal
    zone: str
    means: datetime
    repeated: bool = False


def earliest_reading(wall: datetime, zone_name: str) -> datetime | None:
    """The earliest instant whose local time in the zone is `wall`, or None in a gap."""
    zone = ZoneInfo(zone_name)
    readings = (wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    real = [r for r in readings if r.astimezone(zone).replace(tzinfo=None) == wall]
    return min(real) if real else None


def casing(draw: st.DrawFn, text: str) -> str:
    """The text in lower, upper, title or as-is case."""
    style = draw(st.sampled_from(("lower", "upper", "title", "keep")))
    return {"lower": text.lower(), "upper": text.upper(), "title": text.title()}.get(style, text)


def fraction(draw: st.DrawFn, microsecond: int) -> str:
    """Fractional seconds as people write them: '.', or ',' and 1-9 digits, none when zero."""
    if not microsecond and draw(st.booleans()):
        return ""
    digits = f"{microsecond:06d}"
    style = draw(st.sampled_from(("six", "trimmed", "nine")))
    digits = {"trimmed": digits.rstrip("0") or "0", "nine": digits + "000"}.get(style, digits)
    return draw(st.sampled_from((".", ","))) + digits


def offset_text(draw: st.DrawFn, offset: timedelta) -> str:
    """An offset as +HH:MM or +HHMM."""
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    separator = draw(st.sampled_from((":", "")))
    return f"{sign}{minutes // 60:02d}{separator}{minutes % 60:02d}"


@cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Every UTC instant in 2024-2030 at which the zone's offset changes, to the minute."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(2024, 1, 1, tzinfo=UTC)
    while day.year < 2031:
        following = day + timedelta(days=1)
        if day.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            low, high = day, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            found.append(high.replace(second=0, microsecond=0))
        day = following
    return tuple(found)


@st.composite
def instants_near_a_clock_change(draw: st.DrawFn) -> tuple[datetime, str]:
    """An instant within three hours of one of the zone's clock changes, and the zone."""
    zone = draw(st.sampled_from([z for z in ZONES if transitions(z)]))
    change = draw(st.sampled_from(transitions(zone)))
    shift = timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return change + shift, zone


@st.composite
def written_instants(draw: st.DrawFn) -> Written:
    """Any instant in the accepted range, written in any accepted form for any zone."""
    instant, zone = draw(st.one_of(st.tuples(instants, zones), instants_near_a_clock_change()))
    local = instant.astimezone(ZoneInfo(zone))
    form = draw(st.sampled_from(("iso_z", "iso_offset", "iso_local", "spoken", "epoch")))
    separator = draw(st.sampled_from(("T", "t"))) if form != "iso_local" else ""
    seconds = f"{instant:%S}{fraction(draw, instant.microsecond)}"

    if form == "iso_z":
        text = f"{instant:%Y-%m-%d}{separator}{instant:%H:%M}:{seconds}"
        return Written(text + draw(st.sampled_from(("Z", "z"))), zone, instant)
    if form == "iso_offset":
        offset = offset_text(draw, local.utcoffset() or timedelta(0))
        local_seconds = f"{local:%S}{fraction(draw, local.microsecond)}"
        text = f"{local:%Y-%m-%d}{separator}{local:%H:%M}:{local_seconds}{offset}"
        return Written(text, zone, instant)
    if form == "epoch":
        whole = int((instant - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
        return Written(Decimal(f"{whole}.{instant.microsecond:06d}"), zone, instant)

    wall = local.replace(tzinfo=None)
    if form == "iso_local":
        separator = draw(st.sampled_from(("T", " ")))
        if wall.second == 0 and wall.microsecond == 0 and draw(st.booleans()):
            text = f"{wall:%Y-%m-%d}{separator}{wall:%H:%M}"
        else:
            local_seconds = f"{wall:%S}{fraction(draw, wall.microsecond)}"
            text = f"{wall:%Y-%m-%d}{separator}{wall:%H:%M}:{local_seconds}"
        return local_reading(text, wall, zone, instant)

    wall = wall.replace(second=0, microsecond=0)
    return local_reading(spoken(draw, wall), wall, zone, instant.replace(second=0, microsecond=0))


def local_reading(text: str, wall: datetime, zone: str, instant: datetime) -> Written:
    """A local time written for an instant: it means the earlier of two repeated readings."""
    earliest = earliest_reading(wall, zone)
    assert earliest is not None, "the local time of a real instant always exists"
    return Written(text, zone, earliest, repeated=earliest != instant)


def spoken(draw: st.DrawFn, wall: datetime) -> str:
    """A wall-clock time as '27 October 2020, 11:34AM', in any of its accepted spellings."""
    month = MONTHS[wall.month - 1]
    month = month[:3] if draw(st.booleans()) else month
    day = f"{wall.day:02d}" if draw(st.booleans()) else str(wall.day)
    hour12 = wall.hour % 12 or 12
    hour = f"{hour12:02d}" if draw(st.booleans()) else str(hour12)
    meridiem = casing(draw, "AM" if wall.hour < 12 else "PM")
    space = draw(st.sampled_from(("", " ")))
    return f"{day} {casing(draw, month)} {wall.year}, {hour}:{wall:%M}{space}{meridiem}"


@st.composite
def walls_near_a_clock_change(draw: st.DrawFn) -> tuple[datetime, str]:
    """A local wall-clock time within three hours of one of the zone's clock changes."""
    zone = draw(st.sampled_from([z for z in ZONES if transitions(z)]))
    change = draw(st.sampled_from(transitions(zone)))
    local = change.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return local + timedelta(minutes=draw(st.integers(-180, 180))), zone


walls = st.one_of(
    st.tuples(st.datetimes(min_value=FIRST, max_value=LAST), zones),
    walls_near_a_clock_change(),
)


@PROPERTY_SETTINGS
@given(written_instants())
@example(Written("2026-10-27T11:34:00Z", "UTC", datetime(2026, 10, 27, 11, 34, tzinfo=UTC)))
@example(
    Written("27 October 2020, 11:34AM", "Europe/London", datetime(2020, 10, 27, 11, 34, tzinfo=UTC))
)
def test_an_instant_written_in_any_accepted_form_parses_back_to_that_instant(
    written: Written,
) -> None:
    # given an instant written in one accepted form, read in one zone
    # when it is parsed
    parsed = parse_time(written.value, written.zone)
    event("second reading of a repeated local time" if written.repeated else "plain")

    # then it is the instant meant (the earlier one, when a local time is repeated)
    assert parsed.instant == written.means
    assert parsed.instant.tzinfo is UTC


@PROPERTY_SETTINGS
@given(walls)
def test_a_naive_local_time_round_trips_unless_it_falls_in_a_clock_change_gap(
    wall_and_zone: tuple[datetime, str],
) -> None:
    # given a wall-clock time in a zone, written as naive ISO 8601
    wall, zone = wall_and_zone
    text = wall.isoformat(sep=" ")
    expected = earliest_reading(wall, zone)
    event("in a gap" if expected is None else "exists")

    if expected is None:
        # when it is skipped by the clocks going forward, then it is refused, naming zone and gap
        with pytest.raises(TimeValueError) as refusal:
            parse_time(text, zone)
        assert zone in str(refusal.value)
        assert "clocks go forward" in str(refusal.value)
        return

    # when it exists, then it reads as its earliest instant, which shows the same wall clock
    parsed = parse_time(text, zone)
    assert parsed == ParsedTime(expected, zone)
    assert parsed.instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == wall


@PROPERTY_SETTINGS
@given(st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC)))
def test_the_service_timestamp_format_loses_nothing(instant: datetime) -> None:
    # given any instant, when written by the service and read back
    text = to_iso_utc(instant)

    # then it is the same instant, written in UTC with a Z
    assert parse_iso_utc(text) == instant
    assert text.endswith("Z")


@pytest.mark.parametrize(
    "text",
    ["2026-10-27T11:34:00Z", "2026-10-27T12:34:00+01:00", "2026-10-27T20:34:00+0900"],
)
def test_the_issue_examples_with_z_or_offset_name_the_same_instant(text: str) -> None:
    # given the examples of the issue, when parsed in any zone
    parsed = parse_time(text, "Asia/Tokyo")

    # then they all name 11:34 UTC and carry no zone of their own
    assert parsed == ParsedTime(datetime(2026, 10, 27, 11, 34, tzinfo=UTC), None)


def test_fractional_seconds_are_kept_to_the_microsecond() -> None:
    # given fractional seconds with more digits than a microsecond
    # when parsed
    parsed = parse_time("2026-10-27T11:34:00.250500999Z", "UTC")

    # then the instant keeps them, truncated to microseconds
    assert parsed.instant == datetime(2026, 10, 27, 11, 34, 0, 250500, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("27 October 2026, 12:00 AM", 0, 0),
        ("27 October 2026, 12:30am", 0, 30),
        ("27 October 2026, 12:00 PM", 12, 0),
        ("27 October 2026, 12:59PM", 12, 59),
        ("27 October 2026, 1:05 pm", 13, 5),
        ("27 Oct. 2026, 11:34AM", 11, 34),
        ("27 SEPT 2026,11:34 AM", 11, 34),
    ],
)
def test_twelve_hour_times_read_midnight_and_noon_the_usual_way(
    text: str, hour: int, minute: int
) -> None:
    # given a 12-hour time, when parsed in UTC
    parsed = parse_time(text, "UTC")

    # then 12 AM is midnight, 12 PM is noon, and the rest follow
    assert (parsed.instant.hour, parsed.instant.minute) == (hour, minute)


@pytest.mark.parametrize(
    ("text", "zone", "first", "after"),
    [
        ("2026-03-29 01:30", "Europe/London", "01:00", "02:00"),
        ("2026-03-08T02:30", "America/New_York", "02:00", "03:00"),
        ("8 March 2026, 2:15 AM", "America/New_York", "02:00", "03:00"),
        ("2026-10-04 02:15", "Australia/Lord_Howe", "02:00", "02:30"),
        ("2026-03-08 02:10", "America/St_Johns", "02:00", "03:00"),
    ],
)
def test_a_local_time_skipped_by_the_clocks_is_refused_with_zone_and_gap(
    text: str, zone: str, first: str, after: str
) -> None:
    # given a local time the clocks skip, when parsed in its zone
    with pytest.raises(TimeValueError) as refusal:
        parse_time(text, zone)

    # then the message names the zone and the skipped span
    message = str(refusal.value)
    assert zone in message
    assert f"from {first} up to {after}" in message
    assert "with an offset" in message


@pytest.mark.parametrize(
    ("text", "zone", "utc"),
    [
        ("2026-10-25 01:30", "Europe/London", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("2026-11-01T01:30:00", "America/New_York", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
        ("1 November 2026, 1:59 AM", "America/New_York", datetime(2026, 11, 1, 5, 59, tzinfo=UTC)),
        ("2026-04-05 01:45", "Australia/Lord_Howe", datetime(2026, 4, 4, 14, 45, tzinfo=UTC)),
    ],
)
def test_a_local_time_that_occurs_twice_means_the_earlier(
    text: str, zone: str, utc: datetime
) -> None:
    # given a local time the clocks repeat, when parsed in its zone
    parsed = parse_time(text, zone)

    # then it is the first occurrence, still on summer time
    assert parsed.instant == utc


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (Decimal("NaN"), "not a finite number"),
        (Decimal("Infinity"), "not a finite number"),
        (float("nan"), "not a finite number"),
        (Decimal("-1"), "out of range"),
        (Decimal("4102444800"), "out of range"),
        (Decimal("1782936000000"), "looks like milliseconds"),
        (True, "boolean"),
        ("1782936000", "number stored as a string"),
        ("1.7e9", "number stored as a string"),
        ("٢٠٢٦-10-27T11:34:00Z", "not a recognised time"),
        ("2026-10-27T11:34:00Z[Europe/London]", "not a recognised time"),
        ("2026-06-30T23:59:60Z", "not a real date and time"),
        ("1970-01-01T00:30:00+01:00", "must fall in 1970-2099"),
        ("9999-12-31T23:00:00-05:00", "has year 9999"),
        (" " * 65, "longer than 64"),
    ],
)
def test_a_refused_time_says_why_and_lists_the_accepted_forms(value: object, fragment: str) -> None:
    # given a value outside the rules, when parsed
    with pytest.raises(TimeValueError) as refusal:
        parse_time(value, "UTC")

    # then the message says what is wrong and which forms are accepted
    assert fragment in str(refusal.value)
    assert "accepted: ISO 8601" in str(refusal.value)


def test_epoch_seconds_keep_their_fraction() -> None:
    # given epoch seconds with a fraction, as DynamoDB hands them over
    # when parsed
    parsed = parse_time(Decimal("1782936000.25"), "Asia/Tokyo")

    # then the instant is exact and carries no zone
    assert parsed == ParsedTime(datetime(2026, 7, 1, 20, 0, 0, 250000, tzinfo=UTC), None)


def test_the_last_epoch_second_before_2100_is_accepted() -> None:
    # given the last second of 2099, when parsed
    parsed = parse_time(Decimal("4102444799"), "UTC")

    # then it is accepted
    assert parsed.instant == datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("name", ["Europe/London", " Asia/Kolkata ", "UTC", "America/St_Johns"])
def test_a_known_zone_name_is_accepted_without_surrounding_blanks(name: str) -> None:
    # given an IANA zone name, when checked, then it comes back trimmed
    assert check_zone_name(name) == name.strip()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons'"),
        ("europe/london", "did you mean 'Europe/London'?"),
        ("America/New York", "did you mean 'America/New_York'?"),
        ("localtime", "unknown time zone"),
        ("../../etc/passwd", "unknown time zone"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("A" * 65, "longer than 64"),
        ({"name": "Europe/London"}, "not a map (M)"),
        (Decimal(1), "not a number (N)"),
    ],
)
def test_a_bad_zone_is_refused_with_a_reason(value: object, fragment: str) -> None:
    # given a value that is not a known IANA zone, when checked
    with pytest.raises(TimeValueError) as refusal:
        check_zone_name(value)

    # then the reason says why
    assert fragment in str(refusal.value)


def test_an_unknown_zone_is_refused_when_a_local_time_is_read_in_it() -> None:
    # given a naive time and an unknown zone, when parsed
    with pytest.raises(TimeValueError, match="unknown time zone"):
        parse_time("2026-10-27 11:34", "Nowhere/Special")


def test_zones_are_loaded_once() -> None:
    # given a zone loaded twice, then it is the same object (cheap on the hot path)
    assert load_zone("Europe/London") is load_zone("Europe/London")


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2026, 10, 27, 11, 34, tzinfo=UTC), "2026-10-27T11:34:00Z"),
        (datetime(2026, 10, 27, 11, 34, 0, 250000, tzinfo=UTC), "2026-10-27T11:34:00.250Z"),
        (datetime(2026, 10, 27, 11, 34, 0, 250500, tzinfo=UTC), "2026-10-27T11:34:00.250500Z"),
        (datetime(2026, 10, 27, 12, 34, tzinfo=ZoneInfo("Europe/London")), "2026-10-27T12:34:00Z"),
    ],
)
def test_the_service_writes_instants_in_utc_with_a_z(instant: datetime, text: str) -> None:
    # given an aware instant, when formatted, then it is UTC with Z and only needed digits
    assert to_iso_utc(instant) == text


def test_a_service_timestamp_without_an_offset_is_refused() -> None:
    # given a timestamp without an offset, when read as a service timestamp, then it fails
    with pytest.raises(ValueError, match="carries no offset"):
        parse_iso_utc("2026-10-27T11:34:00")

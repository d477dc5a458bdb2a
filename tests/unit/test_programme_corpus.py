"""A corpus of malformed and tricky programme items, each with the status and reason it gets.

Each row is a whole item as the stream deserialiser hands it over (str, Decimal, dict, list,
set, bool, None, Binary), built from a valid base item by changing or dropping attributes.
Every row goes through `parse_programme` and through `plan_change` (an INSERT at `NOW`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary
from hypothesis import given, settings
from hypothesis import strategies as st

from telecast.errors import InvalidProgramme
from telecast.programme import Programme, parse_programme
from telecast.schedule_plan import Edge, Plan, PublishNow, Status, Upsert, plan_change

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MARGIN = timedelta(seconds=5)
DEFAULT_ZONE = "UTC"
BASE: dict[str, Any] = {
    "program_id": "prog-1",
    "start_time": "2026-07-01T20:00:00Z",
    "end_time": "2026-07-01T21:00:00Z",
    "title": "Evening News",
    "channel": "BBC One",
}
DROP = object()  # marks an attribute left out of the item

SCHEDULED, STARTED, PAST, INVALID = Status.SCHEDULED, Status.STARTED, Status.PAST, Status.INVALID
FORMS = "accepted: ISO 8601 with Z or an offset"  # the hint every bad time carries
EVENING = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """An instant as ISO 8601 with Z, for rows relative to NOW."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Row:
    """One corpus entry: what changes from BASE, the status, and what the reason must say."""

    name: str
    changes: dict[str, Any]
    status: Status
    reasons: tuple[str, ...] = ()
    starts_at: datetime | None = None
    item: dict[str, Any] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        item = {**BASE, **self.changes}
        object.__setattr__(self, "item", {k: v for k, v in item.items() if v is not DROP})


def row(
    name: str, status: Status, *reasons: str, starts_at: datetime | None = None, **changes: Any
) -> Row:
    """A corpus row: the attributes that differ from BASE, the status and reason fragments."""
    return Row(name, changes, status, reasons, starts_at)


# fmt: off
CORPUS: tuple[Row, ...] = (
    # --- the base item and accepted variants -------------------------------------------------
    row("base item", SCHEDULED, starts_at=EVENING),
    row("offset +01:00", SCHEDULED, starts_at=EVENING, start_time="2026-07-01T21:00:00+01:00"),
    row("offset +18:00", SCHEDULED, starts_at=EVENING, start_time="2026-07-02T14:00:00+18:00"),
    row("offset -0330", SCHEDULED, starts_at=EVENING, start_time="2026-07-01T16:30:00-0330"),
    row("offset +05:30", SCHEDULED, starts_at=EVENING, start_time="2026-07-02T01:30+05:30"),
    row("lowercase z and t", SCHEDULED, starts_at=EVENING, start_time="2026-07-01t20:00:00z"),
    row("comma fraction", SCHEDULED, start_time="2026-07-01T20:00:00,250Z"),
    row("nine fraction digits", SCHEDULED, start_time="2026-07-01T20:00:00.123456789Z"),
    row("blanks around", SCHEDULED, starts_at=EVENING, start_time="  2026-07-01T20:00:00Z\t"),
    row("naive T in zone", SCHEDULED, starts_at=EVENING,
        start_time="2026-07-01T21:00:00", end_time="2026-07-01 22:00", timezone="Europe/London"),
    row("naive space default UTC", SCHEDULED, starts_at=EVENING, start_time="2026-07-01 20:00"),
    row("spoken full month", SCHEDULED, starts_at=EVENING,
        start_time="1 July 2026, 09:00PM", timezone="Europe/London"),
    row("spoken any case", SCHEDULED, starts_at=EVENING,
        start_time="01 JUL 2026,9:00 pm", timezone="Europe/London"),
    row("spoken 12 PM noon", SCHEDULED, starts_at=datetime(2026, 7, 1, 3, tzinfo=UTC),
        start_time="1 July 2026, 12:00 PM", timezone="Asia/Tokyo"),
    row("spoken 12 AM midnight", SCHEDULED, starts_at=datetime(2026, 6, 30, 15, tzinfo=UTC),
        start_time="1 Jul 2026, 12:00 AM", timezone="Asia/Tokyo"),
    row("zone ignored with Z", SCHEDULED, starts_at=EVENING, timezone="Asia/Tokyo"),
    row("zone with blanks", SCHEDULED, starts_at=EVENING,
        start_time="2026-07-01 21:00", timezone=" Europe/London "),
    row("epoch seconds", SCHEDULED, starts_at=EVENING, start_time=Decimal("1782936000")),
    row("epoch with fraction", SCHEDULED, start_time=Decimal("1782936000.5")),
    row("epoch and ISO mixed", SCHEDULED, start_time=Decimal(1782936000),
        end_time="2026-07-01T22:00:00+01:00"),
    row("leap day 2028", SCHEDULED,
        start_time="2028-02-29T10:00:00Z", end_time="2028-02-29T11:00:00Z"),
    row("year 2099", SCHEDULED,
        start_time="2099-12-31T22:00:00Z", end_time="2099-12-31T23:59:59Z"),
    row("title 300 chars", SCHEDULED, title="x" * 300),
    row("japanese title", SCHEDULED, title="ニュース７"),
    row("no title or channel", SCHEDULED, title=DROP, channel=DROP),
    row("title null", SCHEDULED, title=None),
    # --- DST gaps and overlaps (2026) ----------------------------------------------------------
    row("London gap", INVALID, "start_time", "does not exist in Europe/London", "01:00 up to 02:00",
        start_time="2026-03-29 01:30", end_time="2026-07-01T21:00:00Z",
        timezone="Europe/London"),
    row("New York gap", INVALID, "end_time", "does not exist in America/New_York",
        start_time="2026-03-08T01:00:00Z", end_time="2026-03-08 02:30",
        timezone="America/New_York"),
    row("New York gap spoken", INVALID, "start_time", "02:00 up to 03:00", "with an offset",
        start_time="8 March 2026, 2:15 AM", timezone="America/New_York"),
    row("London overlap earlier", SCHEDULED, starts_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        start_time="2026-10-25 01:30", end_time="2026-10-25 03:00", timezone="Europe/London"),
    row("London overlap inside", SCHEDULED, starts_at=datetime(2026, 10, 25, 0, 10, tzinfo=UTC),
        start_time="25 Oct 2026, 1:10 AM", end_time="25 Oct 2026, 1:50 AM",
        timezone="Europe/London"),
    row("New York overlap earlier", SCHEDULED, starts_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        start_time="2026-11-01T01:30:00", end_time="2026-11-01T02:30:00",
        timezone="America/New_York"),
    # --- relative to NOW ----------------------------------------------------------------------
    row("on air", STARTED, start_time=iso(NOW - timedelta(minutes=10))),
    row("starts within margin", STARTED, start_time=iso(NOW + timedelta(seconds=3))),
    row("starts at margin", STARTED, start_time=iso(NOW + MARGIN)),
    row("starts after margin", SCHEDULED, start_time=iso(NOW + timedelta(seconds=6))),
    row("ended", PAST, start_time="2026-06-01T20:00:00Z", end_time="2026-06-01T21:00:00Z"),
    row("ends now", PAST, start_time=iso(NOW - timedelta(hours=1)), end_time=iso(NOW)),
    row("epoch zero", PAST, start_time=Decimal(0), end_time=Decimal(3600)),
    # --- empty, blank and unparseable times --------------------------------------------------
    row("empty start", INVALID, "start_time is empty", FORMS, start_time=""),
    row("blank end", INVALID, "end_time is empty", FORMS, end_time="   "),
    row("not-a-date", INVALID, "start_time 'not-a-date' is not a recognised time", FORMS,
        start_time="not-a-date"),
    row("hour 24", INVALID, "start_time", "hour must be in 0..23", FORMS,
        start_time="2026-07-01T24:00"),
    row("13:00 PM", INVALID, "start_time", "has hour 13", "12:00 AM is midnight", FORMS,
        start_time="1 July 2026, 13:00 PM"),
    row("00:30 AM", INVALID, "start_time", "has hour 0", FORMS,
        start_time="1 July 2026, 00:30 AM"),
    row("minute 60", INVALID, "start_time", "not a real date and time", FORMS,
        start_time="2026-07-01T20:60:00Z"),
    row("leap second", INVALID, "start_time", "not a real date and time", FORMS,
        start_time="2026-06-30T23:59:60Z"),
    row("Feb 30", INVALID, "start_time", "day is out of range for month", FORMS,
        start_time="2026-02-30T10:00:00Z"),
    row("Feb 29 non-leap", INVALID, "start_time", "day is out of range for month", FORMS,
        start_time="29 February 2027, 10:00 AM"),
    row("month 13", INVALID, "end_time", "month must be in 1..12", FORMS,
        end_time="2026-13-01T10:00:00Z"),
    row("misspelt month", INVALID, "start_time", "names no English month ('Jully')", FORMS,
        start_time="1 Jully 2026, 9:00 PM"),
    row("spoken without comma", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="1 July 2026 9:00 PM"),
    row("date only", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="2026-07-01"),
    row("one-digit hour", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="2026-07-01T9:00"),
    row("US date order", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="07/01/2026 08:00 PM"),
    row("zone in brackets", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="2026-07-01T20:00:00Z[UTC]"),
    row("arabic-indic digits", INVALID, "start_time", "not a recognised time", FORMS,
        start_time="٢٠٢٦-07-01T20:00:00Z"),
    row("10k chars", INVALID, "start_time is longer than 64 characters", FORMS,
        start_time="2026-07-01T20:00:00Z" + "x" * 10_000),
    # --- offsets and zones ---------------------------------------------------------------------
    row("offset +25:00", INVALID, "start_time", "offset +25:00", "-18:00 to +18:00", FORMS,
        start_time="2026-07-01T20:00:00+25:00"),
    row("offset +18:01", INVALID, "end_time", "offset +18:01", FORMS,
        end_time="2026-07-02T15:00:00+18:01"),
    row("unknown zone", INVALID, "timezone names an unknown time zone 'Mars/Olympus_Mons'",
        "IANA", timezone="Mars/Olympus_Mons"),
    row("zone wrong case", INVALID, "timezone", "did you mean 'Europe/London'?",
        timezone="europe/london"),
    row("zone as map", INVALID, "timezone must be a string", "not a map (M)",
        timezone={"name": "Europe/London"}),
    row("zone as number", INVALID, "timezone", "not a number (N)", timezone=Decimal(1)),
    row("zone empty", INVALID, "timezone is empty", timezone=""),
    row("zone 10k chars", INVALID, "timezone is longer than 64", timezone="E" * 10_000),
    # --- numbers -------------------------------------------------------------------------------
    row("epoch as string", INVALID, "start_time '1700000000' is a number stored as a string",
        "type N", FORMS, start_time="1700000000"),
    row("decimal as string", INVALID, "end_time", "number stored as a string", FORMS,
        end_time="1782939600.5"),
    row("epoch milliseconds", INVALID, "start_time", "looks like milliseconds", FORMS,
        start_time=Decimal("1782936000000")),
    row("negative epoch", INVALID, "start_time -1 is out of range", "1970-2099", FORMS,
        start_time=Decimal(-1)),
    row("epoch 2100", INVALID, "end_time", "out of range", FORMS, end_time=Decimal(4102444800)),
    row("year 1969", INVALID, "start_time", "has year 1969", FORMS,
        start_time="1969-12-31T23:00:00Z", end_time="1970-01-01T01:00:00Z"),
    row("instant in 1969", INVALID, "start_time", "is 1969-12-31T23:30:00Z", FORMS,
        start_time="1970-01-01T00:30:00+01:00", end_time="1970-01-01T01:00:00Z"),
    row("year 2100", INVALID, "end_time", "has year 2100", FORMS,
        end_time="2100-01-01T00:00:00Z"),
    # --- wrong types in time attributes ----------------------------------------------------------
    row("map start", INVALID, "start_time must be a string or a number, not a map (M)", FORMS,
        start_time={"S": "2026-07-01T20:00:00Z"}),
    row("list end", INVALID, "end_time must be a string or a number, not a list (L)", FORMS,
        end_time=["2026-07-01T21:00:00Z"]),
    row("string set start", INVALID, "start_time", "not a set (SS/NS/BS)", FORMS,
        start_time={"2026-07-01T20:00:00Z"}),
    row("number set end", INVALID, "end_time", "not a set", end_time={Decimal(1782939600)}),
    row("boolean start", INVALID, "start_time", "not a boolean (BOOL)", FORMS, start_time=True),
    row("binary start", INVALID, "start_time", "not binary (B)", FORMS,
        start_time=Binary(b"2026-07-01T20:00:00Z")),
    row("null start", INVALID, "start_time is null (NULL)", FORMS, start_time=None),
    # --- missing keys --------------------------------------------------------------------------
    row("missing start", INVALID, "start_time is missing", FORMS, start_time=DROP),
    row("missing end", INVALID, "end_time is missing", FORMS, end_time=DROP),
    row("missing both", INVALID, "start_time is missing", "end_time is missing",
        start_time=DROP, end_time=DROP),
    row("empty program_id", INVALID, "program_id must be a non-empty string", program_id=""),
    row("program_id 513 chars", INVALID, "program_id is longer than 512", program_id="p" * 513),
    # --- order of the two times ----------------------------------------------------------------
    row("end before start", INVALID, "end_time must be strictly after start_time",
        end_time="2026-07-01T19:00:00Z"),
    row("end equal to start", INVALID, "end_time must be strictly after start_time",
        end_time="2026-07-01T20:00:00Z"),
    row("end equal written differently", INVALID, "end_time must be strictly after",
        end_time="2026-07-01T22:00:00+02:00"),
    row("end in the repeated hour", INVALID, "end_time must be strictly after",
        start_time="2026-10-25 01:40", end_time="2026-10-25 01:20", timezone="Europe/London"),
    # --- title and channel --------------------------------------------------------------------
    row("title 301 chars", INVALID, "title is longer than 300 characters (301)", title="x" * 301),
    row("title 10k chars", INVALID, "title is longer than 300", title="x" * 10_000),
    row("empty title", INVALID, "title must not be empty", title=""),
    row("blank title", INVALID, "title must not be empty", title="  "),
    row("title as list", INVALID, "title must be a string, not a list (L)", title=["News"]),
    row("channel as number", INVALID, "channel must be a string, not a number (N)",
        channel=Decimal(4)),
    row("channel as map", INVALID, "channel must be a string, not a map (M)",
        channel={"name": "BBC One"}),
    row("channel 101 chars", INVALID, "channel is longer than 100", channel="c" * 101),
    # --- several faults reported together -----------------------------------------------------
    row("every field wrong", INVALID, "start_time is empty", "end_time is missing",
        "title must not be empty", "channel must be a string",
        start_time="", end_time=DROP, title="", channel=Decimal(1)),
)
# fmt: on


def validate(item: dict[str, Any], zone: str) -> Programme | InvalidProgramme:
    """The programme an item describes, or why it is invalid."""
    try:
        return parse_programme(item, zone)
    except InvalidProgramme as error:
        return error


def status_of(programme: Programme) -> Status:
    """The status a valid programme has at NOW, by the issue's definitions."""
    if programme.end <= NOW:
        return PAST
    if programme.start <= NOW + MARGIN:
        return STARTED
    return SCHEDULED


def status_of_plan(plan: Plan) -> Status | None:
    """The status an INSERT plan leads to: written now, or STARTED once START is published."""
    if plan.status is not None:
        return plan.status.status
    started = any(
        isinstance(action, PublishNow) and action.request.event_type is Edge.START
        for action in plan.actions
    )
    return STARTED if started else None


def test_the_corpus_is_large_and_its_names_are_unique() -> None:
    # given the corpus, then it has at least 60 rows, each named once
    names = [entry.name for entry in CORPUS]
    assert len(names) >= 60
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.name)
def test_parse_programme_gives_each_corpus_item_its_status_and_reason(entry: Row) -> None:
    # given a corpus item
    # when it is validated
    outcome = validate(entry.item, DEFAULT_ZONE)

    # then it is valid with the expected status, or invalid with a reason naming the field
    if entry.status is INVALID:
        assert isinstance(outcome, InvalidProgramme), f"accepted: {outcome}"
        for fragment in entry.reasons:
            assert fragment in outcome.reason
        assert len(outcome.reason) < 1500, "a reason never echoes a huge value"
    else:
        assert isinstance(outcome, Programme), f"refused: {outcome}"
        assert status_of(outcome) is entry.status
        if entry.starts_at is not None:
            assert outcome.start == entry.starts_at


@pytest.mark.parametrize("entry", CORPUS, ids=lambda entry: entry.name)
def test_an_insert_of_each_corpus_item_plans_its_status(entry: Row) -> None:
    # given a corpus item written at NOW
    # when the stream plans its INSERT
    plan = plan_change("INSERT", "prog-1", None, entry.item, NOW, DEFAULT_ZONE, MARGIN)

    # then the plan leads to the expected status, and an invalid item carries its reason
    assert status_of_plan(plan) is entry.status
    if entry.status is INVALID:
        assert plan.status is not None
        assert plan.status.error == plan.invalid_reason
        for fragment in entry.reasons:
            assert fragment in (plan.invalid_reason or "")
        assert not any(isinstance(action, (Upsert, PublishNow)) for action in plan.actions)
    if entry.status is PAST:
        assert not any(isinstance(action, (Upsert, PublishNow)) for action in plan.actions)


# Any value the DynamoDB deserialiser can produce, with near-miss timestamps among the strings.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=80),
    st.from_regex(
        r"\A[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}[T t][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?"
        r"([.,][0-9]{1,9})?(Z|z|[+-][0-9]{2}:?[0-9]{2})?\Z"
    ),
    st.from_regex(r"\A[0-9]{1,2} [A-Za-z]{3,9} [0-9]{4}, ?[0-9]{1,2}:[0-9]{2} ?[AaPp][Mm]\Z"),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20),
    st.binary(max_size=8).map(Binary),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        st.frozensets(st.text(max_size=5), min_size=1, max_size=3).map(set),
    ),
    max_leaves=4,
)
items = st.fixed_dictionaries(
    {"program_id": st.just("prog-1")},
    optional={name: values for name in ("start_time", "end_time", "timezone", "title", "channel")},
)


@settings(max_examples=100, deadline=None)
@given(items, st.sampled_from(("UTC", "Europe/London", "America/New_York")))
def test_no_item_can_make_validation_or_planning_fail(item: dict[str, Any], zone: str) -> None:
    # given any item the stream could hand over
    # when it is validated and planned
    outcome = validate(item, zone)
    plan = plan_change("INSERT", "prog-1", None, item, NOW, zone, MARGIN)

    # then nothing but InvalidProgramme escapes, and the plan always leads to a status
    assert isinstance(outcome, Programme) or outcome.reason
    assert status_of_plan(plan) in {SCHEDULED, STARTED, PAST, INVALID}

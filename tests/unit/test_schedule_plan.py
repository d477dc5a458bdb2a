"""Schedule plan: what one stream record asks of the schedules, the notifier and the status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from telecast.schedule_plan import (
    Delete,
    Edge,
    NotificationRequest,
    Plan,
    PublishNow,
    Status,
    StatusUpdate,
    Upsert,
    plan_change,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MARGIN = timedelta(seconds=5)
START = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)
END = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
TIMES = {"start_time": "2026-07-01T20:00:00Z", "end_time": "2026-07-01T21:00:00Z"}


def item(**changes: Any) -> dict[str, Any]:
    """A valid programme item in the future, with some attributes changed."""
    return {"program_id": "prog-1", **TIMES, "title": "Evening News", **changes}


def at(moment: datetime) -> str:
    """An instant as ISO 8601 with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


def insert(new: dict[str, Any], now: datetime = NOW) -> Plan:
    """Plan an INSERT of `new` at `now`."""
    return plan_change("INSERT", "prog-1", None, new, now, "UTC", MARGIN)


def modify(old: dict[str, Any], new: dict[str, Any], now: datetime = NOW) -> Plan:
    """Plan a MODIFY from `old` to `new` at `now`."""
    return plan_change("MODIFY", "prog-1", old, new, now, "UTC", MARGIN)


def upsert(edge: Edge, instant: datetime) -> Upsert:
    """The expected upsert of one edge."""
    return Upsert(NotificationRequest("prog-1", edge, instant))


def deletes() -> tuple[Delete, Delete]:
    """Deleting both schedules of the programme."""
    return (Delete("prog-1", Edge.START), Delete("prog-1", Edge.END))


def status(value: Status, new: dict[str, Any], error: str | None = None) -> StatusUpdate:
    """The expected status write, guarded by the item's time attributes."""
    expected = {name: new[name] for name in ("start_time", "end_time", "timezone") if name in new}
    return StatusUpdate("prog-1", value, expected, error)


def test_an_insert_in_the_future_schedules_both_edges_and_marks_it_scheduled() -> None:
    # given a programme wholly in the future
    new = item()

    # when it is inserted
    plan = insert(new)

    # then both edges are scheduled and the item is marked SCHEDULED
    assert plan.actions == (upsert(Edge.START, START), upsert(Edge.END, END))
    assert plan.status == status(Status.SCHEDULED, new)
    assert plan.outcome == "scheduled"


def test_an_insert_on_air_publishes_start_at_once_as_late_and_schedules_end() -> None:
    # given a programme that started ten minutes ago
    started = NOW - timedelta(minutes=10)
    new = item(start_time=at(started))

    # when it is inserted
    plan = insert(new)

    # then START goes to the notifier now, marked as a catch-up, and END is scheduled
    request = NotificationRequest("prog-1", Edge.START, started, catch_up=True)
    assert plan.actions == (
        Delete("prog-1", Edge.START),
        PublishNow(request),
        upsert(Edge.END, END),
    )
    # and the notifier, not the stream, records STARTED when it publishes
    assert plan.status is None


def test_an_insert_after_the_end_sends_nothing_and_marks_it_past() -> None:
    # given a programme that has already ended
    new = item(start_time="2026-06-01T20:00:00Z", end_time="2026-06-01T21:00:00Z")

    # when it is inserted
    plan = insert(new)

    # then nothing is scheduled or published, and the item is marked PAST
    assert plan.actions == deletes()
    assert plan.status == status(Status.PAST, new)
    assert plan.outcome == "past"


def test_an_insert_starting_within_the_due_margin_is_handed_over_on_time_not_late() -> None:
    # given a programme starting in three seconds (inside the five-second margin)
    soon = NOW + timedelta(seconds=3)
    new = item(start_time=at(soon))

    # when it is inserted
    plan = insert(new)

    # then START goes to the notifier now, not as a catch-up (the notifier waits until due)
    assert PublishNow(NotificationRequest("prog-1", Edge.START, soon)) in plan.actions
    assert upsert(Edge.END, END) in plan.actions


def test_an_insert_starting_just_after_the_margin_is_scheduled() -> None:
    # given a programme starting one millisecond after the margin
    later = NOW + MARGIN + timedelta(milliseconds=1)

    # when it is inserted
    plan = insert(item(start_time=at(later)))

    # then START is scheduled like any future edge
    assert plan.actions[0] == upsert(Edge.START, later)


def test_an_insert_ending_within_the_margin_hands_both_edges_over() -> None:
    # given a programme that started a minute ago and ends in two seconds
    started, ending = NOW - timedelta(minutes=1), NOW + timedelta(seconds=2)

    # when it is inserted
    plan = insert(item(start_time=at(started), end_time=at(ending)))

    # then both edges go to the notifier now, START first
    published = [a.request for a in plan.actions if isinstance(a, PublishNow)]
    assert published == [
        NotificationRequest("prog-1", Edge.START, started, catch_up=True),
        NotificationRequest("prog-1", Edge.END, ending),
    ]


def test_a_modify_of_the_start_only_replaces_the_start_schedule() -> None:
    # given a scheduled programme whose start moves ten minutes later
    old = item(notification_status="SCHEDULED")
    new = {**old, "start_time": "2026-07-01T20:10:00Z"}

    # when the change is planned
    plan = modify(old, new)

    # then only START is replaced, and the status (already SCHEDULED) is not rewritten
    assert plan.actions == (upsert(Edge.START, START + timedelta(minutes=10)),)
    assert plan.status is None
    assert plan.outcome == "rescheduled"


def test_a_modify_of_the_end_only_replaces_the_end_schedule() -> None:
    # given a scheduled programme whose end moves half an hour later
    old = item(notification_status="SCHEDULED")
    new = {**old, "end_time": "2026-07-01T21:30:00Z"}

    # when the change is planned
    plan = modify(old, new)

    # then only END is replaced
    assert plan.actions == (upsert(Edge.END, END + timedelta(minutes=30)),)


def test_a_modify_of_the_title_only_changes_no_schedule() -> None:
    # given a scheduled programme whose title is corrected
    old = item(notification_status="SCHEDULED")
    new = {**old, "title": "Late Evening News"}

    # when the change is planned
    plan = modify(old, new)

    # then nothing is done: the notifier reads the title when it publishes
    assert plan == Plan("prog-1", outcome="times-unchanged")


def test_a_record_that_only_changes_the_status_attributes_is_ignored() -> None:
    # given the service's own status write coming back on the stream
    old = item()
    new = {
        **old,
        "notification_status": "SCHEDULED",
        "notification_updated_at": "2026-06-15T12:00:00Z",
    }

    # when the change is planned
    plan = modify(old, new)

    # then nothing is done, so status writes never loop
    assert plan == Plan("prog-1", outcome="status-only")


def test_a_timezone_change_that_moves_no_instant_changes_no_schedule() -> None:
    # given times written with Z, and the timezone attribute changed
    old = item(timezone="Europe/London", notification_status="SCHEDULED")
    new = {**old, "timezone": "Asia/Tokyo"}

    # when the change is planned
    plan = modify(old, new)

    # then the instants are the same, so nothing is done
    assert plan.outcome == "times-unchanged"
    assert plan.actions == ()


def test_rewriting_a_time_in_another_form_for_the_same_instant_changes_no_schedule() -> None:
    # given the start rewritten with an offset, naming the same instant
    old = item(notification_status="SCHEDULED")
    new = {**old, "start_time": "2026-07-01T21:00:00+01:00"}

    # when the change is planned, then nothing is done
    assert modify(old, new).outcome == "times-unchanged"


def test_a_timezone_change_that_moves_local_times_replaces_both_schedules() -> None:
    # given local times, and the zone changed from London to Tokyo
    local = {"start_time": "2026-07-01 21:00", "end_time": "2026-07-01 22:00"}
    old = item(**local, timezone="Europe/London", notification_status="SCHEDULED")
    new = {**old, "timezone": "Asia/Tokyo"}

    # when the change is planned
    plan = modify(old, new)

    # then both edges move to the Tokyo reading of the same wall-clock times
    assert plan.actions == (
        upsert(Edge.START, datetime(2026, 7, 1, 12, tzinfo=UTC)),
        upsert(Edge.END, datetime(2026, 7, 1, 13, tzinfo=UTC)),
    )


def test_a_remove_deletes_both_schedules_and_writes_no_status() -> None:
    # given a removed programme
    # when the change is planned
    plan = plan_change("REMOVE", "prog-1", item(), None, NOW, "UTC", MARGIN)

    # then both schedules are deleted and nothing is written on the (gone) item
    assert plan.actions == deletes()
    assert plan.status is None
    assert plan.outcome == "removed"


def test_correcting_an_invalid_item_schedules_it_and_clears_the_error() -> None:
    # given an item marked INVALID for an unreadable start
    old = item(
        start_time="not-a-date", notification_status="INVALID", notification_error="start_time …"
    )
    new = {**old, "start_time": TIMES["start_time"]}

    # when the user corrects it
    plan = modify(old, new)

    # then both edges are scheduled and the status becomes SCHEDULED with no error
    assert plan.actions == (upsert(Edge.START, START), upsert(Edge.END, END))
    assert plan.status == status(Status.SCHEDULED, new)
    assert plan.status.error is None


def test_breaking_a_valid_item_deletes_its_schedules_and_marks_it_invalid() -> None:
    # given a scheduled item whose end is edited to come before its start
    old = item(notification_status="SCHEDULED")
    new = {**old, "end_time": "2026-07-01T19:00:00Z"}

    # when the change is planned
    plan = modify(old, new)

    # then both schedules go, and the item is marked INVALID with the reason
    reason = "end_time must be strictly after start_time (both read as instants)"
    assert plan.actions == deletes()
    assert plan.status == status(Status.INVALID, new, reason)
    assert plan.invalid_reason == reason
    assert plan.outcome == "invalid"


def test_an_invalid_item_already_marked_with_the_same_reason_is_not_rewritten() -> None:
    # given an invalid item already showing its reason, edited in an unrelated attribute
    reason = "title must not be empty (leave the attribute out instead)"
    old = item(title="", notification_status="INVALID", notification_error=reason)
    new = {**old, "channel": "BBC Two"}

    # when the change is planned
    plan = modify(old, new)

    # then the status write is skipped: it would change nothing
    assert plan.status is None
    assert plan.invalid_reason == reason


def test_moving_the_end_of_a_programme_on_air_does_not_announce_the_start_again() -> None:
    # given a programme on air whose START has been announced
    old = item(start_time=at(NOW - timedelta(minutes=5)), notification_status="STARTED")
    new = {**old, "end_time": "2026-07-01T22:00:00Z"}

    # when its end moves
    plan = modify(old, new)

    # then only END is replaced
    assert plan.actions == (upsert(Edge.END, END + timedelta(hours=1)),)


def test_moving_the_start_of_a_programme_on_air_to_another_past_time_sends_nothing() -> None:
    # given a programme on air whose START has been announced
    old = item(start_time=at(NOW - timedelta(minutes=5)), notification_status="STARTED")
    new = {**old, "start_time": at(NOW - timedelta(minutes=7))}

    # when its past start is corrected
    plan = modify(old, new)

    # then nothing is announced twice
    assert plan.actions == ()


def test_the_status_write_is_guarded_by_the_raw_time_attributes_processed() -> None:
    # given a new item with local times and a zone
    new = item(start_time="2026-07-01 21:00", end_time="2026-07-01 22:00", timezone="Europe/London")

    # when it is inserted
    plan = insert(new)

    # then the status write expects exactly those raw values, so a concurrent edit wins
    assert plan.status is not None
    assert plan.status.expected_times == {
        "start_time": "2026-07-01 21:00",
        "end_time": "2026-07-01 22:00",
        "timezone": "Europe/London",
    }


def test_editing_the_times_of_a_programme_that_ended_keeps_it_ended() -> None:
    # given a programme whose START and END were both announced
    old = item(
        start_time="2026-06-15T10:00:00Z",
        end_time="2026-06-15T11:00:00Z",
        notification_status="ENDED",
    )
    new = {**old, "end_time": "2026-06-15T11:05:00Z"}

    # when its (past) end is corrected
    plan = modify(old, new)

    # then it is not marked PAST, which would say nothing was ever sent
    assert plan.status is None or plan.status.status is not Status.PAST


def test_an_item_still_marked_invalid_that_now_parses_is_scheduled_on_its_next_edit() -> None:
    # given an item marked INVALID under older rules, which the current rules accept
    old = item(
        start_time="2026-07-01t20:00:00z",
        notification_status="INVALID",
        notification_error="start_time '2026-07-01t20:00:00z' is not a recognised time",
    )
    new = {**old, "title": "Evening News (corrected)"}

    # when the user edits its title
    plan = modify(old, new)

    # then it is scheduled and marked SCHEDULED
    assert plan.actions == (upsert(Edge.START, START), upsert(Edge.END, END))
    assert plan.status == status(Status.SCHEDULED, new)


def test_a_programme_on_air_whose_end_moves_into_the_past_announces_its_end_now() -> None:
    # given a programme on air, its START announced
    old = item(
        start_time=at(NOW - timedelta(minutes=30)),
        end_time=at(NOW + timedelta(minutes=30)),
        notification_status="STARTED",
    )
    ended = NOW - timedelta(minutes=1)
    new = {**old, "end_time": at(ended)}

    # when the broadcaster records that it ended a minute ago
    plan = modify(old, new)

    # then its END schedule goes and the END is handed to the notifier at once, as late
    assert plan.actions == (
        Delete("prog-1", Edge.END),
        PublishNow(NotificationRequest("prog-1", Edge.END, ended, catch_up=True)),
    )
    assert plan.status is None


def test_a_put_that_wipes_the_status_but_keeps_the_times_gets_the_status_back() -> None:
    # given a scheduled programme, put again as it was but without the service's attributes
    old = item(notification_status="SCHEDULED", notification_updated_at="2026-06-15T11:00:00Z")
    new = item()

    # when the stream sees the change
    plan = modify(old, new)

    # then no schedule is touched and the status is written back
    assert plan.actions == ()
    assert plan.status == status(Status.SCHEDULED, new)


def test_the_services_own_status_write_is_ignored() -> None:
    # given the stream function's own status write
    old = item()
    new = item(notification_status="SCHEDULED", notification_updated_at="2026-06-15T12:00:00Z")

    # when the stream sees it
    plan = modify(old, new)

    # then nothing is done: no loop
    assert plan == Plan("prog-1", outcome="status-only")

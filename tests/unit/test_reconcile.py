"""Reconcile: the plan for each kind of drift, and the executor against in-memory fakes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from telecast.adapters.inventory import Inventory, Listing
from telecast.adapters.scheduler import SchedulerGateway, ScheduleTarget, schedule_definition
from telecast.reconcile import (
    ProgrammePlan,
    ProgressEvent,
    Reconciler,
    RemoveSchedule,
    Rules,
    Summary,
    WriteSchedule,
    edge_of,
    is_our_schedule,
    owner_of,
    plan_orphan_name,
    plan_programme,
    schedule_differences,
)
from telecast.schedule_plan import Edge, NotificationRequest, PublishNow, Status, schedule_name
from telecast.settings import ReconcileSettings
from telecast_ops import reconcile_cli

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TARGET = ScheduleTarget(
    group="telecast-test",
    notifier_arn="arn:aws:lambda:us-east-1:123456789012:function:notifier",
    role_arn="arn:aws:iam::123456789012:role/scheduler",
    dead_letter_arn="arn:aws:sqs:us-east-1:123456789012:dead-letters",
)
RULES = Rules(TARGET)


def iso(moment: datetime) -> str:
    """An instant as ISO 8601 with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def programme(
    program_id: str = "prog-1",
    start: datetime = NOW + timedelta(hours=2),
    length: timedelta = timedelta(hours=1),
    **changes: Any,
) -> dict[str, Any]:
    """A programme item with its times and any other attributes."""
    return {
        "program_id": program_id,
        "start_time": iso(start),
        "end_time": iso(start + length),
        **changes,
    }


def schedule_for(program_id: str, edge: Edge, instant: datetime, **target: Any) -> dict[str, Any]:
    """A schedule as GetSchedule returns it, with target fields overridden."""
    request = NotificationRequest(program_id, edge, instant)
    definition = schedule_definition(request, TARGET)
    definition["Target"] = {**definition["Target"], **target}
    return definition


def both_schedules(item: dict[str, Any]) -> dict[Edge, dict[str, Any]]:
    """The two correct schedules of an item."""
    start, end = parse(item["start_time"]), parse(item["end_time"])
    return {
        Edge.START: schedule_for(item["program_id"], Edge.START, start),
        Edge.END: schedule_for(item["program_id"], Edge.END, end),
    }


def parse(text: str) -> datetime:
    """An ISO 8601 text with a Z as an aware instant."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan(item: dict[str, Any] | None, found: dict[Edge, dict[str, Any]]) -> ProgrammePlan:
    """The plan for prog-1 at NOW."""
    return plan_programme("prog-1", item, found, NOW, RULES)


def kinds(result: ProgrammePlan) -> list[tuple[str, str | None]]:
    """Each step as (kind, edge)."""
    shown: list[tuple[str, str | None]] = []
    for step in result.steps:
        if isinstance(step, WriteSchedule):
            kind = "replace" if step.differences else "create"
            shown.append((kind, step.request.event_type.value))
        elif isinstance(step, RemoveSchedule):
            shown.append(("delete", step.edge.value if step.edge else None))
        else:
            shown.append(("notify", step.request.event_type.value))
    return shown


# ---------------------------------------------------------------- plans, one per drift


def test_a_future_programme_without_schedules_gets_both_and_scheduled_status() -> None:
    result = plan(programme(), {})

    assert kinds(result) == [("create", "START"), ("create", "END")]
    assert result.status is not None
    assert result.status.status is Status.SCHEDULED


def test_a_future_programme_with_both_correct_schedules_is_in_step() -> None:
    item = programme(notification_status="SCHEDULED")

    result = plan(item, both_schedules(item))

    assert result.in_step
    assert result.outcome == "scheduled"


def test_a_schedule_at_the_wrong_time_is_replaced_naming_what_differs() -> None:
    item = programme(notification_status="SCHEDULED")
    found = both_schedules(item)
    found[Edge.START] = schedule_for("prog-1", Edge.START, NOW + timedelta(hours=5))

    result = plan(item, found)

    assert kinds(result) == [("replace", "START")]
    step = result.steps[0]
    assert isinstance(step, WriteSchedule)
    assert step.differences == ("ScheduleExpression", "Target.Input")


def test_a_schedule_with_the_wrong_target_role_is_replaced() -> None:
    item = programme(notification_status="SCHEDULED")
    found = both_schedules(item)
    found[Edge.END] = schedule_for(
        "prog-1", Edge.END, parse(item["end_time"]), RoleArn="arn:aws:iam::1:role/other"
    )

    result = plan(item, found)

    assert kinds(result) == [("replace", "END")]
    assert result.steps[0].differences == ("Target.RoleArn",)  # type: ignore[union-attr]


def test_input_with_other_spacing_but_the_same_json_is_not_a_difference() -> None:
    item = programme(notification_status="SCHEDULED")
    found = both_schedules(item)
    payload = json.loads(found[Edge.START]["Target"]["Input"])
    found[Edge.START]["Target"]["Input"] = json.dumps(payload, indent=2)

    assert plan(item, found).in_step


def test_a_disabled_or_retained_schedule_is_wrong() -> None:
    wanted = schedule_for("prog-1", Edge.START, NOW + timedelta(hours=1))
    found = {**wanted, "State": "DISABLED", "ActionAfterCompletion": "NONE"}

    assert schedule_differences(found, wanted) == ("ActionAfterCompletion", "State")


def test_a_future_programme_with_a_wrong_status_gets_scheduled_again() -> None:
    item = programme(notification_status="STARTED")

    result = plan(item, both_schedules(item))

    assert kinds(result) == []
    assert result.status is not None
    assert result.status.status is Status.SCHEDULED
    assert result.status.expected_times == {
        "start_time": item["start_time"],
        "end_time": item["end_time"],
    }


def test_an_on_air_programme_whose_start_was_missed_hands_start_to_the_notifier() -> None:
    item = programme(start=NOW - timedelta(minutes=10), notification_status="SCHEDULED")

    result = plan(item, {})

    assert kinds(result) == [("notify", "START"), ("create", "END")]
    notify = result.steps[0]
    assert isinstance(notify, PublishNow)
    assert notify.request.catch_up
    assert notify.request.scheduled_for == NOW - timedelta(minutes=10)
    assert result.status is None
    assert result.outcome == "on-air"


def test_an_on_air_programme_whose_start_was_published_needs_only_its_end() -> None:
    item = programme(start=NOW - timedelta(minutes=10), notification_status="STARTED")
    found = both_schedules(item)

    result = plan(item, found)

    assert kinds(result) == [("delete", "START")]


def test_a_start_due_within_the_margin_is_handed_over_not_left_to_its_schedule() -> None:
    item = programme(start=NOW + timedelta(seconds=3), notification_status="SCHEDULED")

    result = plan(item, both_schedules(item))

    assert kinds(result) == [("delete", "START"), ("notify", "START")]
    assert not result.steps[1].request.catch_up  # type: ignore[union-attr]


def test_a_programme_that_became_past_loses_its_schedules_and_is_marked_past() -> None:
    item = programme(start=NOW - timedelta(hours=3), notification_status="SCHEDULED")

    result = plan(item, both_schedules(item))

    assert kinds(result) == [("delete", "START"), ("delete", "END")]
    assert result.status is not None
    assert result.status.status is Status.PAST
    assert result.outcome == "past"


def test_a_past_programme_whose_end_was_published_keeps_ended() -> None:
    item = programme(start=NOW - timedelta(hours=3), notification_status="ENDED")

    assert plan(item, {}).in_step


def test_a_programme_that_just_ended_keeps_its_firing_schedule_and_status() -> None:
    item = programme(
        start=NOW - timedelta(minutes=31),
        length=timedelta(minutes=30),
        notification_status="STARTED",
    )
    found = {Edge.END: both_schedules(item)[Edge.END]}

    assert plan(item, found).in_step


def test_a_programme_that_just_ended_still_loses_a_wrong_schedule() -> None:
    item = programme(start=NOW - timedelta(minutes=31), length=timedelta(minutes=30))
    found = {Edge.END: schedule_for("prog-1", Edge.END, NOW + timedelta(hours=1))}

    result = plan(item, found)

    assert kinds(result) == [("delete", "END")]
    assert result.status is None


def test_an_invalid_item_loses_its_leftover_schedule_and_gets_the_reason() -> None:
    item = programme(notification_status="SCHEDULED")
    found = both_schedules(item)
    item["end_time"] = "not a time"

    result = plan(item, found)

    assert kinds(result) == [("delete", "START"), ("delete", "END")]
    assert result.outcome == "invalid"
    assert result.status is not None
    assert result.status.status is Status.INVALID
    assert result.status.error is not None
    assert "end_time" in result.status.error


def test_an_invalid_item_already_marked_with_its_reason_is_in_step() -> None:
    item = programme(end_time="not a time")
    reason = plan(item, {}).status.error  # type: ignore[union-attr]

    result = plan({**item, "notification_status": "INVALID", "notification_error": reason}, {})

    assert result.in_step


def test_schedules_of_a_programme_not_in_the_table_are_orphans() -> None:
    found = both_schedules(programme())

    result = plan(None, found)

    assert kinds(result) == [("delete", "START"), ("delete", "END")]
    assert result.outcome == "orphan"


def test_a_schedule_whose_input_names_no_programme_is_deleted_by_name() -> None:
    result = plan_orphan_name("lost-0123456789abcdef-END")

    assert kinds(result) == [("delete", "END")]
    assert result.program_id is None


# ---------------------------------------------------------------- names


@given(st.text(min_size=1, max_size=200))
def test_every_name_schedule_name_makes_is_recognised_as_ours(program_id: str) -> None:
    for edge in Edge:
        name = schedule_name(program_id, edge)
        assert is_our_schedule(name)
        assert edge_of(name) is edge


@pytest.mark.parametrize(
    "name",
    ["nightly-backup", "prog-1-START", "prog-1-0123456789ABCDEF-START", "x-0123456789abcdef-MID"],
)
def test_names_not_made_by_schedule_name_are_foreign(name: str) -> None:
    assert not is_our_schedule(name)


def test_the_owner_of_a_schedule_is_read_from_its_input_and_checked_against_its_name() -> None:
    schedule = schedule_for("prog-9", Edge.END, NOW)

    assert owner_of(schedule_name("prog-9", Edge.END), schedule) == "prog-9"
    assert owner_of(schedule_name("prog-8", Edge.END), schedule) is None
    assert owner_of("x", {"Target": {"Input": "not json"}}) is None


# ---------------------------------------------------------------- settings


def test_settings_add_scan_segments_and_workers_to_the_stream_settings() -> None:
    environ = {
        "TABLE_NAME": "programmes",
        "SCHEDULE_GROUP_NAME": "g",
        "NOTIFIER_FUNCTION_ARN": TARGET.notifier_arn,
        "SCHEDULER_ROLE_ARN": TARGET.role_arn,
        "SCAN_SEGMENTS": "16",
    }

    settings = ReconcileSettings.from_env(environ)

    assert settings.scan_segments == 16
    assert settings.reconcile_workers == 8
    assert Rules.from_settings(settings).in_flight == timedelta(seconds=960)


# ---------------------------------------------------------------- the executor


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


class FakeSchedulerClient:
    """The Scheduler calls the gateway makes, on a dict; can fail for one programme."""

    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.fail_for: str | None = None

    def _check(self, name: str) -> None:
        if self.fail_for is not None and name.startswith(self.fail_for):
            raise client_error("ThrottlingException")

    def create_schedule(self, **definition: Any) -> None:
        self._check(definition["Name"])
        self.calls.append("create")
        if definition["Name"] in self.schedules:
            raise client_error("ConflictException")
        self.schedules[definition["Name"]] = definition

    def update_schedule(self, **definition: Any) -> None:
        self.calls.append("update")
        if definition["Name"] not in self.schedules:
            raise client_error("ResourceNotFoundException")
        self.schedules[definition["Name"]] = definition

    def delete_schedule(self, Name: str, GroupName: str) -> None:  # noqa: N803
        self._check(Name)
        self.calls.append("delete")
        if self.schedules.pop(Name, None) is None:
            raise client_error("ResourceNotFoundException")


class FakeInventory:
    """The table and the group as dicts; the listing can be cut short like the emulator's."""

    def __init__(self, scheduler: FakeSchedulerClient, items: dict[str, dict[str, Any]]) -> None:
        self.scheduler = scheduler
        self.items = items
        self.page_limit: int | None = None
        self.fetched: list[str] = []

    def scan_programmes(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self.items.values()]

    def list_schedule_names(self) -> Listing:
        names = tuple(self.scheduler.schedules)
        if self.page_limit is not None and len(names) >= self.page_limit:
            return Listing(names[: self.page_limit], complete=False)
        return Listing(names)

    def get_schedules(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(names)
        self.fetched.extend(wanted)
        return {
            n: dict(self.scheduler.schedules[n]) for n in wanted if n in self.scheduler.schedules
        }


class FakeTable:
    """Items by id; `set_status` honours the expected times like the real condition."""

    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items
        self.after_first_read: dict[str, dict[str, Any]] = {}

    def get(self, program_id: str) -> dict[str, Any] | None:
        if program_id in self.after_first_read:
            self.items[program_id] = self.after_first_read.pop(program_id)
        item = self.items.get(program_id)
        return dict(item) if item else None

    def set_status(
        self,
        program_id: str,
        status: str,
        expected_times: dict[str, Any],
        at: datetime,
        error: str | None = None,
    ) -> bool:
        item = self.items.get(program_id)
        if item is None or any(item.get(k) != v for k, v in expected_times.items()):
            return False
        item["notification_status"] = str(status)
        item.pop("notification_error", None)
        if error is not None:
            item["notification_error"] = error
        return True


class FakeInvoker:
    def __init__(self) -> None:
        self.requests: list[NotificationRequest] = []

    def invoke(self, request: NotificationRequest) -> None:
        self.requests.append(request)


class World:
    """A reconciler wired to the fakes."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {item["program_id"]: item for item in items}
        self.client = FakeSchedulerClient()
        self.inventory = FakeInventory(self.client, self.items)
        self.table = FakeTable(self.items)
        self.invoker = FakeInvoker()
        self.events: list[ProgressEvent] = []
        self.reconciler = Reconciler(
            inventory=self.inventory,
            scheduler=SchedulerGateway(self.client, TARGET),
            table=self.table,  # type: ignore[arg-type]
            invoker=self.invoker,  # type: ignore[arg-type]
            rules=RULES,
            logger=Logger(service="test", level="CRITICAL"),
            workers=4,
            clock=lambda: NOW,
            progress=self.events.append,
        )

    def put_schedule(self, program_id: str, edge: Edge, instant: datetime) -> None:
        definition = schedule_for(program_id, edge, instant)
        self.client.schedules[definition["Name"]] = definition


def test_a_run_fixes_every_programme_and_a_second_run_changes_nothing() -> None:
    future, past = programme("future"), programme("past", start=NOW - timedelta(hours=5))
    world = World([future, past])
    world.put_schedule("past", Edge.END, parse(past["end_time"]))
    world.put_schedule("gone", Edge.START, NOW + timedelta(hours=1))

    first = world.reconciler.run().summary
    second = world.reconciler.run().summary

    assert (first.checked, first.created, first.deleted, first.status_fixed) == (2, 2, 2, 2)
    assert set(world.client.schedules) == {schedule_name("future", e) for e in Edge}
    assert world.items["past"]["notification_status"] == "PAST"
    assert (second.unchanged, second.created, second.deleted, second.status_fixed) == (2, 0, 0, 0)


def test_a_dry_run_counts_the_plan_and_changes_nothing() -> None:
    world = World([programme("future")])
    world.put_schedule("gone", Edge.END, NOW + timedelta(hours=1))

    outcome = world.reconciler.run(dry_run=True)

    assert (outcome.summary.created, outcome.summary.deleted) == (2, 1)
    assert outcome.summary.dry_run
    assert world.client.calls == []
    assert "notification_status" not in world.items["future"]
    assert {plan.program_id for plan in outcome.plans} == {"future", "gone"}


def test_a_programme_that_fails_is_counted_and_the_others_are_still_reconciled() -> None:
    world = World([programme("broken"), programme("fine")])
    world.client.fail_for = "broken"

    summary = world.reconciler.run().summary

    assert summary.errors == 1
    assert summary.created == 2
    assert set(world.client.schedules) == {schedule_name("fine", e) for e in Edge}


def test_an_item_changed_during_the_run_is_planned_again_from_its_new_times() -> None:
    world = World([programme("moving")])
    moved = programme("moving", start=NOW + timedelta(hours=6))
    world.table.after_first_read["moving"] = moved

    summary = world.reconciler.run().summary

    start = world.client.schedules[schedule_name("moving", Edge.START)]
    assert start["ScheduleExpression"] == f"at({moved['start_time'][:-1]})"
    assert summary.errors == 0


def test_foreign_schedules_are_counted_and_left_alone() -> None:
    world = World([])
    world.client.schedules["nightly-backup"] = {"Name": "nightly-backup"}

    summary = world.reconciler.run().summary

    assert summary.foreign == 1
    assert "nightly-backup" in world.client.schedules
    assert world.client.calls == []


def test_a_listing_cut_short_fetches_expected_schedules_by_name() -> None:
    items = [programme(f"p{i}") for i in range(3)]
    world = World(items)
    for item in items:
        for edge, schedule in both_schedules(item).items():
            world.client.schedules[schedule_name(item["program_id"], edge)] = schedule
        item["notification_status"] = "SCHEDULED"
    world.inventory.page_limit = 2

    summary = world.reconciler.run().summary

    assert not summary.listing_complete
    assert summary.unchanged == 3
    assert world.client.calls == []


def test_progress_is_reported_per_phase_and_ends_with_every_unit_done() -> None:
    world = World([programme("a"), programme("b")])

    world.reconciler.run()

    phases = [event.phase for event in world.events]
    assert phases[:3] == ["listing schedules", "reading 0 schedules", "scanning programmes"]
    assert (world.events[-1].done, world.events[-1].total) == (2, 2)


def test_a_missed_start_is_handed_to_the_notifier_once_per_run() -> None:
    world = World([programme("on-air", start=NOW - timedelta(minutes=5))])

    summary = world.reconciler.run().summary

    assert summary.notified == 1
    assert [r.event_type for r in world.invoker.requests] == [Edge.START]


# ---------------------------------------------------------------- the command line


def test_the_progress_line_shows_a_bar_and_the_counts() -> None:
    summary = Summary(created=3, errors=1)

    line = reconcile_cli.render_progress(ProgressEvent("reconciling", 5, 10, summary), width=10)

    assert line.startswith("reconciling [#####.....] 5/10")
    assert "created 3" in line
    assert "errors 1" in line


def test_the_progress_bar_ends_its_line_when_every_unit_is_done() -> None:
    out = io.StringIO()
    bar = reconcile_cli.ProgressBar(out)

    bar(ProgressEvent("reconciling", 0, 2, Summary()))
    bar(ProgressEvent("reconciling", 2, 2, Summary()))

    assert out.getvalue().endswith("2/2  created 0  replaced 0  deleted 0  status 0  errors 0\n")


def test_the_plan_is_described_one_change_a_line() -> None:
    item = programme(start=NOW - timedelta(minutes=10), notification_status="SCHEDULED")
    result = plan(item, {})

    lines = reconcile_cli.describe_plan(result, dry_run=True)

    assert lines[0].startswith("would notify   START prog-1  scheduled for")
    assert lines[0].endswith("(catch-up)")
    assert lines[1].startswith("would create   END   prog-1  at ")


def test_the_summary_lists_every_counter() -> None:
    text = reconcile_cli.format_summary(Summary(checked=4, created=2, seconds=1.25), "stack x")

    assert text.splitlines()[0] == "reconciled: stack x in 1.2 s"
    for name in Summary.COUNTERS:
        assert name in text


def test_the_command_says_how_to_start_the_local_runtime_when_it_is_not_up(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = reconcile_cli.main(["--outputs", str(tmp_path / "missing.json")])

    assert code == 2
    assert "make up" in capsys.readouterr().err


# ---------------------------------------------------------------- listing the group


class ListingClient:
    """ListSchedules over `count` names, paging like AWS or never paging like the emulator."""

    def __init__(self, count: int, pages: bool) -> None:
        self.names = [f"s{index:05d}" for index in range(count)]
        self.pages = pages
        self.sizes: list[int] = []

    def list_schedules(self, **request: Any) -> Any:
        size = request["MaxResults"]
        self.sizes.append(size)
        if self.pages and size > 100:
            raise client_error("ValidationException")
        begin = int(request.get("NextToken", "0"))
        page = [{"Name": name} for name in self.names[begin : begin + size]]
        reply: dict[str, Any] = {"Schedules": page}
        if self.pages and begin + size < len(self.names):
            reply["NextToken"] = str(begin + size)
        return reply


def test_a_paged_listing_follows_next_token_to_the_end() -> None:
    client = ListingClient(250, pages=True)

    listing = Inventory(None, client, "t", "g").list_schedule_names()

    assert len(listing.names) == 250
    assert listing.complete
    assert client.sizes == [100, 100, 100]


def test_a_whole_last_page_on_aws_costs_one_rejected_call_and_is_complete() -> None:
    client = ListingClient(200, pages=True)

    listing = Inventory(None, client, "t", "g").list_schedule_names()

    assert len(listing.names) == 200
    assert listing.complete
    assert client.sizes == [100, 100, 10_000]


def test_an_emulator_that_never_pages_is_asked_again_with_a_larger_page() -> None:
    client = ListingClient(20_000, pages=False)

    listing = Inventory(None, client, "t", "g").list_schedule_names()

    assert len(listing.names) == 20_000
    assert listing.complete
    assert client.sizes == [100, 10_000, 1_000_000]


def test_an_emulator_larger_than_the_largest_page_is_reported_as_cut_short() -> None:
    client = ListingClient(30, pages=False)
    inventory = Inventory(None, client, "t", "g", page_size=10)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("telecast.adapters.inventory.LARGEST_PAGE", 20)
        listing = inventory.list_schedule_names()

    assert len(listing.names) == 20
    assert not listing.complete


def test_other_listing_errors_are_raised() -> None:
    class Failing(ListingClient):
        def list_schedules(self, **request: Any) -> Any:
            if request["MaxResults"] > 100:
                raise client_error("AccessDeniedException")
            return super().list_schedules(**request)

    with pytest.raises(ClientError):
        Inventory(None, Failing(100, pages=False), "t", "g").list_schedule_names()


class PagedTable:
    """Scan pages of two items, per segment."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def scan(self, **request: Any) -> Any:
        self.requests.append(dict(request))
        start = int(request.get("ExclusiveStartKey", {}).get("n", {}).get("N", "0"))
        segment = request["Segment"]
        items = [{"program_id": {"S": f"s{segment}-{start + i}"}} for i in range(2)]
        reply: dict[str, Any] = {"Items": items}
        if start < 2:
            reply["LastEvaluatedKey"] = {"n": {"N": str(start + 2)}}
        return reply


def test_every_scan_segment_is_read_to_its_last_page() -> None:
    table = PagedTable()

    items = Inventory(table, None, "t", "g", total_segments=3).scan_programmes()

    assert len(items) == 12
    assert {item["program_id"] for item in items} >= {"s0-0", "s2-3"}
    assert all(request["ConsistentRead"] for request in table.requests)


class GettingClient:
    def __init__(self, error: str) -> None:
        self.error = error

    def get_schedule(self, Name: str, GroupName: str) -> Any:  # noqa: N803
        raise client_error(self.error)


def test_a_schedule_that_is_gone_reads_as_none_and_other_errors_are_raised() -> None:
    assert (
        Inventory(None, GettingClient("ResourceNotFoundException"), "t", "g").get_schedule("x")
        is None
    )
    with pytest.raises(ClientError):
        Inventory(None, GettingClient("ThrottlingException"), "t", "g").get_schedule("x")


def test_an_input_that_is_not_json_is_a_difference() -> None:
    wanted = schedule_for("prog-1", Edge.START, NOW + timedelta(hours=1))
    found = {**wanted, "Target": {**wanted["Target"], "Input": "{not json"}}

    assert schedule_differences(found, wanted) == ("Target.Input",)


def test_an_on_air_programme_already_ended_once_announces_nothing_again() -> None:
    item = programme(start=NOW - timedelta(minutes=10), notification_status="ENDED")

    assert kinds(plan(item, {})) == [("create", "END")]


def test_a_schedule_named_like_ours_whose_input_is_unreadable_is_deleted() -> None:
    world = World([])
    name = "lost-0123456789abcdef-START"
    world.client.schedules[name] = {"Name": name, "Target": {"Input": "nonsense"}}

    summary = world.reconciler.run().summary

    assert summary.deleted == 1
    assert world.client.schedules == {}


def test_an_orphan_whose_programme_appears_meanwhile_is_scheduled_again() -> None:
    world = World([])
    late = programme("late")
    world.put_schedule("late", Edge.START, parse(late["start_time"]))
    world.table.after_first_read["late"] = late

    summary = world.reconciler.run().summary

    assert summary.deleted == 1
    assert set(world.client.schedules) == {schedule_name("late", e) for e in Edge}


def test_a_status_write_refused_because_the_item_changed_is_not_counted() -> None:
    item = programme("busy", notification_status="STARTED")
    world = World([item])
    for edge, schedule in both_schedules(item).items():
        world.client.schedules[schedule_name("busy", edge)] = schedule
    world.table.set_status = lambda *args, **kwargs: False  # type: ignore[method-assign]

    summary = world.reconciler.run().summary

    assert summary.status_fixed == 0
    assert summary.errors == 0


def test_a_schedule_gone_before_its_delete_is_not_counted() -> None:
    world = World([])
    world.put_schedule("gone", Edge.END, NOW + timedelta(hours=1))
    original = world.client.delete_schedule

    def vanish_first(Name: str, GroupName: str) -> None:  # noqa: N803
        world.client.schedules.pop(Name, None)
        original(Name=Name, GroupName=GroupName)

    world.client.delete_schedule = vanish_first  # type: ignore[method-assign]

    summary = world.reconciler.run().summary

    assert summary.deleted == 0
    assert summary.errors == 0


def test_a_programme_that_keeps_changing_is_left_to_the_next_run_as_an_error() -> None:
    world = World([programme("restless")])
    moves = iter(range(1, 10))

    def always_new(program_id: str) -> dict[str, Any]:
        return programme(program_id, start=NOW + timedelta(hours=next(moves)))

    world.table.get = always_new  # type: ignore[method-assign]

    summary = world.reconciler.run().summary

    assert summary.errors == 1

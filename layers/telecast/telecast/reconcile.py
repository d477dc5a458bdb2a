"""Reconcile: bring every schedule and status back in step with the programme table.

The plan for one programme is pure: it takes the item as read, the schedules found under
the programme's two names and the current time, and says what must change so that the
group holds exactly what the stream function would have made of the item if it were
written now. The rules are the stream's own (`plan_change` for an INSERT, the same
`schedule_definition`); only what the item's `notification_status` says was already
published is added. The executor carries plans out on a bounded pool with idempotent
calls only, so it is safe next to the stream function and safe to stop and run again.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from aws_lambda_powertools import Logger

from telecast.adapters.aws import error_code
from telecast.adapters.inventory import Inventory, Listing
from telecast.adapters.invoker import NotifierInvoker
from telecast.adapters.scheduler import (
    SchedulerGateway,
    ScheduleTarget,
    schedule_definition,
    target_from_settings,
)
from telecast.adapters.table import ProgrammeTable
from telecast.notification import InvalidRequest, parse_request
from telecast.programme import STATUS_ATTRIBUTES, parse_programme
from telecast.schedule_plan import (
    Delete,
    Edge,
    NotificationRequest,
    PublishNow,
    Status,
    StatusUpdate,
    Upsert,
    plan_change,
    schedule_name,
)
from telecast.settings import ReconcileSettings, StreamSettings
from telecast.stream_sync import Clock, utc_now

# What schedule_name produces: a sanitised prefix, 16 hex digits of the id's hash, the edge.
_OUR_NAME = re.compile(r"^[0-9A-Za-z_.-]{1,40}-[0-9a-f]{16}-(START|END)$")
# The fields of a schedule that decide when and how the notifier is invoked.
_COMPARED: tuple[tuple[str, ...], ...] = (
    ("ScheduleExpression",),
    ("ScheduleExpressionTimezone",),
    ("FlexibleTimeWindow",),
    ("ActionAfterCompletion",),
    ("State",),
    ("Target", "Arn"),
    ("Target", "RoleArn"),
    ("Target", "Input"),
    ("Target", "RetryPolicy"),
    ("Target", "DeadLetterConfig"),
)
# A programme item whose attributes change this many times during one run is left to the
# next run (the stream function is applying each change meanwhile).
MAX_ROUNDS = 3
# Scheduler may still be delivering a one-shot schedule this long after its at() time on
# top of the target's retry window: FlexibleTimeWindow OFF delivers within a minute.
_DELIVERY_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Rules:
    """The stream function's time rules and schedule target, as reconcile applies them."""

    target: ScheduleTarget
    default_zone: str = "UTC"
    due_margin: timedelta = timedelta(seconds=5)

    @property
    def in_flight(self) -> timedelta:
        """How long after its time a correct schedule may still be firing: left alone."""
        return timedelta(seconds=self.target.retry_max_age_seconds) + _DELIVERY_WINDOW

    @classmethod
    def from_settings(cls, settings: StreamSettings) -> Rules:
        """The rules the stream function with these settings applies."""
        return cls(
            target=target_from_settings(settings),
            default_zone=settings.default_timezone,
            due_margin=timedelta(seconds=settings.due_margin_seconds),
        )


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class WriteSchedule:
    """Create the edge's schedule (nothing differs: it is missing) or replace it whole."""

    request: NotificationRequest
    differences: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The schedule's name."""
        return schedule_name(self.request.program_id, self.request.event_type)


@dataclass(frozen=True)
class RemoveSchedule:
    """Delete a schedule if it is still there."""

    name: str
    edge: Edge | None
    reason: str


Step = WriteSchedule | RemoveSchedule | PublishNow


@dataclass(frozen=True)
class ProgrammePlan:
    """What one programme (or one orphan schedule) needs; in step when empty."""

    program_id: str | None
    outcome: str
    steps: tuple[Step, ...] = ()
    status: StatusUpdate | None = None

    @property
    def in_step(self) -> bool:
        """True when nothing needs doing."""
        return not self.steps and self.status is None

    def counts(self) -> Counter[str]:
        """The summary counters this plan would move if carried out as planned."""
        counts: Counter[str] = Counter()
        for step in self.steps:
            if isinstance(step, WriteSchedule):
                counts["replaced" if step.differences else "created"] += 1
            elif isinstance(step, RemoveSchedule):
                counts["deleted"] += 1
            else:
                counts["notified"] += 1
        if self.status is not None:
            counts["status_fixed"] += 1
        return counts


def is_our_schedule(name: str) -> bool:
    """True for names that schedule_name can produce; any other schedule is foreign."""
    return _OUR_NAME.match(name) is not None


def edge_of(name: str) -> Edge | None:
    """The edge a schedule name of ours ends with."""
    match = _OUR_NAME.match(name)
    return Edge(match.group(1)) if match else None


def owner_of(name: str, schedule: Mapping[str, Any]) -> str | None:
    """The programme a schedule of ours belongs to, read from its Input and checked."""
    try:
        request = parse_request(json.loads(schedule.get("Target", {}).get("Input", "")))
    except (InvalidRequest, ValueError, TypeError, AttributeError):
        return None
    if schedule_name(request.program_id, request.event_type) != name:
        return None
    return request.program_id


def schedule_differences(found: Mapping[str, Any], wanted: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields in which a schedule as found differs from its wanted definition."""
    differing = []
    for path in _COMPARED:
        have, want = _dig(found, path), _dig(wanted, path)
        if path[-1] == "Input":
            have, want = _json_or_text(have), _json_or_text(want)
        if have != want:
            differing.append(".".join(path))
    return tuple(differing)


def _dig(mapping: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = mapping
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _json_or_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def plan_programme(
    program_id: str,
    item: Mapping[str, Any] | None,
    found: Mapping[Edge, Mapping[str, Any]],
    now: datetime,
    rules: Rules,
) -> ProgrammePlan:
    """What must change for the programme's schedules and status to be right at `now`."""
    if item is None:
        removals = tuple(
            RemoveSchedule(schedule_name(program_id, edge), edge, "programme not in the table")
            for edge in Edge
            if edge in found
        )
        return ProgrammePlan(program_id, "orphan", removals)

    base = plan_change(
        "INSERT", program_id, None, dict(item), now, rules.default_zone, rules.due_margin
    )
    if base.outcome == "past":
        return _plan_past(program_id, item, found, now, rules, base.status)

    published = _published_edges(item)
    steps: list[Step] = []
    for action in base.actions:
        if isinstance(action, Upsert):
            steps.extend(_write_if_needed(action.request, found, rules))
        elif isinstance(action, Delete):
            if action.edge in found:
                reason = "programme is invalid" if base.outcome == "invalid" else "edge is due"
                steps.append(
                    RemoveSchedule(schedule_name(program_id, action.edge), action.edge, reason)
                )
        elif action.request.event_type not in published:
            steps.append(action)
    outcome = base.outcome if base.outcome == "invalid" else _phase(base.actions)
    return ProgrammePlan(program_id, outcome, tuple(steps), base.status)


def _write_if_needed(
    request: NotificationRequest, found: Mapping[Edge, Mapping[str, Any]], rules: Rules
) -> list[Step]:
    schedule = found.get(request.event_type)
    if schedule is None:
        return [WriteSchedule(request)]
    differences = schedule_differences(schedule, schedule_definition(request, rules.target))
    return [WriteSchedule(request, differences)] if differences else []


def _phase(actions: Iterable[Any]) -> str:
    due = any(isinstance(action, PublishNow) for action in actions)
    return "on-air" if due else "scheduled"


def _published_edges(item: Mapping[str, Any]) -> frozenset[Edge]:
    """The edges the item's status records as announced (the notifier writes it)."""
    status = item.get("notification_status")
    if status == Status.ENDED:
        return frozenset(Edge)
    if status == Status.STARTED:
        return frozenset({Edge.START})
    return frozenset()


def _plan_past(
    program_id: str,
    item: Mapping[str, Any],
    found: Mapping[Edge, Mapping[str, Any]],
    now: datetime,
    rules: Rules,
    past_status: StatusUpdate | None,
) -> ProgrammePlan:
    """A programme whose end has passed needs no schedule and announces nothing more.

    Within the in-flight window after its end, a correct schedule may be firing right
    now (Scheduler deletes it when done) and the notifier may be about to record ENDED:
    both are left alone until the window has passed.
    """
    programme = parse_programme(dict(item), rules.default_zone)
    recent = programme.end > now - rules.in_flight
    steps: list[Step] = []
    for edge, schedule in found.items():
        instant = programme.start if edge is Edge.START else programme.end
        wanted = schedule_definition(NotificationRequest(program_id, edge, instant), rules.target)
        if recent and not schedule_differences(schedule, wanted):
            continue
        steps.append(RemoveSchedule(schedule_name(program_id, edge), edge, "programme is past"))
    settled = item.get("notification_status") in (Status.ENDED, Status.PAST)
    status = None if recent or settled else past_status
    return ProgrammePlan(program_id, "past", tuple(steps), status)


def plan_orphan_name(name: str) -> ProgrammePlan:
    """A schedule of ours whose Input names no programme: nothing can want it."""
    step = RemoveSchedule(name, edge_of(name), "schedule names no programme")
    return ProgrammePlan(None, "orphan", (step,))


# ---------------------------------------------------------------------------- the run


class ScheduleInventory(Protocol):
    """Reads the table and the group (telecast.adapters.inventory.Inventory)."""

    def scan_programmes(self) -> list[dict[str, Any]]:
        """Every programme item."""
        ...

    def list_schedule_names(self) -> Listing:
        """Every schedule name in the group."""
        ...

    def get_schedules(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The named schedules that exist."""
        ...


@dataclass
class Summary:
    """The counts of one run; in a dry run they count what would be done."""

    checked: int = 0
    created: int = 0
    replaced: int = 0
    deleted: int = 0
    unchanged: int = 0
    status_fixed: int = 0
    notified: int = 0
    foreign: int = 0
    errors: int = 0
    schedules_seen: int = 0
    listing_complete: bool = True
    dry_run: bool = False
    seconds: float = 0.0

    COUNTERS: ClassVar[tuple[str, ...]] = (
        "checked",
        "created",
        "replaced",
        "deleted",
        "unchanged",
        "status_fixed",
        "notified",
        "foreign",
        "errors",
    )

    def add(self, counts: Mapping[str, int]) -> None:
        """Add one programme's counts."""
        for name, value in counts.items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values."""
        return {
            **{name: getattr(self, name) for name in self.COUNTERS},
            "schedules_seen": self.schedules_seen,
            "listing_complete": self.listing_complete,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is: its phase, units done out of total, and the counts so far."""

    phase: str
    done: int
    total: int
    summary: Summary


@dataclass(frozen=True)
class Unit:
    """One programme id (or one orphan schedule name) with what the inventory found."""

    program_id: str | None
    item: dict[str, Any] | None
    found: dict[Edge, dict[str, Any]]
    orphan_name: str | None = None


@dataclass
class Outcome:
    """A run's summary and the plans of every programme that was not in step."""

    summary: Summary
    plans: list[ProgrammePlan] = field(default_factory=list)


class ProgrammeKeepsChanging(RuntimeError):
    """The item changed during every round of one run: left to the next run."""


@dataclass
class Reconciler:
    """Reads the table and the group, plans every programme, carries the plans out."""

    inventory: ScheduleInventory
    scheduler: SchedulerGateway
    table: ProgrammeTable
    invoker: NotifierInvoker
    rules: Rules
    logger: Logger
    workers: int = 8
    clock: Clock = utc_now
    progress: Callable[[ProgressEvent], None] | None = None

    def run(self, dry_run: bool = False) -> Outcome:
        """Reconcile everything once (or only plan it); never raises for one programme."""
        began = time.monotonic()
        summary = Summary(dry_run=dry_run)
        units = self._inventory(summary)
        outcome = Outcome(summary)
        self._report("reconciling", 0, len(units), summary)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures: dict[Future[tuple[Counter[str], ProgrammePlan | None]], Unit] = {
                pool.submit(self._reconcile, unit, dry_run): unit for unit in units
            }
            for done, future in enumerate(as_completed(futures), start=1):
                counts, plan = self._result(future, futures[future])
                summary.add(counts)
                if plan is not None:
                    outcome.plans.append(plan)
                self._report("reconciling", done, len(units), summary)
        summary.seconds = time.monotonic() - began
        self.logger.info("reconcile finished", summary=summary.as_dict())
        return outcome

    def _inventory(self, summary: Summary) -> list[Unit]:
        self._report("listing schedules", 0, 0, summary)
        listing = self.inventory.list_schedule_names()
        ours = [name for name in listing.names if is_our_schedule(name)]
        summary.foreign = len(listing.names) - len(ours)
        summary.schedules_seen = len(listing.names)
        summary.listing_complete = listing.complete
        if not listing.complete:
            self.logger.warning(
                "schedule listing may be cut short: orphans beyond it are not seen",
                listed=len(listing.names),
            )
        self._report(f"reading {len(ours)} schedules", 0, 0, summary)
        found = self.inventory.get_schedules(ours)
        self._report("scanning programmes", 0, 0, summary)
        items = self.inventory.scan_programmes()
        summary.checked = len(items)
        if not listing.complete:
            expected = (schedule_name(str(item["program_id"]), e) for item in items for e in Edge)
            found.update(self.inventory.get_schedules(n for n in expected if n not in found))
        return _units(items, found)

    def _report(self, phase: str, done: int, total: int, summary: Summary) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(phase, done, total, summary))

    def _result(
        self, future: Future[tuple[Counter[str], ProgrammePlan | None]], unit: Unit
    ) -> tuple[Counter[str], ProgrammePlan | None]:
        try:
            return future.result()
        except Exception as error:  # noqa: BLE001 - one programme's failure is counted, not raised
            self.logger.warning(
                "programme not reconciled",
                program_id=unit.program_id,
                schedule_name=unit.orphan_name,
                error_code=error_code(error) or type(error).__name__,
                error=str(error),
            )
            return Counter(errors=1), None

    def _plan(self, unit: Unit) -> ProgrammePlan:
        if unit.program_id is None:
            return plan_orphan_name(str(unit.orphan_name))
        return plan_programme(unit.program_id, unit.item, unit.found, self.clock(), self.rules)

    def _reconcile(self, unit: Unit, dry_run: bool) -> tuple[Counter[str], ProgrammePlan | None]:
        """Carry out one programme's plan, then plan again if its item changed meanwhile."""
        first = plan = self._plan(unit)
        if plan.in_step:
            return Counter(unchanged=1), None
        if dry_run:
            return plan.counts(), plan
        counts: Counter[str] = Counter()
        for _ in range(MAX_ROUNDS):
            counts.update(self._carry_out(plan))
            if unit.program_id is None:
                return counts, first
            fresh = self.table.get(unit.program_id)
            if _same_programme(fresh, unit.item):
                return counts, first
            # The item changed since it was read: plan again from what is there now; the
            # stream function is converging on the same state, and every call is idempotent.
            names = {edge: schedule_name(unit.program_id, edge) for edge in Edge}
            schedules = self.inventory.get_schedules(names.values())
            found = {edge: schedules[name] for edge, name in names.items() if name in schedules}
            unit = Unit(unit.program_id, fresh, found)
            plan = self._plan(unit)
            if plan.in_step:
                return counts, first
        raise ProgrammeKeepsChanging(f"{unit.program_id} changed during {MAX_ROUNDS} rounds")

    def _carry_out(self, plan: ProgrammePlan) -> Counter[str]:
        counts: Counter[str] = Counter()
        log: dict[str, Any] = {"program_id": plan.program_id, "outcome": plan.outcome}
        for step in plan.steps:
            if isinstance(step, WriteSchedule):
                result = self.scheduler.upsert(step.request)
                counts[result] += 1
                self.logger.info(
                    f"schedule {result}",
                    schedule_name=step.name,
                    edge=step.request.event_type.value,
                    scheduled_for=step.request.scheduled_for.isoformat(),
                    differences=list(step.differences),
                    **log,
                )
            elif isinstance(step, RemoveSchedule):
                if self.scheduler.delete(step.name):
                    counts["deleted"] += 1
                    self.logger.info(
                        "schedule deleted", schedule_name=step.name, reason=step.reason, **log
                    )
            else:
                self.invoker.invoke(step.request)
                counts["notified"] += 1
                self.logger.info(
                    "edge due, handed to notifier",
                    edge=step.request.event_type.value,
                    scheduled_for=step.request.scheduled_for.isoformat(),
                    catch_up=step.request.catch_up,
                    **log,
                )
        if plan.status is not None:
            update = plan.status
            written = self.table.set_status(
                update.program_id, update.status, update.expected_times, self.clock(), update.error
            )
            if written:
                counts["status_fixed"] += 1
                self.logger.info("status fixed", status=update.status.value, **log)
        return counts


def _units(items: list[dict[str, Any]], found: dict[str, dict[str, Any]]) -> list[Unit]:
    """One unit per programme item, then one per orphan programme or unreadable schedule."""
    units: list[Unit] = []
    claimed: set[str] = set()
    for item in items:
        program_id = str(item["program_id"])
        mine = {edge: schedule_name(program_id, edge) for edge in Edge}
        claimed.update(mine.values())
        have = {edge: found[name] for edge, name in mine.items() if name in found}
        units.append(Unit(program_id, item, have))

    orphans: dict[str, dict[Edge, dict[str, Any]]] = {}
    for name, schedule in found.items():
        if name in claimed:
            continue
        owner, edge = owner_of(name, schedule), edge_of(name)
        if owner is None or edge is None:
            units.append(Unit(None, None, {}, orphan_name=name))
        else:
            orphans.setdefault(owner, {})[edge] = schedule
    units.extend(Unit(owner, None, have) for owner, have in orphans.items())
    return units


def _same_programme(fresh: Mapping[str, Any] | None, seen: Mapping[str, Any] | None) -> bool:
    """True when the item still says what it said: its status attributes aside."""
    if fresh is None or seen is None:
        return fresh is seen

    def content(item: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in item.items() if key not in STATUS_ATTRIBUTES}

    return content(fresh) == content(seen)


def build_reconciler(
    settings: ReconcileSettings,
    dynamodb: Any,
    scheduler: Any,
    lambda_client: Any,
    logger: Logger,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> Reconciler:
    """Wire a reconciler to the stack's table, group and notifier through the given clients."""
    rules = Rules.from_settings(settings)
    inventory = Inventory(
        dynamodb,
        scheduler,
        settings.table_name,
        settings.schedule_group,
        total_segments=settings.scan_segments,
        workers=settings.reconcile_workers,
    )
    return Reconciler(
        inventory=inventory,
        scheduler=SchedulerGateway(scheduler, rules.target),
        table=ProgrammeTable(dynamodb, settings.table_name),
        invoker=NotifierInvoker(lambda_client, settings.notifier_arn),
        rules=rules,
        logger=logger,
        workers=settings.reconcile_workers,
        progress=progress,
    )

"""Reconcile on moto: every kind of drift ends in exactly the state the time rules ask for."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger

import reconcile_handler
from pipeline import Pipeline
from support import REGION, LambdaContext, load_event
from telecast.adapters.scheduler import schedule_definition
from telecast.reconcile import (
    Reconciler,
    Rules,
    Summary,
    build_reconciler,
    schedule_differences,
)
from telecast.schedule_plan import Edge, NotificationRequest, schedule_name
from telecast.settings import ReconcileSettings

NOW = datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def item(program_id: str, start: timedelta, length: timedelta = timedelta(hours=1), **more: Any):
    """A programme starting `start` from now."""
    return {
        "program_id": program_id,
        "title": "Evening News",
        "start_time": iso(NOW + start),
        "end_time": iso(NOW + start + length),
        **more,
    }


class Drift:
    """Programmes and schedules written straight to moto, as if the stream never ran."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = ReconcileSettings.from_env(pipeline.env)
        self.rules = Rules.from_settings(self.settings)
        self.scheduler = boto3.client("scheduler", region_name=REGION)

    def reconciler(self) -> Reconciler:
        reconciler = build_reconciler(
            self.settings,
            boto3.client("dynamodb", region_name=REGION),
            self.scheduler,
            boto3.client("lambda", region_name=REGION),
            Logger(service="test", level="WARNING"),
        )
        reconciler.invoker = self.pipeline.invoker  # type: ignore[assignment]
        return reconciler

    def run(self, dry_run: bool = False) -> Summary:
        return self.reconciler().run(dry_run=dry_run).summary

    def schedule(self, program_id: str, edge: Edge, at: datetime, **target: Any) -> None:
        definition = self.definition(program_id, edge, at)
        definition["Target"].update(target)
        self.scheduler.create_schedule(**definition)

    def definition(self, program_id: str, edge: Edge, at: datetime) -> dict[str, Any]:
        return schedule_definition(NotificationRequest(program_id, edge, at), self.rules.target)

    def correct_schedules(self, programme: dict[str, Any]) -> None:
        pid = programme["program_id"]
        self.schedule(pid, Edge.START, parse(programme["start_time"]))
        self.schedule(pid, Edge.END, parse(programme["end_time"]))

    def status(self, program_id: str) -> str | None:
        found = self.pipeline.get(program_id) or {}
        return found.get("notification_status")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def drift(pipeline: Pipeline) -> Iterator[Drift]:
    yield Drift(pipeline)
    reconcile_handler.reconciler.cache_clear()


def every_kind_of_drift(drift: Drift) -> dict[str, dict[str, Any]]:
    """A table and a group out of step in every way the issue lists (and then some)."""
    hour = timedelta(hours=1)
    programmes = {
        "missing": item("missing", 2 * hour),
        "wrong-time": item("wrong-time", 2 * hour, notification_status="SCHEDULED"),
        "wrong-target": item("wrong-target", 3 * hour, notification_status="SCHEDULED"),
        "wrong-status": item("wrong-status", 4 * hour, notification_status="STARTED"),
        "became-past": item("became-past", -5 * hour, notification_status="SCHEDULED"),
        "invalid": item("invalid", 2 * hour, notification_status="SCHEDULED"),
        "on-air": item("on-air", -timedelta(minutes=10), notification_status="SCHEDULED"),
        "in-step": item("in-step", 5 * hour, notification_status="SCHEDULED"),
        "ended": item("ended", -6 * hour, notification_status="ENDED"),
    }
    for programme in programmes.values():
        drift.pipeline.put(programme)

    drift.schedule("wrong-time", Edge.START, NOW + 9 * hour)
    drift.schedule("wrong-time", Edge.END, parse(programmes["wrong-time"]["end_time"]))
    drift.schedule("wrong-target", Edge.START, parse(programmes["wrong-target"]["start_time"]))
    drift.schedule(
        "wrong-target",
        Edge.END,
        parse(programmes["wrong-target"]["end_time"]),
        RetryPolicy={"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
    )
    drift.correct_schedules(programmes["wrong-status"])
    drift.correct_schedules(programmes["became-past"])
    drift.correct_schedules(programmes["invalid"])
    drift.pipeline.update("invalid", end_time="whenever")
    drift.correct_schedules(programmes["in-step"])
    drift.schedule("deleted-show", Edge.START, NOW + hour)
    drift.schedule("deleted-show", Edge.END, NOW + 2 * hour)
    drift.scheduler.create_schedule(
        **{**drift.definition("x", Edge.START, NOW + hour), "Name": "nightly-backup"}
    )
    return programmes


def test_every_kind_of_drift_reconciles_to_exactly_the_expected_state(drift: Drift) -> None:
    programmes = every_kind_of_drift(drift)

    summary = drift.run()

    expected = {
        schedule_name(pid, edge)
        for pid in ("missing", "wrong-time", "wrong-target", "wrong-status", "in-step")
        for edge in Edge
    } | {schedule_name("on-air", Edge.END), "nightly-backup"}
    schedules = drift.pipeline.schedules()
    assert set(schedules) == expected
    for name, schedule in schedules.items():
        if name == "nightly-backup":
            continue
        request = json.loads(schedule["Target"]["Input"])
        pid, edge = request["program_id"], Edge(request["event_type"])
        at = parse(programmes[pid]["start_time" if edge is Edge.START else "end_time"])
        assert schedule_differences(schedule, drift.definition(pid, edge, at)) == ()

    assert {pid: drift.status(pid) for pid in programmes} == {
        "missing": "SCHEDULED",
        "wrong-time": "SCHEDULED",
        "wrong-target": "SCHEDULED",
        "wrong-status": "SCHEDULED",
        "became-past": "PAST",
        "invalid": "INVALID",
        "on-air": "STARTED",
        "in-step": "SCHEDULED",
        "ended": "ENDED",
    }
    error = (drift.pipeline.get("invalid") or {}).get("notification_error", "")
    assert "end_time" in error

    messages = drift.pipeline.messages()
    assert [(body["program_id"], body["event_type"], body["late"]) for body, _ in messages] == [
        ("on-air", "START", True)
    ]
    assert summary.as_dict() | {"seconds": 0} == {
        "checked": 9,
        "created": 3,
        "replaced": 2,
        "deleted": 6,
        "unchanged": 2,
        "status_fixed": 4,
        "notified": 1,
        "foreign": 1,
        "errors": 0,
        "schedules_seen": 15,
        "listing_complete": True,
        "dry_run": False,
        "seconds": 0,
    }


def test_a_second_run_changes_nothing(drift: Drift) -> None:
    every_kind_of_drift(drift)
    drift.run()
    before = drift.pipeline.schedules()
    drift.pipeline.messages()

    summary = drift.run()

    assert (summary.created, summary.replaced, summary.deleted) == (0, 0, 0)
    assert (summary.status_fixed, summary.notified, summary.errors) == (0, 0, 0)
    assert summary.unchanged == summary.checked == 9
    assert drift.pipeline.schedules() == before
    assert drift.pipeline.messages() == []


def test_a_dry_run_plans_everything_and_changes_nothing(drift: Drift) -> None:
    every_kind_of_drift(drift)
    before = drift.pipeline.schedules()

    summary = drift.run(dry_run=True)

    assert (summary.created, summary.replaced, summary.deleted) == (3, 2, 6)
    assert drift.pipeline.schedules() == before
    assert drift.status("missing") is None
    assert drift.pipeline.messages() == []


def test_the_stream_function_catching_up_afterwards_agrees_with_reconcile(drift: Drift) -> None:
    every_kind_of_drift(drift)
    drift.run()
    after_reconcile = drift.pipeline.schedules()
    drift.pipeline.messages()

    drift.pipeline.settle()
    summary = drift.run()

    assert set(drift.pipeline.schedules()) == set(after_reconcile)
    assert summary.unchanged == summary.checked
    assert drift.pipeline.messages() == []


def test_a_thousand_programmes_written_before_the_stack_get_their_schedules(
    drift: Drift,
) -> None:
    dynamodb = boto3.resource("dynamodb", region_name=REGION).Table(drift.settings.table_name)
    with dynamodb.batch_writer() as batch:
        for index in range(1000):
            batch.put_item(Item=item(f"backfill-{index:04d}", timedelta(hours=1 + index % 48)))

    began = time.monotonic()
    summary = drift.run()
    seconds = time.monotonic() - began

    assert (summary.checked, summary.created, summary.errors) == (1000, 2000, 0)
    assert summary.status_fixed == 1000
    schedules = drift.pipeline.schedules()
    assert len(schedules) == 2000
    sample = schedules[schedule_name("backfill-0042", Edge.END)]
    at = NOW + timedelta(hours=1 + 42 % 48, minutes=60)
    assert schedule_differences(sample, drift.definition("backfill-0042", Edge.END, at)) == ()
    print(f"\nbackfill of 1,000 programmes on moto: {seconds:.1f} s")


def test_the_function_returns_the_summary_and_emits_it_as_metrics(
    drift: Drift, capsys: pytest.CaptureFixture[str]
) -> None:
    drift.pipeline.put(item("from-the-handler", timedelta(hours=2)))

    response = reconcile_handler.handler(load_event("reconcile-dry-run.json"), LambdaContext())

    assert response["dry_run"] is True
    assert (response["checked"], response["created"]) == (1, 2)
    assert drift.pipeline.schedules() == {}
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert metrics[-1]["ReconcileCreated"] == [2.0]
    assert metrics[-1]["Mode"] == "DryRun"


def test_the_function_applies_the_plan_when_not_a_dry_run(drift: Drift) -> None:
    drift.pipeline.put(item("from-the-handler", timedelta(hours=2)))

    response = reconcile_handler.handler(load_event("reconcile-apply.json"), LambdaContext())

    assert (response["created"], response["errors"]) == (2, 0)
    assert set(drift.pipeline.schedules()) == {
        schedule_name("from-the-handler", edge) for edge in Edge
    }

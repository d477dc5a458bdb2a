"""Bring the schedules and statuses of a stack back in step with its programme table.

By default it works on the local runtime (.local/outputs.json); --stack NAME works on a
stack deployed to AWS, with the usual AWS credentials. The rules (schedule group, target,
time zone, due margin) are read from the stack's stream function, so both always agree.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from telecast.adapters.aws import CLIENT_CONFIG
from telecast.reconcile import (
    ProgrammePlan,
    ProgressEvent,
    RemoveSchedule,
    Summary,
    WriteSchedule,
    build_reconciler,
)
from telecast.settings import ReconcileSettings, SettingsError
from telecast.time_rules import to_iso_utc

OUTPUTS = Path(__file__).resolve().parents[2] / ".local" / "outputs.json"
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


class StackNotFound(RuntimeError):
    """The stack (or the local runtime) to reconcile cannot be found."""


class ProgressBar:
    """A one-line progress bar with counts, redrawn at most ten times a second."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width
        self._phase = ""
        self._drawn_at = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        """Show a phase change at once, and the reconciling phase as a bar."""
        if event.phase != self._phase:
            self._phase = event.phase
            self._draw(event)
            return
        finished = event.total > 0 and event.done == event.total
        if finished or time.monotonic() - self._drawn_at >= 0.1:
            self._draw(event)
        if finished:
            self.out.write("\n")
            self.out.flush()

    def _draw(self, event: ProgressEvent) -> None:
        self._drawn_at = time.monotonic()
        self.out.write("\r\033[K" + render_progress(event, self.width))
        self.out.flush()


def render_progress(event: ProgressEvent, width: int = 30) -> str:
    """The progress line for an event: a bar once the total is known, else the phase."""
    if event.total <= 0:
        return f"{event.phase}..."
    filled = width * event.done // event.total
    counts = event.summary
    return (
        f"{event.phase} [{'#' * filled}{'.' * (width - filled)}] {event.done}/{event.total}"
        f"  created {counts.created}  replaced {counts.replaced}  deleted {counts.deleted}"
        f"  status {counts.status_fixed}  errors {counts.errors}"
    )


def describe_plan(plan: ProgrammePlan, dry_run: bool) -> list[str]:
    """One line per change of a programme's plan, for people."""
    verb = "would " if dry_run else ""
    who = plan.program_id or "(no programme)"
    lines = []
    for step in plan.steps:
        if isinstance(step, WriteSchedule):
            request = step.request
            action = "replace" if step.differences else "create"
            why = f"  ({', '.join(step.differences)})" if step.differences else ""
            lines.append(
                f"{verb}{action:<8} {request.event_type.value:<5} {who}"
                f"  at {to_iso_utc(request.scheduled_for)}{why}"
            )
        elif isinstance(step, RemoveSchedule):
            edge = step.edge.value if step.edge else "?"
            lines.append(f"{verb}{'delete':<8} {edge:<5} {who}  {step.name}  ({step.reason})")
        else:
            request = step.request
            late = "  (catch-up)" if request.catch_up else ""
            lines.append(
                f"{verb}{'notify':<8} {request.event_type.value:<5} {who}"
                f"  scheduled for {to_iso_utc(request.scheduled_for)}{late}"
            )
    if plan.status is not None:
        reason = f"  ({plan.status.error})" if plan.status.error else ""
        lines.append(f"{verb}{'status':<8} {'':<5} {who}  {plan.status.status.value}{reason}")
    return lines


def format_summary(summary: Summary, target: str) -> str:
    """The closing summary: one counter a line."""
    title = "reconcile plan (dry run, nothing changed)" if summary.dry_run else "reconciled"
    lines = [f"{title}: {target} in {summary.seconds:.1f} s"]
    lines.extend(f"  {name:<13} {getattr(summary, name):>8}" for name in Summary.COUNTERS)
    if not summary.listing_complete:
        lines.append("  warning: the schedule listing may be cut short; orphans beyond it stay")
    return "\n".join(lines)


def local_session(outputs: dict[str, str]) -> tuple[boto3.session.Session, str | None]:
    """A session and endpoint for the local runtime described by its outputs."""
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        region_name=outputs["Region"],
    )
    return session, outputs["Endpoint"]


def stack_outputs(session: boto3.session.Session, stack: str) -> dict[str, str]:
    """The outputs of a deployed CloudFormation stack."""
    cloudformation: Any = session.client("cloudformation", config=CLIENT_CONFIG)
    try:
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        raise StackNotFound(f"stack {stack}: {error}") from error
    return {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}


def read_local_outputs(path: Path) -> dict[str, str]:
    """The local runtime's outputs file, or a clear error when it is not up."""
    if not path.exists():
        raise StackNotFound(f"the local runtime is not up (no {path}): run 'make up'")
    return dict(json.loads(path.read_text()))


def settings_for(
    lambda_client: Any, outputs: dict[str, str], overrides: dict[str, str]
) -> ReconcileSettings:
    """Reconcile settings from the stack's stream function, so the rules are the same."""
    name = outputs.get("StreamFunctionName")
    if not name:
        raise StackNotFound("the stack's outputs have no StreamFunctionName")
    configuration = lambda_client.get_function_configuration(FunctionName=name)
    environment = dict(configuration.get("Environment", {}).get("Variables", {}))
    environment.setdefault("TABLE_NAME", outputs.get("TableName", ""))
    return ReconcileSettings.from_env({**environment, **overrides})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="telecast-reconcile", description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--stack", help="a stack deployed to AWS (default: the local runtime)")
    parser.add_argument("--region", help="AWS region of --stack (default: the usual chain)")
    parser.add_argument("--outputs", type=Path, default=OUTPUTS, help="local outputs file")
    parser.add_argument("--segments", type=int, help="parallel Scan segments (default 4)")
    parser.add_argument("--workers", type=int, help="concurrent programmes (default 8)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--verbose", action="store_true", help="log every change (stderr)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run reconcile once; exit 1 when any programme failed, 2 when it could not start."""
    args = parse_args(argv)
    try:
        if args.stack:
            session = boto3.session.Session(region_name=args.region)
            endpoint: str | None = None
            outputs = stack_outputs(session, args.stack)
            target = f"stack {args.stack}"
        else:
            outputs = read_local_outputs(args.outputs)
            session, endpoint = local_session(outputs)
            target = f"local stack on {endpoint}"

        def make(service: str) -> Any:
            factory: Any = session.client
            return factory(service, endpoint_url=endpoint, config=CLIENT_CONFIG)

        overrides = {
            variable: str(value)
            for variable, value in (
                ("SCAN_SEGMENTS", args.segments),
                ("RECONCILE_WORKERS", args.workers),
            )
            if value is not None
        }
        lambda_client = make("lambda")
        settings = settings_for(lambda_client, outputs, overrides)
    except (StackNotFound, SettingsError, ClientError, BotoCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    logger = Logger(
        service="telecast-reconcile",
        level="INFO" if args.verbose else "WARNING",
        logger_handler=logging.StreamHandler(sys.stderr),
    )
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() and not args.verbose else None
    reconciler = build_reconciler(
        settings, make("dynamodb"), make("scheduler"), lambda_client, logger, progress
    )
    try:
        outcome = reconciler.run(dry_run=args.dry_run)
    except (ClientError, BotoCoreError) as error:
        print(f"\nerror: could not read the table or the schedule group: {error}", file=sys.stderr)
        return 2
    if args.dry_run and not args.json:
        for plan in sorted(outcome.plans, key=lambda plan: plan.program_id or ""):
            for line in describe_plan(plan, dry_run=True):
                print(line)
    if args.json:
        print(json.dumps({"target": target, **outcome.summary.as_dict()}))
    else:
        print(format_summary(outcome.summary, target))
    return 1 if outcome.summary.errors else 0


if __name__ == "__main__":
    sys.exit(main())

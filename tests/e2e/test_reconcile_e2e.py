"""End to end: a schedule deleted by hand is put back by reconcile and still fires."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support import ROOT, iso, unique_id
from telecast.schedule_plan import Edge, schedule_name

pytestmark = pytest.mark.e2e


def _schedule(scheduler: Any, group: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(scheduler.get_schedule(Name=name, GroupName=group))
    except ClientError:
        return None


def _wait_for_schedule(scheduler: Any, group: str, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _schedule(scheduler, group, name) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"the stream function did not create {name} in {timeout:.0f} s")
        time.sleep(0.5)


def _reconcile(outputs: dict[str, str], folder: Path) -> dict[str, Any]:
    """Run the operator's command against the session's stack; return its JSON summary."""
    path = folder / "outputs.json"
    path.write_text(json.dumps(outputs))
    run = subprocess.run(
        [sys.executable, "-m", "telecast_ops.reconcile_cli", "--outputs", str(path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return summary


def test_a_schedule_deleted_by_hand_is_restored_and_its_notifications_still_arrive(
    local_stack: dict[str, str], dynamodb: Any, scheduler: Any, inbox: Any, tmp_path: Path
) -> None:
    group = local_stack["ScheduleGroupName"]
    program_id = unique_id("e2e-reconcile")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=60)
    end = start + timedelta(seconds=10)
    start_name = schedule_name(program_id, Edge.START)
    dynamodb.put_item(
        TableName=local_stack["TableName"],
        Item={
            "program_id": {"S": program_id},
            "title": {"S": "Reconcile check"},
            "start_time": {"S": iso(start)},
            "end_time": {"S": iso(end)},
        },
    )
    _wait_for_schedule(scheduler, group, start_name, timeout=30)
    scheduler.delete_schedule(Name=start_name, GroupName=group)

    summary = _reconcile(local_stack, tmp_path)

    assert summary["errors"] == 0
    assert summary["created"] >= 1
    restored = _schedule(scheduler, group, start_name)
    assert restored is not None
    assert restored["ScheduleExpression"] == f"at({iso(start)[:-1]})"
    remaining = (end - datetime.now(UTC)).total_seconds()
    messages = inbox.wait_for(program_id, 2, timeout=remaining + 45)
    assert [message["event_type"] for message in messages] == ["START", "END"]
    assert [message["scheduled_for"] for message in messages] == [iso(start), iso(end)]

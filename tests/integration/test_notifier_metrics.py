"""The notifier's EMF metrics: what the alarms and the dashboard read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline import Pipeline
from support import iso


def _emitted(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = capsys.readouterr().out.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{") and '"_aws"' in line]


def _due_now(pipeline: Pipeline, program_id: str) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0)
    pipeline.put(
        {
            "program_id": program_id,
            "title": "Metrics",
            "start_time": iso(start),
            "end_time": iso(start + timedelta(minutes=10)),
        }
    )
    return {"program_id": program_id, "event_type": "START", "scheduled_for": iso(start)}


def test_a_first_delivery_counts_a_publication_and_its_lateness(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = _due_now(pipeline, "metrics-first")
    capsys.readouterr()

    pipeline.invoke_notifier(payload)

    [emitted] = _emitted(capsys)
    assert emitted["NotificationsPublished"] == [1.0]
    assert emitted["NotificationLateness"][0] >= 0
    assert emitted["service"] == "telecast"
    assert "DuplicatesSuppressed" not in emitted


def test_a_duplicate_delivery_counts_a_suppressed_duplicate_and_no_publication(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = _due_now(pipeline, "metrics-duplicate")
    pipeline.invoke_notifier(payload)
    capsys.readouterr()

    pipeline.invoke_notifier(payload)

    [emitted] = _emitted(capsys)
    assert emitted["DuplicatesSuppressed"] == [1.0]
    assert "NotificationsPublished" not in emitted
    assert len(pipeline.messages()) == 1

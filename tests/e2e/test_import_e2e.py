"""End to end: the real Tokyo MX day, imported compressed, announces each programme in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from support import ROOT
from telecast_ops.importer import ImportOptions, open_table, plan_import, run_import
from telecast_ops.xmltv import read_listing

pytestmark = pytest.mark.e2e

LISTING = ROOT / "data" / "epg" / "tokyo-mx-2026-03-28.xml"
SPEED = 240  # the day in six minutes: the first half-hour programmes last 7.5 s


def test_a_replayed_day_announces_starts_and_ends_in_order_with_titles_intact(
    local_stack: dict[str, str], inbox: Any
) -> None:
    data = LISTING.read_bytes()
    titles = {text for programme in read_listing(data).programmes for _, text in programme.titles}
    now = datetime.now(UTC)
    plan = plan_import(data, ImportOptions(start_in=10, speed=SPEED), now)

    report = run_import(plan, open_table(None, None, need=True), ImportOptions())

    assert report.exit_status == 0
    assert len(plan.items) == 93
    soon = [
        item
        for item in plan.items
        if (datetime.fromisoformat(item["end_time"].replace("Z", "+00:00")) - now).total_seconds()
        <= 50
    ]
    assert len(soon) >= 4
    for item in soon:
        messages = inbox.wait_for(item["program_id"], 2, timeout=90)
        assert [m["event_type"] for m in messages] == ["START", "END"], item["program_id"]
        assert messages[0]["title"] == item["title"]
        assert item["title"] in titles
        assert messages[0]["channel"] == item["channel"]

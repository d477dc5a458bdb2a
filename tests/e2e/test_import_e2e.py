"""End to end: the real Tokyo MX day, imported compressed, announces each programme in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support import ROOT
from telecast_ops import importer
from telecast_ops.local_runtime import runtime_from_env
from telecast_ops.xmltv import read_listing

pytestmark = pytest.mark.e2e

LISTING = ROOT / "data" / "epg" / "tokyo-mx-2026-03-28.xml"
SPEED = 720  # the day in two minutes


def test_a_replayed_day_announces_starts_and_ends_in_order_with_titles_intact(
    local_stack: dict[str, str], inbox: Any
) -> None:
    listing = read_listing(Path(LISTING).read_bytes())
    titles = {text for programme in listing.programmes for _, text in programme.titles}

    status = importer.main([str(LISTING), "--start-in", "5", "--speed", str(SPEED)])
    assert status == 0

    now = datetime.now(UTC).timestamp()
    ending = _imported_ends(local_stack)
    first_minute = [pid for pid, end in ending.items() if now < end <= now + 45]
    assert len(first_minute) >= 4
    for program_id in first_minute:
        messages = inbox.wait_for(program_id, 2, timeout=90)
        assert [m["event_type"] for m in messages] == ["START", "END"], program_id
        assert messages[0]["title"] in titles
        assert messages[0]["channel"] in {"Tokyo MX1", "Tokyo MX2"}


def _imported_ends(local_stack: dict[str, str]) -> dict[str, float]:
    """Imported programmes that have not ended yet, with their end as epoch seconds."""
    dynamodb = runtime_from_env().client("dynamodb")
    now = datetime.now(UTC).timestamp()
    found: dict[str, float] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=local_stack["TableName"]):
        for item in page["Items"]:
            if item.get("source", {}).get("S") != "xmltv":
                continue
            end = datetime.fromisoformat(item["end_time"]["S"].replace("Z", "+00:00"))
            if end.timestamp() > now:
                found[item["program_id"]["S"]] = end.timestamp()
    return found

"""XMLTV import on moto: what reaches the table, re-imports, pruning, and refused files."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipeline import Pipeline
from support import REGION, ROOT, make_stack
from telecast.adapters.table import to_item
from telecast.schedule_plan import Edge, schedule_name
from telecast_ops import importer
from telecast_ops.importer import (
    BatchIncomplete,
    ImportOptions,
    ImportReport,
    ListingTable,
    RichProgress,
    plan_import,
    run_import,
    terminal_progress,
)

FIXTURES = ROOT / "tests" / "fixtures" / "xmltv"
REAL_DAY = ROOT / "data" / "epg" / "tokyo-mx-2026-03-28.xml"
NOW = datetime(2026, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
TABLE = "programmes"


class CountingClient:
    """A DynamoDB client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith("get_paginator"):
            return method

        def counted(**arguments: Any) -> Any:
            self.calls.append(name)
            return method(**arguments)

        return counted


class StingyClient(CountingClient):
    """Leaves the second half of each write batch unprocessed, `refusals` times in all."""

    def __init__(self, client: Any, refusals: int) -> None:
        super().__init__(client)
        self.refusals = refusals
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        requests = RequestItems[TABLE]
        with self._lock:
            self.calls.append("batch_write_item")
            refuse = self.refusals > 0 and len(requests) > 1
            self.refusals -= refuse
        if not refuse:
            return dict(self._client.batch_write_item(RequestItems=RequestItems))
        half = len(requests) // 2
        self._client.batch_write_item(RequestItems={TABLE: requests[:half]})
        return {"UnprocessedItems": {TABLE: requests[half:]}}


@pytest.fixture
def stack(aws: None) -> dict[str, str]:
    return make_stack()


def _client() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def _table(client: Any | None = None) -> ListingTable:
    return ListingTable(client or _client(), TABLE, sleep=lambda _: None)


def _import(path: Path, table: ListingTable | None = None, **options: Any) -> ImportReport:
    chosen = ImportOptions(**options)
    plan = plan_import(path.read_bytes(), chosen, NOW)
    return run_import(plan, table or _table(), chosen)


def _items() -> dict[str, dict[str, Any]]:
    pages = _client().get_paginator("scan").paginate(TableName=TABLE)
    items = (to_item(image) for page in pages for image in page["Items"])
    return {item["program_id"]: item for item in items}


# ------------------------------------------------------------------ what is written


def test_the_real_day_becomes_93_items_with_utc_times_and_japanese_titles(
    stack: dict[str, str],
) -> None:
    report = _import(REAL_DAY)

    items = _items()
    assert (report.created, report.rejected, len(items)) == (93, 0, 93)
    first = items["TokyoMX1.jp-20260327T200000Z"]
    assert first == {
        "program_id": "TokyoMX1.jp-20260327T200000Z",
        "title": "ＭＸショッピング",
        "channel": "Tokyo MX1",
        "channel_id": "TokyoMX1.jp",
        "start_time": "2026-03-27T20:00:00Z",
        "end_time": "2026-03-27T20:30:00Z",
        "source": "xmltv",
    }
    assert {item["channel"] for item in items.values()} == {"Tokyo MX1", "Tokyo MX2"}


def test_the_defects_listing_writes_only_the_valid_programmes(stack: dict[str, str]) -> None:
    report = _import(FIXTURES / "defects.xml")

    assert sorted(item["title"] for item in _items().values()) == [
        "Afternoon",
        "Late morning",
        "Morning",
        "Overlapping",
    ]
    assert report.summary() == (
        "read 9, written 4 (new 4, updated 0), unchanged 0, removed 0, rejected 5, warnings 1"
    )
    assert report.exit_status == 1


def test_the_command_prints_each_defect_with_its_line_and_exits_1(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = FIXTURES / "defects.xml"

    status = importer.main([str(path), "--table", TABLE, "--region", REGION])

    out, err = capsys.readouterr()
    assert status == 1
    assert f"{path}:7: error: programme 2 (one.test): stop 2090-01-01T08:30:00Z is before" in err
    assert f"{path}:8: error: programme 3 (one.test): has no stop time" in err
    assert f"{path}:10: warning: programme 5 (one.test): overlaps programme 4 (line 9)" in err
    assert f"{path}:11: error: programme 6 (three.test): names channel 'three.test'" in err
    assert out.splitlines()[-1].endswith("rejected 5, warnings 1")


def test_the_command_exits_0_when_everything_is_accepted(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = importer.main([str(FIXTURES / "day.xml"), "--table", TABLE, "--region", REGION])

    out, _ = capsys.readouterr()
    assert status == 0
    assert "read 5, written 5 (new 5, updated 0)" in out


def test_a_dry_run_counts_what_would_happen_and_writes_nothing(stack: dict[str, str]) -> None:
    _import(FIXTURES / "day.xml")

    report = _import(FIXTURES / "day-corrected.xml", dry_run=True)

    assert (report.updated, report.unchanged, report.removed) == (1, 3, 1)
    assert _items()["one.test-20900101T080000Z"]["title"] == "News"
    assert "one.test-20900101T090000Z" in _items()


# ------------------------------------------------------------------ re-import


def test_a_second_import_of_the_same_listing_changes_nothing(stack: dict[str, str]) -> None:
    _import(REAL_DAY)
    client = CountingClient(_client())

    report = _import(REAL_DAY, _table(client))

    assert (report.unchanged, report.written, report.removed) == (93, 0, 0)
    assert "batch_write_item" not in client.calls
    assert len(_items()) == 93


def test_a_second_import_makes_no_stream_records(pipeline: Pipeline) -> None:
    _import(FIXTURES / "day.xml")
    pipeline.settle()

    _import(FIXTURES / "day.xml")

    assert pipeline.pending_records() == []


def test_a_shifted_import_repeated_at_the_same_moment_is_idempotent(
    stack: dict[str, str],
) -> None:
    first = _import(REAL_DAY, start_in=60, speed=480)

    again = _import(REAL_DAY, start_in=60, speed=480)

    items = _items()
    starts = sorted(item["start_time"] for item in items.values())
    assert (first.created, again.unchanged, len(items)) == (93, 93, 93)
    assert starts[0] == "2026-05-01T12:01:00Z"
    assert max(item["end_time"] for item in items.values()) == "2026-05-01T12:04:00Z"


def test_a_corrected_listing_removes_the_dropped_programme(stack: dict[str, str]) -> None:
    _import(FIXTURES / "day.xml")

    report = _import(FIXTURES / "day-corrected.xml")

    items = _items()
    assert report.summary() == (
        "read 4, written 1 (new 0, updated 1), unchanged 3, removed 1, rejected 0, warnings 0"
    )
    assert report.removed_ids == ["one.test-20900101T090000Z"]
    assert sorted(items) == [
        "one.test-20900101T080000Z",
        "one.test-20900101T100000Z",
        "two.test-20900101T080000Z",
        "two.test-20900101T093000Z",
    ]
    assert items["one.test-20900101T080000Z"]["title"] == "Morning News"


def test_pruning_spares_other_sources_other_channels_and_the_outside_of_the_window(
    stack: dict[str, str],
) -> None:
    _import(FIXTURES / "day.xml")
    client = _client()
    outside = {
        "program_id": {"S": "one.test-20900101T120000Z"},
        "channel_id": {"S": "one.test"},
        "source": {"S": "xmltv"},
        "start_time": {"S": "2090-01-01T12:00:00Z"},
        "end_time": {"S": "2090-01-01T13:00:00Z"},
    }
    by_hand = {**outside, "program_id": {"S": "typed-in"}, "source": {"S": "console"}}
    by_hand["start_time"] = {"S": "2090-01-01T09:15:00Z"}
    other_channel = {
        **outside,
        "program_id": {"S": "three.test-x"},
        "channel_id": {"S": "three.test"},
    }
    other_channel["start_time"] = {"S": "2090-01-01T09:15:00Z"}
    for item in (outside, by_hand, other_channel):
        client.put_item(TableName=TABLE, Item=item)

    report = _import(FIXTURES / "day-corrected.xml")

    assert report.removed_ids == ["one.test-20900101T090000Z"]
    assert {"one.test-20900101T120000Z", "typed-in", "three.test-x"} <= set(_items())


def test_no_prune_keeps_the_dropped_programme(stack: dict[str, str]) -> None:
    _import(FIXTURES / "day.xml")

    report = _import(FIXTURES / "day-corrected.xml", prune=False)

    assert report.removed == 0
    assert _items()["one.test-20900101T090000Z"]["title"] == "Weather"


def test_a_programme_the_listing_still_names_is_not_pruned_when_rejected(
    stack: dict[str, str], tmp_path: Path
) -> None:
    _import(FIXTURES / "day.xml")
    broken = (
        (FIXTURES / "day.xml")
        .read_text()
        .replace(
            'stop="20900101100000 +0000" channel="one.test"',
            'stop="20900101083000 +0000" channel="one.test"',
        )
    )
    path = tmp_path / "broken.xml"
    path.write_text(broken)

    report = _import(path)

    assert (report.rejected, report.removed) == (1, 0)
    assert _items()["one.test-20900101T090000Z"]["title"] == "Weather"


def test_a_removed_programme_loses_its_schedules(pipeline: Pipeline) -> None:
    _import(FIXTURES / "day.xml")
    pipeline.settle()
    dropped = "one.test-20900101T090000Z"
    assert {schedule_name(dropped, edge) for edge in Edge} <= set(pipeline.schedules())

    _import(FIXTURES / "day-corrected.xml")
    pipeline.settle()

    names = set(pipeline.schedules())
    assert not {schedule_name(dropped, edge) for edge in Edge} & names
    assert len(names) == 8
    assert pipeline.get(dropped) is None


def test_a_title_correction_keeps_the_schedules_and_the_status(pipeline: Pipeline) -> None:
    _import(FIXTURES / "day.xml")
    pipeline.settle()
    renamed = "one.test-20900101T080000Z"
    before = pipeline.schedules()[schedule_name(renamed, Edge.START)]

    _import(FIXTURES / "day-corrected.xml")
    pipeline.settle()

    item = pipeline.get(renamed)
    assert item is not None
    assert (item["title"], item["notification_status"]) == ("Morning News", "SCHEDULED")
    assert pipeline.schedules()[schedule_name(renamed, Edge.START)] == before


def test_imported_programmes_notify_with_their_titles(pipeline: Pipeline) -> None:
    _import(FIXTURES / "day.xml")
    pipeline.settle()

    pipeline.fire_all()

    messages = [body for body, _ in pipeline.messages()]
    assert len(messages) == 10
    news = [body for body in messages if body["program_id"] == "one.test-20900101T080000Z"]
    assert [(body["event_type"], body["title"]) for body in news] == [
        ("START", "News"),
        ("END", "News"),
    ]
    assert news[0]["channel"] == "Channel One"


# ------------------------------------------------------------------ batches and retries


def test_the_progress_bar_follows_every_step(stack: dict[str, str]) -> None:
    _import(FIXTURES / "day.xml")
    plan = plan_import((FIXTURES / "day-corrected.xml").read_bytes(), ImportOptions(), NOW)

    with terminal_progress(True) as progress:
        report = run_import(plan, _table(), ImportOptions(), progress)

    assert isinstance(progress, RichProgress)
    assert (report.updated, report.removed) == (1, 1)
    assert progress.steps() == [
        ("reading table", 4, 4),
        ("writing", 1, 1),
        ("removing dropped programmes", 1, 1),
    ]


def test_unprocessed_items_are_retried_until_written(stack: dict[str, str]) -> None:
    client = StingyClient(_client(), refusals=3)

    report = _import(REAL_DAY, _table(client))

    assert report.created == 93
    assert len(_items()) == 93
    assert client.calls.count("batch_write_item") == 4 + 3


def test_writes_that_stay_unprocessed_stop_the_import(stack: dict[str, str]) -> None:
    client = StingyClient(_client(), refusals=1000)

    with pytest.raises(BatchIncomplete, match="unprocessed after every retry"):
        _import(REAL_DAY, ListingTable(client, TABLE, max_attempts=3, sleep=lambda _: None))


# ------------------------------------------------------------------ refused input and setup


@pytest.mark.parametrize("name", ["billion-laughs.xml", "external-entity.xml"])
def test_hostile_documents_are_refused_and_nothing_is_written(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str], name: str
) -> None:
    status = importer.main([str(FIXTURES / name), "--table", TABLE, "--region", REGION])

    _, err = capsys.readouterr()
    assert status == 2
    assert "refused: the document declares an entity" in err
    assert "nothing was imported" in err
    assert _items() == {}


def test_a_missing_table_stops_before_writing_with_status_2(
    stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status = importer.main([str(FIXTURES / "day.xml"), "--table", "absent", "--region", REGION])

    _, err = capsys.readouterr()
    assert status == 2
    assert "table absent" in err


def test_without_table_or_local_runtime_the_command_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importer, "OUTPUTS", tmp_path / "outputs.json")

    status = importer.main([str(FIXTURES / "day.xml")])

    assert status == 2
    assert "run 'make up', or pass --table NAME" in capsys.readouterr().err


def test_the_local_runtime_table_is_read_from_its_outputs_file(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps({"Endpoint": "http://127.0.0.1:4566", "Region": "us-east-1", "TableName": "t"})
    )

    assert importer.local_table(outputs) == ("http://127.0.0.1:4566", "us-east-1", "t")


def test_a_dry_run_without_any_table_only_checks_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(importer, "OUTPUTS", tmp_path / "outputs.json")

    status = importer.main([str(FIXTURES / "defects.xml"), "--dry-run"])

    out, _ = capsys.readouterr()
    assert status == 1
    assert "the table was not read" in out
    assert "read 9, written 4 (new 4, updated 0)" in out


@pytest.mark.parametrize(
    "arguments",
    [["--speed", "0"], ["--speed", "fast"], ["--start-in", "nan"], ["--default-timezone", "Mars"]],
)
def test_bad_options_are_refused_by_the_command(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        importer.main([str(FIXTURES / "day.xml"), "--dry-run", *arguments])

    assert stopped.value.code == 2

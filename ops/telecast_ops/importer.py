"""telecast-import: load an XMLTV listing into the programme table.

Each programme becomes one item keyed `<channel id>-<start as YYYYMMDDTHHMMSSZ>`, so a
second import of the same listing updates items instead of adding new ones. Items the
table already holds as written are left alone; programmes of the listing's channels that
start inside its time window but are no longer in it are deleted (unless --no-prune).

Exit status: 0 when every programme was accepted (warnings allowed), 1 when some were
rejected (the valid ones are written), 2 when nothing was imported (unreadable or refused
file, bad option, table unreachable), 3 when the import stopped part-way through writing.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from telecast.adapters.table import to_image, to_item
from telecast.errors import InvalidProgramme
from telecast.programme import STATUS_ATTRIBUTES, parse_programme, time_attributes
from telecast.time_rules import TimeValueError, load_zone, parse_time, to_iso_utc
from telecast_ops.xmltv import (
    Defect,
    Entry,
    ListingError,
    Severity,
    plan_retiming,
    program_id_for,
    read_listing,
    to_entries,
)

OUTPUTS = Path(__file__).resolve().parents[2] / ".local" / "outputs.json"
SOURCE = "xmltv"
# Every attribute the importer owns: compared for "unchanged", replaced on update.
# `timezone` is never written (times are stored in UTC), so an update removes it.
IMPORT_ATTRIBUTES = (
    "program_id",
    "title",
    "channel",
    "channel_id",
    "start_time",
    "end_time",
    "source",
    "timezone",
)
WRITE_BATCH = 25
READ_BATCH = 100

_T = TypeVar("_T")


class TableUnavailable(RuntimeError):
    """The table could not be read before anything was written."""


class BatchIncomplete(RuntimeError):
    """Some batched reads or writes stayed unprocessed after every retry."""


@dataclass(frozen=True)
class ImportOptions:
    """How to read and move the listing, and what to do with the table."""

    default_zone: str = "UTC"
    lang: str | None = None
    start_in: float | None = None
    speed: float | None = None
    prune: bool = True
    dry_run: bool = False


@dataclass(frozen=True)
class ImportPlan:
    """The items a listing asks for, before the table is consulted."""

    read: int
    items: tuple[dict[str, str], ...]
    defects: tuple[Defect, ...]
    window: tuple[datetime, datetime] | None
    channel_ids: frozenset[str]
    # Ids the listing still names, rejected ones included: never pruned.
    named_ids: frozenset[str]

    @property
    def rejected(self) -> int:
        """Programmes not written because of at least one error."""
        return len(
            {defect.index for defect in self.defects if defect.severity is Severity.ERROR} - {None}
        )

    @property
    def warnings(self) -> int:
        """Warnings reported (the programmes concerned are still written)."""
        return sum(defect.severity is Severity.WARNING for defect in self.defects)


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    plan: ImportPlan
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    dry_run: bool = False
    table_consulted: bool = True
    removed_ids: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        """Items put: new ones and changed ones."""
        return self.created + self.updated

    @property
    def rejected(self) -> int:
        """Programmes not written because of an error."""
        return self.plan.rejected

    @property
    def exit_status(self) -> int:
        """0 when every programme was accepted, 1 when any was rejected."""
        return 1 if self.rejected else 0

    def summary(self) -> str:
        """One line with every count, for people and scripts."""
        return (
            f"read {self.plan.read}, written {self.written} (new {self.created}, updated "
            f"{self.updated}), unchanged {self.unchanged}, removed {self.removed}, "
            f"rejected {self.rejected}, warnings {self.plan.warnings}"
        )


class Progress(Protocol):
    """Where the importer reports how far it has got."""

    def phase(self, description: str, total: int) -> None:
        """Start a step of `total` units."""

    def advance(self, count: int) -> None:
        """`count` more units of the current step are done."""


class NoProgress:
    """Reports nothing (output is not a terminal, or a test)."""

    def phase(self, description: str, total: int) -> None:
        """Ignore the step."""

    def advance(self, count: int) -> None:
        """Ignore the units."""


class ListingTable:
    """The programme table as the importer uses it: batched reads, writes and deletes.

    Batches run on up to `workers` threads; each batch retries its own unprocessed
    part with exponential backoff, `max_attempts` times in all.
    """

    def __init__(
        self,
        client: Any,
        name: str,
        max_attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        workers: int = 4,
    ) -> None:
        self._client = client
        self.name = name
        self.max_attempts = max_attempts
        self.workers = max(1, workers)
        self._sleep = sleep

    def get_many(self, program_ids: Sequence[str], progress: Progress) -> dict[str, dict[str, Any]]:
        """The items that exist among `program_ids` (strongly consistent reads)."""
        found: dict[str, dict[str, Any]] = {}
        for part in self._each(self._get_batch, _chunks(list(program_ids), READ_BATCH), progress):
            found.update(part)
        return found

    def put_many(self, items: Sequence[dict[str, Any]], progress: Progress) -> None:
        """Put every item, retrying unprocessed ones with backoff."""
        requests = [{"PutRequest": {"Item": to_image(item)}} for item in items]
        self._each(self._write_batch, _chunks(requests, WRITE_BATCH), progress)

    def delete_many(self, program_ids: Sequence[str], progress: Progress) -> None:
        """Delete every item, retrying unprocessed ones with backoff."""
        requests = [
            {"DeleteRequest": {"Key": {"program_id": {"S": program_id}}}}
            for program_id in program_ids
        ]
        self._each(self._write_batch, _chunks(requests, WRITE_BATCH), progress)

    def imported_items(self) -> list[dict[str, Any]]:
        """Key, channel and start of every item an XMLTV import wrote.

        A Scan with a filter: the table has no index by channel yet.
        """
        pages = self._client.get_paginator("scan").paginate(
            TableName=self.name,
            ConsistentRead=True,
            FilterExpression="#source = :source",
            ProjectionExpression="#id, #channel_id, #start",
            ExpressionAttributeNames={
                "#source": "source",
                "#id": "program_id",
                "#channel_id": "channel_id",
                "#start": "start_time",
            },
            ExpressionAttributeValues={":source": {"S": SOURCE}},
        )
        return [to_item(image) for page in pages for image in page.get("Items", [])]

    def _each(
        self,
        work: Callable[[list[Any], Progress], _T],
        batches: Iterator[list[Any]],
        progress: Progress,
    ) -> list[_T]:
        if self.workers == 1:
            return [work(batch, progress) for batch in batches]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda batch: work(batch, progress), batches))

    def _get_batch(self, program_ids: list[str], progress: Progress) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        keys = [{"program_id": {"S": program_id}} for program_id in program_ids]
        for attempt in range(self.max_attempts):
            request = {self.name: {"Keys": keys, "ConsistentRead": True}}
            reply = self._client.batch_get_item(RequestItems=request)
            for image in reply.get("Responses", {}).get(self.name, []):
                item = to_item(image)
                found[item["program_id"]] = item
            left = (reply.get("UnprocessedKeys") or {}).get(self.name, {}).get("Keys", [])
            progress.advance(len(keys) - len(left))
            if not left:
                return found
            keys = left
            self._sleep(self._backoff(attempt))
        raise BatchIncomplete(f"{len(keys)} reads stayed unprocessed after every retry")

    def _write_batch(self, requests: list[dict[str, Any]], progress: Progress) -> None:
        pending = requests
        for attempt in range(self.max_attempts):
            reply = self._client.batch_write_item(RequestItems={self.name: pending})
            left = (reply.get("UnprocessedItems") or {}).get(self.name, [])
            progress.advance(len(pending) - len(left))
            if not left:
                return
            pending = left
            self._sleep(self._backoff(attempt))
        raise BatchIncomplete(f"{len(pending)} writes stayed unprocessed after every retry")

    @staticmethod
    def _backoff(attempt: int) -> float:
        """Exponential backoff with jitter: about 0.05 s, 0.1 s, 0.2 s ... at most 5 s."""
        return float(min(5.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))


def item_for(entry: Entry) -> dict[str, str]:
    """The table item for one entry: UTC times with a Z, the channel's name and id."""
    item = {
        "program_id": entry.program_id,
        "channel": entry.channel_name,
        "channel_id": entry.channel_id,
        "start_time": to_iso_utc(entry.start),
        "end_time": to_iso_utc(entry.end),
        "source": SOURCE,
    }
    if entry.title is not None:
        item["title"] = entry.title
    return item


def plan_import(data: bytes, options: ImportOptions, now: datetime) -> ImportPlan:
    """Read, check, move and validate a listing; raise ListingError if it cannot be read."""
    checked = to_entries(read_listing(data), options.default_zone, options.lang)
    retiming = plan_retiming(checked.entries, now, options.start_in, options.speed)
    entries = list(checked.entries)
    if retiming is not None:
        entries = [retiming.apply(entry) for entry in entries]

    defects = list(checked.defects)
    items: dict[str, dict[str, str]] = {}
    accepted: list[Entry] = []
    for entry in entries:
        item = item_for(entry)
        reason = _rejection(item, items, options.default_zone)
        if reason is not None:
            defects.append(
                Defect(entry.line, Severity.ERROR, reason, entry.index, entry.channel_id)
            )
            continue
        items[entry.program_id] = item
        accepted.append(entry)

    defects.sort(key=lambda defect: (defect.line, defect.index or 0))
    window = None
    if accepted:
        window = (min(entry.start for entry in accepted), max(entry.end for entry in accepted))
    named = {
        program_id_for(channel_id, retiming(start) if retiming else start)
        for channel_id, start in checked.named
    }
    return ImportPlan(
        read=checked.read,
        items=tuple(items.values()),
        defects=tuple(defects),
        window=window,
        channel_ids=frozenset(entry.channel_id for entry in accepted),
        named_ids=frozenset(named),
    )


def _rejection(
    item: dict[str, str], accepted: dict[str, dict[str, str]], default_zone: str
) -> str | None:
    """Why the programme rules (or a clash of ids after --speed) reject the item, or None."""
    try:
        parse_programme(item, default_zone)
    except InvalidProgramme as error:
        return f"rejected by the programme rules: {error.reason}"
    if item["program_id"] in accepted:
        return f"starts at the same instant as another programme of {item['channel_id']}"
    return None


def run_import(
    plan: ImportPlan,
    table: ListingTable | None,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Bring the table in line with the plan; a dry run (or no table) only counts."""
    options = options or ImportOptions()
    progress = progress or NoProgress()
    dry_run = options.dry_run or table is None
    report = ImportReport(plan, dry_run=dry_run, table_consulted=table is not None)
    if table is None:
        report.created = len(plan.items)
        return report

    ids = [item["program_id"] for item in plan.items]
    try:
        progress.phase("reading table", len(ids))
        existing = table.get_many(ids, progress)
        removals = _dropped(plan, table.imported_items()) if options.prune else []
    except (ClientError, BotoCoreError, BatchIncomplete) as error:
        raise TableUnavailable(f"table {table.name}: {error}") from error

    puts = []
    for item in plan.items:
        before = existing.get(item["program_id"])
        merged = merged_item(item, before)
        if merged is None:
            report.unchanged += 1
            continue
        puts.append(merged)
        if before is None:
            report.created += 1
        else:
            report.updated += 1
    report.removed, report.removed_ids = len(removals), removals

    if not dry_run and puts:
        progress.phase("writing", len(puts))
        table.put_many(puts, progress)
    if not dry_run and removals:
        progress.phase("removing dropped programmes", len(removals))
        table.delete_many(removals, progress)
    return report


def merged_item(new: dict[str, str], existing: dict[str, Any] | None) -> dict[str, Any] | None:
    """The item to put, or None when the table holds it already as the importer writes it.

    Attributes the importer does not own are kept, except the notification status when
    the times moved: the stream function works that out again from the new times.
    """
    if existing is None:
        return dict(new)
    if all(existing.get(name) == new.get(name) for name in IMPORT_ATTRIBUTES):
        return None
    kept = {name: value for name, value in existing.items() if name not in IMPORT_ATTRIBUTES}
    if time_attributes(existing) != time_attributes(new):
        kept = {name: value for name, value in kept.items() if name not in STATUS_ATTRIBUTES}
    return {**kept, **new}


def _dropped(plan: ImportPlan, imported: list[dict[str, Any]]) -> list[str]:
    """Ids of imported programmes of the plan's channels, inside its window, not in it."""
    if plan.window is None:
        return []
    first, last = plan.window
    # A channel with rejected entries is not pruned: a programme whose start could not be
    # read is still in the listing, and its earlier copy must not be taken for dropped.
    unsure = {defect.channel_id for defect in plan.defects if defect.severity is Severity.ERROR}
    dropped = []
    for item in imported:
        program_id = item.get("program_id")
        channel_id = item.get("channel_id")
        if channel_id not in plan.channel_ids or channel_id in unsure:
            continue
        if program_id in plan.named_ids:
            continue
        try:
            start = parse_time(item.get("start_time"), "UTC").instant
        except TimeValueError:
            continue
        if first <= start < last and isinstance(program_id, str):
            dropped.append(program_id)
    return sorted(dropped)


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for offset in range(0, len(values), size):
        yield values[offset : offset + size]


# ------------------------------------------------------------------ command line


class _Refused(Exception):
    """A reason to stop before writing anything (exit status 2)."""


class RichProgress:
    """A progress bar on standard error."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task: Any = None

    def phase(self, description: str, total: int) -> None:
        """Show a new bar for this step."""
        if self._task is not None:
            self._bar.update(self._task, visible=False)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, count: int) -> None:
        """Move the current bar on."""
        if self._task is not None:
            self._bar.advance(self._task, count)

    def steps(self) -> list[tuple[str, int, int]]:
        """(description, done, total) of every step shown so far."""
        return [
            (task.description, int(task.completed), int(task.total)) for task in self._bar.tasks
        ]


@contextmanager
def terminal_progress(enabled: bool) -> Iterator[Progress]:
    """A rich progress bar on standard error when it is a terminal, else nothing."""
    if not enabled:
        yield NoProgress()
        return
    bar = Bar(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with bar:
        yield RichProgress(bar)


def local_table(outputs_file: Path) -> tuple[str, str, str]:
    """(endpoint, region, table name) of the local runtime, from its outputs file."""
    outputs = json.loads(outputs_file.read_text())
    return outputs["Endpoint"], outputs["Region"], outputs["TableName"]


def open_table(
    table_name: str | None, region: str | None, need: bool, workers: int = 4
) -> ListingTable | None:
    """The named table on AWS, else the local runtime's; None if neither and not `need`."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=max(10, workers)
    )
    if table_name:
        client = boto3.client("dynamodb", region_name=region, config=config)
        return ListingTable(client, table_name, workers=workers)
    if not OUTPUTS.exists():
        if need:
            raise _Refused(
                "the local runtime is not up (no .local/outputs.json): run 'make up', "
                "or pass --table NAME for a table on AWS"
            )
        return None
    try:
        endpoint, local_region, name = local_table(OUTPUTS)
    except (KeyError, ValueError) as error:
        raise _Refused(f"{OUTPUTS} is not the local runtime's outputs ({error})") from error
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=local_region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    )
    return ListingTable(client, name, workers=workers)


def _finite(kind: str, positive: bool = False) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {kind}") from None
        if not math.isfinite(value) or (positive and value <= 0):
            wanted = "a positive finite number" if positive else "a finite number"
            raise argparse.ArgumentTypeError(f"{text!r}: {kind} must be {wanted}")
        return value

    return convert


def _zone(text: str) -> str:
    try:
        load_zone(text)
    except TimeValueError as error:
        raise argparse.ArgumentTypeError(f"--default-timezone {error}") from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """The command's options."""
    parser = argparse.ArgumentParser(
        prog="telecast-import",
        description="Import an XMLTV listing into the programme table.",
        epilog="Exit status: 0 all accepted, 1 some programmes rejected, 2 nothing imported, "
        "3 stopped part-way through writing (run it again: importing is idempotent).",
    )
    parser.add_argument("file", type=Path, help="the XMLTV listing (.xml)")
    parser.add_argument(
        "--table", help="DynamoDB table on AWS (default credentials); default: the local runtime"
    )
    parser.add_argument("--region", help="AWS region of --table (default: from the environment)")
    parser.add_argument(
        "--default-timezone",
        type=_zone,
        default="UTC",
        metavar="ZONE",
        help="IANA zone of times written without an offset (default: UTC, as XMLTV says)",
    )
    parser.add_argument(
        "--lang", help="preferred language of titles and channel names (default: the first one)"
    )
    parser.add_argument(
        "--start-in",
        type=_finite("seconds"),
        metavar="SECONDS",
        help="shift the listing so its first programme starts this many seconds from now",
    )
    parser.add_argument(
        "--speed",
        type=_finite("speed", positive=True),
        metavar="FACTOR",
        help="compress the listing in time by this factor around its first start",
    )
    parser.add_argument(
        "--no-prune",
        dest="prune",
        action="store_false",
        help="keep programmes of the listing's channels and window that it no longer has",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    parser.add_argument(
        "--workers",
        type=int,
        choices=range(1, 33),
        default=4,
        metavar="N",
        help="batches sent at the same time, 1-32 (default: 4)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Import one listing; the exit status says whether anything was rejected."""
    args = build_parser().parse_args(argv)
    options = ImportOptions(
        default_zone=args.default_timezone,
        lang=args.lang,
        start_in=args.start_in,
        speed=args.speed,
        prune=args.prune,
        dry_run=args.dry_run,
    )
    try:
        data = args.file.read_bytes()
        plan = plan_import(data, options, datetime.now(UTC))
        table = open_table(args.table, args.region, not args.dry_run, args.workers)
        for defect in plan.defects:
            print(defect.describe(str(args.file)), file=sys.stderr)
        with terminal_progress(sys.stderr.isatty()) as progress:
            report = run_import(plan, table, options, progress)
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    except (ListingError, TableUnavailable, _Refused) as error:
        print(f"error: {args.file}: {error}; nothing was imported", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError, BatchIncomplete) as error:
        print(f"error: the import stopped part-way: {error}; run it again", file=sys.stderr)
        return 3
    print(describe(report, args.file.name, table.name if table else None))
    return report.exit_status


def describe(report: ImportReport, source: str, table_name: str | None) -> str:
    """What happened, in a few lines for people: target, window, counts."""
    lines = [f"{source} -> {table_name or '(no table: checked only)'}"]
    if report.plan.window:
        first, last = report.plan.window
        channels = ", ".join(sorted(report.plan.channel_ids))
        lines.append(f"window {to_iso_utc(first)} to {to_iso_utc(last)}; channels {channels}")
    if report.dry_run:
        lines.append("dry run: nothing was written; the counts say what an import would do")
    if not report.table_consulted:
        lines.append("the table was not read: every valid programme counts as new")
    lines.append(report.summary())
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

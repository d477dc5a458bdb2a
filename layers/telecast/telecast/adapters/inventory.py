"""Inventory adapter: read every programme and every schedule of the stack, in parallel."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from telecast.adapters.aws import error_code
from telecast.adapters.table import to_item

# The Scheduler API's largest ListSchedules page; how a page that may hide more grows.
AWS_PAGE_SIZE = 100
PAGE_GROWTH = 100
LARGEST_PAGE = 10_000_000


@dataclass(frozen=True)
class Listing:
    """The schedule names a group listing returned, and whether it is known to be whole."""

    names: tuple[str, ...]
    complete: bool = True


class Inventory:
    """Parallel Scan segments of the programme table; paginated listing of the group.

    `page_size` is the ListSchedules MaxResults: AWS accepts at most 100 and pages with
    NextToken. The local emulator never returns NextToken; see `list_schedule_names`.
    """

    def __init__(
        self,
        dynamodb: Any,
        scheduler: Any,
        table_name: str,
        group: str,
        total_segments: int = 4,
        page_size: int = AWS_PAGE_SIZE,
        workers: int = 8,
    ) -> None:
        self._dynamodb = dynamodb
        self._scheduler = scheduler
        self.table_name = table_name
        self.group = group
        self.total_segments = total_segments
        self.page_size = page_size
        self.workers = workers

    def scan_programmes(self) -> list[dict[str, Any]]:
        """Every item of the table (strongly consistent), read by parallel segments."""
        with ThreadPoolExecutor(max_workers=min(self.total_segments, 64)) as pool:
            segments = pool.map(self._scan_segment, range(self.total_segments))
            return [item for segment in segments for item in segment]

    def _scan_segment(self, segment: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Segment": segment,
            "TotalSegments": self.total_segments,
            "ConsistentRead": True,
        }
        while True:
            page = self._dynamodb.scan(**request)
            items.extend(to_item(image) for image in page.get("Items", []))
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return items
            request["ExclusiveStartKey"] = last_key

    def list_schedule_names(self) -> Listing:
        """The name of every schedule in the group, following NextToken to the end.

        A last page that is full yet carries no NextToken is asked for again, from the
        start, with a larger MaxResults: an emulator that never pages then answers with
        the whole group, while AWS (whose listing was whole) rejects the larger size.
        """
        page_size = self.page_size
        names, whole = self._list_pages(page_size)
        while not whole and page_size < LARGEST_PAGE:
            page_size = min(page_size * PAGE_GROWTH, LARGEST_PAGE)
            try:
                names, whole = self._list_pages(page_size)
            except ClientError as error:
                if error_code(error) != "ValidationException":
                    raise
                return Listing(names, complete=True)
        return Listing(names, whole)

    def _list_pages(self, page_size: int) -> tuple[tuple[str, ...], bool]:
        names: list[str] = []
        request: dict[str, Any] = {"GroupName": self.group, "MaxResults": page_size}
        while True:
            page = self._scheduler.list_schedules(**request)
            summaries = page.get("Schedules", [])
            names.extend(str(summary["Name"]) for summary in summaries)
            token = page.get("NextToken")
            if not token:
                return tuple(names), len(summaries) < page_size
            request["NextToken"] = token

    def get_schedule(self, name: str) -> dict[str, Any] | None:
        """The schedule's full definition, or None when it is not there."""
        try:
            reply = dict(self._scheduler.get_schedule(Name=name, GroupName=self.group))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        reply.pop("ResponseMetadata", None)
        return reply

    def get_schedules(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The definitions of the named schedules that exist, fetched on a bounded pool."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(wanted)))) as pool:
            found = pool.map(self.get_schedule, wanted)
            return {
                name: schedule
                for name, schedule in zip(wanted, found, strict=True)
                if schedule is not None
            }

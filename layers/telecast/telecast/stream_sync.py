"""Stream sync: carry out the schedule plan of every record in a DynamoDB stream batch.

Records of one programme are applied in stream order; different programmes run on a
bounded thread pool. A record that fails after the client's retries is reported by its
sequence number (and every later record of the same programme with it, so that the retry
applies them in order); invalid data is never a failure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)

from telecast.adapters.invoker import NotifierInvoker
from telecast.adapters.scheduler import SchedulerGateway
from telecast.adapters.table import ProgrammeTable, to_item
from telecast.programme import time_attributes
from telecast.schedule_plan import Delete, Plan, PublishNow, Upsert, plan_change, schedule_name

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


class EarlierRecordFailed(RuntimeError):
    """A later record of a programme whose earlier record failed: retried after it, in order."""


@dataclass
class StreamSync:
    """Applies stream records to schedules, status and the notifier."""

    scheduler: SchedulerGateway
    table: ProgrammeTable
    invoker: NotifierInvoker
    logger: Logger
    metrics: Metrics
    default_zone: str = "UTC"
    due_margin: timedelta = timedelta(seconds=5)
    max_workers: int = 16
    clock: Clock = utc_now

    def process_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        """Apply every record; return the partial batch response for the failed ones."""
        records = [DynamoDBRecord(raw) for raw in event.get("Records", [])]
        failures = self._apply_all(records)

        def replay_outcome(record: DynamoDBRecord) -> None:
            error = failures.get(_sequence_number(record))
            if error is not None:
                raise error

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        response = process_partial_response(
            event=event, record_handler=replay_outcome, processor=processor
        )
        return dict(response)

    def apply_record(self, record: DynamoDBRecord) -> Plan:
        """Plan and carry out one record; raises only for errors worth a retry."""
        stream = record.dynamodb
        if stream is None:
            raise ValueError("stream record carries no dynamodb section")
        raw = stream.raw_event
        program_id = str(to_item(raw.get("Keys") or {}).get("program_id", ""))
        new_item = to_item(raw["NewImage"]) if raw.get("NewImage") else None
        old_item = to_item(raw["OldImage"]) if raw.get("OldImage") else None
        event_name = record.event_name.name if record.event_name else ""
        plan = self._plan(event_name, program_id, old_item, new_item)
        if plan.actions or plan.status:
            current = self.table.get(program_id)
            if _superseded(current, new_item):
                # A duplicate of an old record, delivered after newer ones were applied,
                # must not undo them: bring the schedules to the item as it is now instead.
                self.logger.info(
                    "record superseded, syncing to the current item",
                    program_id=program_id,
                    sequence_number=_sequence_number(record),
                )
                event_name = "INSERT" if current is not None else "REMOVE"
                plan = self._plan(event_name, program_id, None, current)
        self._carry_out(plan)
        return plan

    def _plan(
        self,
        event_name: str,
        program_id: str,
        old_item: dict[str, Any] | None,
        new_item: dict[str, Any] | None,
    ) -> Plan:
        return plan_change(
            event_name=event_name,
            program_id=program_id,
            old_item=old_item,
            new_item=new_item,
            now=self.clock(),
            default_zone=self.default_zone,
            due_margin=self.due_margin,
        )

    def _apply_all(self, records: list[DynamoDBRecord]) -> dict[str, Exception]:
        by_programme: dict[str, list[DynamoDBRecord]] = defaultdict(list)
        for record in records:
            keys = record.dynamodb.raw_event.get("Keys", {}) if record.dynamodb else {}
            by_programme[str(keys.get("program_id", {}).get("S", ""))].append(record)

        failures: dict[str, Exception] = {}
        workers = max(1, min(self.max_workers, len(by_programme)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for outcome in pool.map(self._apply_in_order, by_programme.values()):
                failures.update(outcome)
        return failures

    def _apply_in_order(self, records: list[DynamoDBRecord]) -> dict[str, Exception]:
        failures: dict[str, Exception] = {}
        failed: Exception | None = None
        for record in records:
            sequence = _sequence_number(record)
            if failed is not None:
                failures[sequence] = EarlierRecordFailed(str(failed))
                continue
            try:
                self.apply_record(record)
            except Exception as error:  # noqa: BLE001 - any failure is reported, not raised
                self.logger.warning(
                    "record failed, reported for retry",
                    sequence_number=sequence,
                    event_name=record.event_name.name if record.event_name else None,
                    error=f"{type(error).__name__}: {error}",
                )
                failures[sequence] = failed = error
        return failures

    def _carry_out(self, plan: Plan) -> None:
        log: dict[str, Any] = {"program_id": plan.program_id, "outcome": plan.outcome}
        if plan.invalid_reason is not None:
            self.logger.warning("invalid programme", reason=plan.invalid_reason, **log)
            self.metrics.add_metric(name="InvalidProgrammes", unit=MetricUnit.Count, value=1)
        for action in plan.actions:
            self._do(action, log)
        if plan.status is not None:
            update = plan.status
            written = self.table.set_status(
                update.program_id, update.status, update.expected_times, self.clock(), update.error
            )
            if not written:
                self.logger.info("status not written: item changed meanwhile", **log)
        if not plan.actions and plan.status is None:
            self.logger.debug("nothing to do", **log)

    def _do(self, action: Upsert | Delete | PublishNow, log: dict[str, Any]) -> None:
        if isinstance(action, Upsert):
            request = action.request
            name = schedule_name(request.program_id, request.event_type)
            result = self.scheduler.upsert(request)
            self.logger.info(
                f"schedule {result}",
                schedule_name=name,
                edge=request.event_type.value,
                scheduled_for=request.scheduled_for.isoformat(),
                **log,
            )
            metric = "SchedulesCreated" if result == "created" else "SchedulesReplaced"
            self.metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        elif isinstance(action, Delete):
            name = schedule_name(action.program_id, action.edge)
            if self.scheduler.delete(name):
                self.logger.info("schedule deleted", schedule_name=name, edge=action.edge, **log)
                self.metrics.add_metric(name="SchedulesDeleted", unit=MetricUnit.Count, value=1)
        else:
            request = action.request
            self.invoker.invoke(request)
            self.logger.info(
                "edge due now, handed to notifier",
                edge=request.event_type.value,
                scheduled_for=request.scheduled_for.isoformat(),
                catch_up=request.catch_up,
                **log,
            )
            self.metrics.add_metric(name="ImmediateNotifications", unit=MetricUnit.Count, value=1)


def _superseded(current: dict[str, Any] | None, new_item: dict[str, Any] | None) -> bool:
    """True when the table no longer holds the times this record carries."""
    if current is None or new_item is None:
        return (current is None) != (new_item is None)
    return time_attributes(current) != time_attributes(new_item)


def _sequence_number(record: DynamoDBRecord) -> str:
    stream = record.dynamodb
    return str(stream.sequence_number) if stream and stream.sequence_number else ""

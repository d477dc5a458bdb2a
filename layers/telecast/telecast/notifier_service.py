"""Notifier: publish exactly one message for a due programme edge, or nothing if it is stale."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from telecast.adapters.publisher import TopicPublisher
from telecast.adapters.table import ProgrammeTable
from telecast.errors import InvalidProgramme
from telecast.notification import build_notification, stale_reason
from telecast.programme import Programme, parse_programme, time_attributes
from telecast.schedule_plan import Edge, NotificationRequest, Status, schedule_name
from telecast.stream_sync import utc_now
from telecast.time_rules import to_iso_utc


class NotDueYet(RuntimeError):
    """A request that arrived well before its instant: never announce early."""


@dataclass
class Notifier:
    """Reads the programme, guards against stale schedules, publishes, records the status."""

    table: ProgrammeTable
    publisher: TopicPublisher
    logger: Logger
    metrics: Metrics
    default_zone: str = "UTC"
    max_early_wait_seconds: float = 10.0
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep

    def wait_until_due(self, request: NotificationRequest) -> None:
        """Never announce early: hold a request a few seconds early, refuse one far earlier.

        Refusing raises, so nothing is recorded as done: Lambda retries it later, and the
        schedule's own invocation at the right time still publishes.
        """
        early = (request.scheduled_for - self.clock()).total_seconds()
        if early > self.max_early_wait_seconds:
            raise NotDueYet(
                f"{request.event_type.value} of {request.program_id} is due at "
                f"{to_iso_utc(request.scheduled_for)}, {early:.0f} s from now"
            )
        if early > 0:
            self.sleep(early)

    def notify(self, request: NotificationRequest) -> dict[str, Any]:
        """Publish the edge's message once; return what was done (cached by idempotency)."""
        log: dict[str, Any] = {
            "program_id": request.program_id,
            "edge": request.event_type.value,
            "schedule_name": schedule_name(request.program_id, request.event_type),
            "scheduled_for": to_iso_utc(request.scheduled_for),
        }
        item = self.table.get(request.program_id)
        programme = self._programme(item)
        reason = stale_reason(request, programme)
        if reason is not None or programme is None or item is None:
            self.logger.warning("stale schedule, nothing published", reason=reason, **log)
            self.metrics.add_metric(name="StaleSchedulesSkipped", unit=MetricUnit.Count, value=1)
            return {"published": False, "reason": reason}

        published_at = self.clock()
        notification = build_notification(request, programme, published_at)
        message_id = self.publisher.publish(notification)
        lateness_ms = notification.body["lateness_ms"]
        self.logger.info(
            "notification published", message_id=message_id, lateness_ms=lateness_ms, **log
        )
        self.metrics.add_metric(name="NotificationsPublished", unit=MetricUnit.Count, value=1)
        self.metrics.add_metric(
            name="NotificationLateness", unit=MetricUnit.Milliseconds, value=lateness_ms
        )
        self._record_status(request, item, published_at, log)
        return {"published": True, "message_id": message_id, "lateness_ms": lateness_ms}

    def _programme(self, item: dict[str, Any] | None) -> Programme | None:
        if item is None:
            return None
        try:
            return parse_programme(item, self.default_zone)
        except InvalidProgramme:
            return None

    def _record_status(
        self,
        request: NotificationRequest,
        item: dict[str, Any],
        published_at: datetime,
        log: dict[str, Any],
    ) -> None:
        status = Status.STARTED if request.event_type is Edge.START else Status.ENDED
        try:
            written = self.table.set_status(
                request.program_id, status, time_attributes(item), published_at
            )
        except Exception as error:  # noqa: BLE001 - the message is out; status is advisory
            self.logger.warning("status not recorded", error=str(error), **log)
            return
        if not written:
            self.logger.info("status not recorded: item changed meanwhile", **log)

"""EventBridge Scheduler adapter: create-or-replace and delete-if-there, by schedule name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from telecast.adapters.aws import error_code
from telecast.schedule_plan import NotificationRequest, schedule_name
from telecast.settings import StreamSettings


@dataclass(frozen=True)
class ScheduleTarget:
    """Where every schedule of the stack points, and how Scheduler retries it."""

    group: str
    notifier_arn: str
    role_arn: str
    dead_letter_arn: str | None = None
    retry_attempts: int = 10
    retry_max_age_seconds: int = 900


def target_from_settings(settings: StreamSettings) -> ScheduleTarget:
    """The target every schedule of the stack carries, from the stream function's settings."""
    return ScheduleTarget(
        group=settings.schedule_group,
        notifier_arn=settings.notifier_arn,
        role_arn=settings.scheduler_role_arn,
        dead_letter_arn=settings.dead_letter_arn,
        retry_attempts=settings.retry_attempts,
        retry_max_age_seconds=settings.retry_max_age_seconds,
    )


def schedule_definition(request: NotificationRequest, target: ScheduleTarget) -> dict[str, Any]:
    """The full schedule for one programme edge (UpdateSchedule replaces every field)."""
    at = request.scheduled_for.strftime("%Y-%m-%dT%H:%M:%S")
    lambda_target: dict[str, Any] = {
        "Arn": target.notifier_arn,
        "RoleArn": target.role_arn,
        "Input": request.to_json(),
        "RetryPolicy": {
            "MaximumRetryAttempts": target.retry_attempts,
            "MaximumEventAgeInSeconds": target.retry_max_age_seconds,
        },
    }
    if target.dead_letter_arn:
        lambda_target["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
    return {
        "Name": schedule_name(request.program_id, request.event_type),
        "GroupName": target.group,
        "ScheduleExpression": f"at({at})",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Target": lambda_target,
    }


class SchedulerGateway:
    """Idempotent schedule writes: safe to repeat for any stream record delivered twice."""

    def __init__(self, client: Any, target: ScheduleTarget) -> None:
        self._client = client
        self.target = target

    def upsert(self, request: NotificationRequest) -> str:
        """Create the schedule, or replace it whole if it exists; returns what happened."""
        definition = schedule_definition(request, self.target)
        try:
            self._client.create_schedule(**definition)
            return "created"
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise
        try:
            self._client.update_schedule(**definition)
            return "replaced"
        except ClientError as error:
            # It fired and deleted itself between the two calls: create it afresh.
            if error_code(error) != "ResourceNotFoundException":
                raise
        self._client.create_schedule(**definition)
        return "created"

    def delete(self, name: str) -> bool:
        """Delete the schedule; one that is already gone counts as deleted (returns False)."""
        try:
            self._client.delete_schedule(Name=name, GroupName=self.target.group)
            return True
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise

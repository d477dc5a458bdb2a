"""Settings: one typed object per function, read once from the environment at cold start."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from telecast.time_rules import TimeValueError, check_zone_name


class SettingsError(RuntimeError):
    """The function's environment is missing or has a bad variable: a deployment fault."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    variables: ClassVar[dict[str, str]] = {}

    default_timezone: str = "UTC"

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            return check_zone_name(value)
        except TimeValueError as error:
            raise ValueError(str(error)) from error

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """Build the settings from environment variables; the error names each bad one."""
        values: dict[str, Any] = {
            field: environ[variable]
            for field, variable in cls.variables.items()
            if environ.get(variable, "") != ""
        }
        try:
            return cls(**values)
        except ValidationError as error:
            problems = ", ".join(
                f"{cls.variables.get(str(issue['loc'][0]), issue['loc'][0])}: {issue['msg']}"
                for issue in error.errors()
            )
            raise SettingsError(f"{cls.__name__} is misconfigured: {problems}") from error


class StreamSettings(_Settings):
    """Settings of the stream function, which keeps schedules in step with the table."""

    variables: ClassVar[dict[str, str]] = {
        "table_name": "TABLE_NAME",
        "schedule_group": "SCHEDULE_GROUP_NAME",
        "notifier_arn": "NOTIFIER_FUNCTION_ARN",
        "scheduler_role_arn": "SCHEDULER_ROLE_ARN",
        "dead_letter_arn": "SCHEDULER_DEAD_LETTER_ARN",
        "default_timezone": "DEFAULT_TIMEZONE",
        "max_workers": "MAX_WORKERS",
        "due_margin_seconds": "DUE_MARGIN_SECONDS",
        "retry_attempts": "SCHEDULER_RETRY_ATTEMPTS",
        "retry_max_age_seconds": "SCHEDULER_RETRY_MAX_AGE_SECONDS",
    }

    table_name: str = Field(min_length=3)
    schedule_group: str = Field(min_length=1, max_length=64)
    notifier_arn: str = Field(pattern=r"^arn:")
    scheduler_role_arn: str = Field(pattern=r"^arn:")
    dead_letter_arn: str | None = Field(default=None, pattern=r"^arn:")
    max_workers: int = Field(default=16, ge=1, le=64)
    due_margin_seconds: float = Field(default=5.0, ge=0, le=60)
    retry_attempts: int = Field(default=10, ge=0, le=185)
    retry_max_age_seconds: int = Field(default=900, ge=60, le=86400)


class NotifierSettings(_Settings):
    """Settings of the notifier, which publishes one message per programme edge."""

    variables: ClassVar[dict[str, str]] = {
        "table_name": "TABLE_NAME",
        "topic_arn": "TOPIC_ARN",
        "idempotency_table": "IDEMPOTENCY_TABLE_NAME",
        "default_timezone": "DEFAULT_TIMEZONE",
        "max_early_wait_seconds": "MAX_EARLY_WAIT_SECONDS",
        "idempotency_ttl_seconds": "IDEMPOTENCY_TTL_SECONDS",
    }

    table_name: str = Field(min_length=3)
    topic_arn: str = Field(pattern=r"^arn:")
    idempotency_table: str | None = Field(default=None, min_length=3)
    max_early_wait_seconds: float = Field(default=10.0, ge=0, le=60)
    idempotency_ttl_seconds: int = Field(default=172800, ge=60)


class ReconcileSettings(StreamSettings):
    """Settings of reconcile: the stream function's, plus how hard to read and write."""

    variables: ClassVar[dict[str, str]] = {
        **StreamSettings.variables,
        "scan_segments": "SCAN_SEGMENTS",
        "reconcile_workers": "RECONCILE_WORKERS",
    }

    scan_segments: int = Field(default=4, ge=1, le=1000)
    reconcile_workers: int = Field(default=8, ge=1, le=64)


class ApiSettings(_Settings):
    """Settings of the API function, which reads and writes programmes over HTTP."""

    variables: ClassVar[dict[str, str]] = {
        "table_name": "TABLE_NAME",
        "default_timezone": "DEFAULT_TIMEZONE",
    }

    table_name: str = Field(min_length=3)

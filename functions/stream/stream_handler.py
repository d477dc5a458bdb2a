"""Stream function: keeps each programme's START and END schedules in step with the table."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from telecast.adapters.aws import client
from telecast.adapters.invoker import NotifierInvoker
from telecast.adapters.scheduler import SchedulerGateway, target_from_settings
from telecast.adapters.table import ProgrammeTable
from telecast.settings import StreamSettings
from telecast.stream_sync import StreamSync

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def stream_sync() -> StreamSync:
    """Build the service once per cold start from validated settings."""
    settings = StreamSettings.from_env(os.environ)
    return StreamSync(
        scheduler=SchedulerGateway(client("scheduler"), target_from_settings(settings)),
        table=ProgrammeTable(client("dynamodb"), settings.table_name),
        invoker=NotifierInvoker(client("lambda"), settings.notifier_arn),
        logger=logger,
        metrics=metrics,
        default_zone=settings.default_timezone,
        due_margin=timedelta(seconds=settings.due_margin_seconds),
        max_workers=settings.max_workers,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Apply a DynamoDB stream batch; failed records come back as batch item failures."""
    return stream_sync().process_batch(event)

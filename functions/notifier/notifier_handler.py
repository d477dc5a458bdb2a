"""Notifier function: invoked by a schedule, publishes one message to the SNS topic."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from telecast.adapters.aws import client
from telecast.adapters.publisher import TopicPublisher
from telecast.adapters.table import ProgrammeTable
from telecast.notification import InvalidRequest, parse_request
from telecast.notifier_service import Notifier
from telecast.settings import NotifierSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def count_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Count a delivery answered from the idempotency store, which published nothing."""
    key = idempotent_data.idempotency_key
    logger.info("duplicate delivery, nothing published", idempotency_key=key)
    metrics.add_metric(name="DuplicatesSuppressed", unit=MetricUnit.Count, value=1)
    return response


@cache
def notifier() -> tuple[Notifier, Callable[..., dict[str, Any]], IdempotencyConfig | None]:
    """Build the service once per cold start, wrapped in idempotency when a table is set."""
    settings = NotifierSettings.from_env(os.environ)
    service = Notifier(
        table=ProgrammeTable(client("dynamodb"), settings.table_name),
        publisher=TopicPublisher(client("sns"), settings.topic_arn),
        logger=logger,
        metrics=metrics,
        default_zone=settings.default_timezone,
        max_early_wait_seconds=settings.max_early_wait_seconds,
    )

    def publish_once(request: dict[str, Any]) -> dict[str, Any]:
        return service.notify(parse_request(request))

    if settings.idempotency_table is None:
        return service, publish_once, None
    config = IdempotencyConfig(
        event_key_jmespath="[program_id, event_type, scheduled_for]",
        expires_after_seconds=settings.idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
        response_hook=count_duplicate,
    )
    store = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=client("dynamodb")
    )
    guarded = idempotent_function(
        data_keyword_argument="request", persistence_store=store, config=config
    )(publish_once)
    return service, guarded, config


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Publish the programme edge named by the event, at most once per scheduled instant."""
    service, publish_once, config = notifier()
    try:
        request = parse_request(event)
    except InvalidRequest as error:
        # Raised, not swallowed: after Lambda's retries the event lands in the dead-letter
        # queue, where an operator can see it; nothing is dropped silently.
        logger.error("malformed notifier event", reason=str(error))
        metrics.add_metric(name="MalformedRequests", unit=MetricUnit.Count, value=1)
        raise
    if config is not None:
        config.register_lambda_context(context)
    service.wait_until_due(request)
    return publish_once(request=request.to_payload())

"""Test support: sample events, a fake Lambda context, and the stack's resources on moto."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
REGION = "us-east-1"

# Tests never reach AWS: fake credentials, and no X-Ray daemon.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "telecast",
        "POWERTOOLS_METRICS_NAMESPACE": "LiveTelecastStreamsTest",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, in the real AWS shape."""
    return dict(json.loads((EVENTS / name).read_text()))


@dataclass
class LambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/01/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def make_stack() -> dict[str, str]:
    """Create the template's data and messaging resources in moto; return their names."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName="programmes",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "program_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "program_id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    dynamodb.create_table(
        TableName="idempotency",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name="telecast-test")
    sns = boto3.client("sns", region_name=REGION)
    topic_arn = sns.create_topic(Name="notifications")["TopicArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="watch")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    dlq_url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return {
        "TABLE_NAME": "programmes",
        "STREAM_ARN": table["LatestStreamArn"],
        "IDEMPOTENCY_TABLE_NAME": "idempotency",
        "SCHEDULE_GROUP_NAME": "telecast-test",
        "TOPIC_ARN": topic_arn,
        "QUEUE_URL": queue_url,
        "NOTIFIER_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:notifier",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
        "SCHEDULER_DEAD_LETTER_ARN": dlq_arn,
        "DEFAULT_TIMEZONE": "UTC",
        "MAX_EARLY_WAIT_SECONDS": "0",
    }


def utc(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def unique_id(prefix: str) -> str:
    """A programme id no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def iso(instant: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

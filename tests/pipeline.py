"""The pipeline on moto: real stream records, real schedules, messages on a subscribed queue.

moto never fires a schedule and cannot run a Lambda without Docker, so `Pipeline` plays
both parts in-process: `fire` hands a schedule's Input to the notifier handler (and deletes
the schedule, as ActionAfterCompletion=DELETE does), and the stream function's asynchronous
hand-off to the notifier calls the notifier handler directly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

import notifier_handler
import stream_handler
from support import REGION, LambdaContext
from telecast.schedule_plan import NotificationRequest

_serializer = TypeSerializer()


class InProcessInvoker:
    """Stands in for Lambda's asynchronous invoke of the notifier."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.requests: list[dict[str, Any]] = []

    def invoke(self, request: NotificationRequest) -> None:
        payload = request.to_payload()
        self.requests.append(payload)
        self.pipeline.invoke_notifier(payload)


class Pipeline:
    """Both functions wired to moto resources created like the template's."""

    def __init__(self, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.env = env
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        stream_handler.stream_sync.cache_clear()
        notifier_handler.notifier.cache_clear()
        self.sync = stream_handler.stream_sync()
        self.invoker = InProcessInvoker(self)
        self.sync.invoker = self.invoker  # type: ignore[assignment]
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.scheduler = boto3.client("scheduler", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self._streams = boto3.client("dynamodbstreams", region_name=REGION)
        self._iterator: str | None = None
        self.responses: list[dict[str, Any]] = []

    # ------------------------------------------------------------ table
    def put(self, item: dict[str, Any]) -> None:
        image = {key: _serializer.serialize(value) for key, value in item.items()}
        self.dynamodb.put_item(TableName=self.env["TABLE_NAME"], Item=image)

    def update(self, program_id: str, **attributes: Any) -> None:
        item = self.get(program_id) or {"program_id": program_id}
        item.update(attributes)
        self.put({key: value for key, value in item.items() if value is not None})

    def delete(self, program_id: str) -> None:
        self.dynamodb.delete_item(
            TableName=self.env["TABLE_NAME"], Key={"program_id": {"S": program_id}}
        )

    def get(self, program_id: str) -> dict[str, Any] | None:
        return self.sync.table.get(program_id)

    # ------------------------------------------------------------ stream
    def pending_records(self) -> list[dict[str, Any]]:
        """Stream records written since the last call, in the Lambda event shape."""
        arn = self.env["STREAM_ARN"]
        if self._iterator is None:
            shard = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
            self._iterator = self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        reply = self._streams.get_records(ShardIterator=self._iterator)
        self._iterator = reply.get("NextShardIterator", self._iterator)
        records = []
        for raw in reply["Records"]:
            record = dict(raw)
            stream = dict(record["dynamodb"])
            created = stream.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                stream["ApproximateCreationDateTime"] = created.timestamp()
            record["dynamodb"] = stream
            record["eventSourceARN"] = arn
            records.append(record)
        return records

    def run_stream(self, records: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Hand the pending (or given) records to the stream handler as one batch."""
        batch = self.pending_records() if records is None else records
        response = stream_handler.handler({"Records": batch}, LambdaContext())
        self.responses.append(response)
        return response

    def settle(self) -> None:
        """Process stream records until the stream is quiet (status writes make records)."""
        for _ in range(5):
            records = self.pending_records()
            if not records:
                return
            self.run_stream(records)

    # ------------------------------------------------------------ scheduler
    def schedules(self) -> dict[str, dict[str, Any]]:
        group = self.env["SCHEDULE_GROUP_NAME"]
        names = [
            summary["Name"]
            for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=group)
            for summary in page["Schedules"]
        ]
        found = {}
        for name in names:
            schedule = self.scheduler.get_schedule(Name=name, GroupName=group)
            schedule.pop("ResponseMetadata", None)
            found[name] = schedule
        return found

    def fire(self, name: str) -> dict[str, Any]:
        """Do what Scheduler does when the schedule is due: invoke the target, then delete."""
        group = self.env["SCHEDULE_GROUP_NAME"]
        schedule = self.scheduler.get_schedule(Name=name, GroupName=group)
        self.scheduler.delete_schedule(Name=name, GroupName=group)
        return self.invoke_notifier(json.loads(schedule["Target"]["Input"]))

    def fire_all(self) -> None:
        """Fire every schedule in the order of its at() time."""
        pending = sorted(self.schedules().items(), key=lambda kv: kv[1]["ScheduleExpression"])
        for name, _ in pending:
            self.fire(name)

    def invoke_notifier(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Invoke the notifier as Scheduler does: at the payload's instant (or now, if later)."""
        service, _, _ = notifier_handler.notifier()
        try:
            due = datetime.fromisoformat(str(payload["scheduled_for"]).replace("Z", "+00:00"))
            service.clock = lambda: max(datetime.now(UTC), due)
        except (KeyError, ValueError):
            service.clock = lambda: datetime.now(UTC)
        result: dict[str, Any] = notifier_handler.handler(payload, LambdaContext())
        return result

    # ------------------------------------------------------------ topic
    def messages(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """Every message that reached the subscribed queue so far (and removes them)."""
        received = []
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.env["QUEUE_URL"],
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
            )
            batch = reply.get("Messages", [])
            if not batch:
                return received
            for message in batch:
                attributes = {
                    name: value["StringValue"]
                    for name, value in message.get("MessageAttributes", {}).items()
                }
                received.append((json.loads(message["Body"]), attributes))
                self.sqs.delete_message(
                    QueueUrl=self.env["QUEUE_URL"], ReceiptHandle=message["ReceiptHandle"]
                )

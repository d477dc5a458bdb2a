"""Run 3: notification lateness on the local runtime (the real template on ministack).

Inserts 200 programmes whose 400 edges (START and END) fall due within one 20-second
window, and measures for each message: the time it reached a queue subscribed to the topic
(SQS SentTimestamp) minus its scheduled time, the time this script received it, and the
time the notifier published it. Reports median, p95 and worst, and counts each function's
invocations from their CloudWatch Logs REPORT lines.

Uses the runtime that TELECAST_PORT names if it is up (and was deployed on that port),
otherwise starts it like `make up` and stops it again at the end. Its own queue is
subscribed for the run and removed afterwards, so nothing another reader (`make tail`,
the e2e tests) waits for is consumed.

    python -m benchmarks.lateness [--programmes 200] [--window 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from benchmarks.stats import summary
from benchmarks.workload import iso_z
from telecast.schedule_plan import Edge, schedule_name
from telecast_ops.local_runtime import (
    CREDENTIALS,
    Runtime,
    runtime_from_env,
    stop_emulator,
    up,
)

EDGES_PER_PROGRAMME = 2
HEADROOM = 10
PROBE_WAIT_SECONDS = 45.0


def _log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@contextmanager
def local_stack(runtime: Runtime, cap: int) -> Iterator[tuple[dict[str, str], bool]]:
    """The deployed stack's outputs and whether this run started the runtime (and stops it)."""
    outputs: dict[str, str] = {}
    if runtime.healthy() and runtime.outputs_file.exists():
        outputs = json.loads(runtime.outputs_file.read_text())
    if outputs.get("Endpoint") == runtime.endpoint:
        _log(f"using the local runtime already up on {runtime.endpoint}")
        yield outputs, False
        return
    _log(f"local runtime not up on {runtime.endpoint}: starting it (make up)")
    # ministack starts one worker process per concurrent invocation and queues none: on a
    # small machine a burst of cold starts slows every invocation, which starts more workers.
    # A cap on concurrent invocations stops that spiral (an invocation over it is dropped).
    os.environ.setdefault("LAMBDA_ACCOUNT_CONCURRENCY", str(cap))
    outputs, started = up(runtime)
    try:
        yield outputs, started
    finally:
        if started:
            stop_emulator(runtime)


@dataclass
class Inbox:
    """A queue of this run's own, subscribed to the topic, drained by a background thread."""

    sqs: Any
    queue_url: str
    received: list[tuple[float, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                reply = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    AttributeNames=["SentTimestamp"],
                )
            except Exception as error:  # noqa: BLE001 - keep polling through a hiccup
                self.errors.append(repr(error))
                time.sleep(0.5)
                continue
            now = time.time()
            messages = reply.get("Messages", [])
            with self._lock:
                for message in messages:
                    self.received.append(
                        (now, json.loads(message["Body"]), message.get("Attributes", {}))
                    )
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(messages)
                    ],
                )

    def count(self, prefix: str) -> int:
        """Messages received so far for programmes whose id starts with `prefix`."""
        with self._lock:
            return sum(
                body.get("program_id", "").startswith(prefix) for _, body, _ in self.received
            )

    def close(self) -> None:
        """Stop polling."""
        self._stop.set()
        self._thread.join(timeout=5)


@contextmanager
def own_inbox(runtime: Runtime, topic_arn: str, name: str) -> Iterator[Inbox]:
    """Subscribe a fresh queue to the topic for the run; unsubscribe and delete it after."""
    sqs, sns = runtime.client("sqs"), runtime.client("sns")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    inbox = Inbox(sqs, queue_url)
    try:
        yield inbox
    finally:
        inbox.close()
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=queue_url)


def prewarm(runtime: Runtime, outputs: dict[str, str], run_id: str, notifiers: int) -> float:
    """Start `notifiers` notifier environments (stale requests: nothing is published)."""
    lambda_ = boto3.client(
        "lambda",
        endpoint_url=runtime.endpoint,
        region_name=outputs["Region"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(
            max_pool_connections=notifiers + 1, read_timeout=120, retries={"mode": "standard"}
        ),
    )
    stale_at = iso_z(datetime.now(UTC) - timedelta(hours=1))

    def invoke(index: int) -> None:
        payload = {
            "program_id": f"{run_id}-warmup-{index}",
            "event_type": "START",
            "scheduled_for": stale_at,
        }
        lambda_.invoke(
            FunctionName=outputs["NotifierFunctionName"], Payload=json.dumps(payload).encode()
        )

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=notifiers) as pool:
        list(pool.map(invoke, range(notifiers)))
    return time.monotonic() - began


class TriggerStalled(RuntimeError):
    """The table's stream delivered nothing to the stream function."""


def check_trigger(runtime: Runtime, outputs: dict[str, str], run_id: str, wait: float) -> float:
    """Write a probe programme and wait until the stream function has scheduled it."""
    dynamodb, table = runtime.client("dynamodb"), outputs["TableName"]
    probe = window_items(f"{run_id}-probe", 1, datetime.now(UTC) + timedelta(days=1), 20)[0]
    key = {"program_id": {"S": probe["program_id"]}}
    began = time.monotonic()
    dynamodb.put_item(TableName=table, Item=_image(probe))
    try:
        while time.monotonic() - began < wait:
            item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item", {})
            if item.get("notification_status", {}).get("S") == "SCHEDULED":
                return time.monotonic() - began
            time.sleep(0.5)
    finally:
        dynamodb.delete_item(TableName=table, Key=key)
    raise TriggerStalled(
        f"the stream function did not schedule a probe programme within {wait:.0f} s: the "
        "table's stream does not reach it (see .local/ministack.log; `make down`, `make up`)"
    )


def window_items(run_id: str, count: int, first: datetime, window: int) -> list[dict[str, Any]]:
    """`count` programmes whose starts and ends all fall within `window` seconds of `first`."""
    half = window // 2
    items = []
    for index in range(count):
        start = first + timedelta(seconds=index % half)
        items.append(
            {
                "program_id": f"{run_id}-{index:04d}",
                "title": f"Benchmark programme {index}",
                "channel": f"Channel {index % 12 + 1}",
                "start_time": iso_z(start),
                "end_time": iso_z(start + timedelta(seconds=half)),
            }
        )
    return items


def _write(dynamodb: Any, table: str, requests: list[dict[str, Any]]) -> None:
    for index in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[index : index + 25]}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def _scheduled(dynamodb: Any, table: str, ids: list[str]) -> int:
    """How many of the programmes already carry notification_status SCHEDULED."""
    done = 0
    for index in range(0, len(ids), 100):
        keys = [{"program_id": {"S": pid}} for pid in ids[index : index + 100]]
        reply = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys}})
        done += sum(
            item.get("notification_status", {}).get("S") == "SCHEDULED"
            for item in reply["Responses"][table]
        )
    return done


def _invocations(runtime: Runtime, function: str, since_ms: int) -> dict[str, Any]:
    """Invocations of a function since `since_ms`, from its REPORT lines, and their durations."""
    logs = runtime.client("logs")
    kwargs: dict[str, Any] = {
        "logGroupName": f"/aws/lambda/{function}",
        "startTime": since_ms,
        "filterPattern": "REPORT",
    }
    durations: list[float] = []
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                message = event["message"]
                if message.startswith("REPORT") and "Duration: " in message:
                    durations.append(float(message.split("Duration: ")[1].split(" ")[0]))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return {"invocations": 0}
    result: dict[str, Any] = {
        "invocations": len(durations),
        "throttles": _throttles(runtime, function, since_ms),
    }
    if durations:
        result["emulator_duration_ms"] = summary(durations, digits=1)
    return result


def _throttles(runtime: Runtime, function: str, since_ms: int) -> float | None:
    """Invocations the emulator refused at its concurrency cap (its AWS/Lambda metric)."""
    try:
        reply = runtime.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Throttles",
            Dimensions=[{"Name": "FunctionName", "Value": function}],
            StartTime=datetime.fromtimestamp(since_ms / 1000 - 60, UTC),
            EndTime=datetime.now(UTC) + timedelta(minutes=1),
            Period=60,
            Statistics=["Sum"],
        )
    except ClientError:
        return None
    return float(sum(point.get("Sum", 0.0) for point in reply.get("Datapoints", [])))


def measure(
    runtime: Runtime,
    outputs: dict[str, str],
    programmes: int,
    window: int,
    lead: int,
    warm: int,
) -> dict[str, Any]:
    """Insert the programmes, wait for every message, and summarise their lateness."""
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    dynamodb, table = runtime.client("dynamodb"), outputs["TableName"]
    with own_inbox(runtime, outputs["TopicArn"], run_id) as inbox:
        _log("checking that the table's stream reaches the stream function")
        probe_seconds = check_trigger(runtime, outputs, run_id, PROBE_WAIT_SECONDS)
        _log(f"pre-warming {warm} notifier environments")
        warm_seconds = prewarm(runtime, outputs, run_id, warm)

        since_ms = int(time.time() * 1000)
        first = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        items = window_items(run_id, programmes, first, window)
        ids = [item["program_id"] for item in items]
        _log(f"inserting {programmes} programmes, edges due from {iso_z(first)} over {window} s")
        inserted = time.monotonic()
        _write(dynamodb, table, [{"PutRequest": {"Item": _image(item)}} for item in items])
        try:
            margin_deadline = first - timedelta(seconds=5)
            scheduled = 0
            while datetime.now(UTC) < margin_deadline:
                scheduled = _scheduled(dynamodb, table, ids)
                if scheduled == programmes:
                    break
                time.sleep(1)
            ready_seconds = time.monotonic() - inserted

            expected = programmes * EDGES_PER_PROGRAMME
            deadline = first + timedelta(seconds=window + 60)
            while inbox.count(run_id) < expected and datetime.now(UTC) < deadline:
                time.sleep(0.5)
            time.sleep(2)  # let the stream settle the status writes of the last messages
            received = [
                (at, body, attributes)
                for at, body, attributes in list(inbox.received)
                if body.get("program_id", "").startswith(run_id)
            ]
            pending = _pending_schedules(runtime, outputs, received, ids)
            stream = _invocations(runtime, outputs["StreamFunctionName"], since_ms)
            notifier = _invocations(runtime, outputs["NotifierFunctionName"], since_ms)
        finally:
            # Removing the programmes removes any schedule not fired yet, too.
            deletes = [{"DeleteRequest": {"Key": {"program_id": {"S": p}}}} for p in ids]
            _write(dynamodb, table, deletes)
        poll_errors = list(inbox.errors)

    return _summarise(
        received,
        expected,
        {
            "programmes": programmes,
            "window_seconds": window,
            "lead_seconds": lead,
            "prewarmed_notifiers": warm,
            "prewarm_seconds": round(warm_seconds, 1),
            "probe_scheduled_after_seconds": round(probe_seconds, 1),
            "scheduled_before_window": scheduled,
            "seconds_until_all_scheduled": round(ready_seconds, 1),
            "stream_function": stream,
            "notifier_function": notifier,
            "poll_errors": poll_errors[:5],
            "schedules_left_at_deadline": pending,
        },
    )


def _pending_schedules(
    runtime: Runtime,
    outputs: dict[str, str],
    received: list[tuple[float, dict[str, Any], dict[str, str]]],
    ids: list[str],
) -> int:
    """How many edges that sent no message still have their schedule waiting."""
    seen = {(body["program_id"], body["event_type"]) for _, body, _ in received}
    scheduler = runtime.client("scheduler")
    left = 0
    for program_id in ids:
        for edge in Edge:
            if (program_id, edge.value) in seen:
                continue
            try:
                scheduler.get_schedule(
                    Name=schedule_name(program_id, edge), GroupName=outputs["ScheduleGroupName"]
                )
                left += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
    return left


def _image(item: dict[str, Any]) -> dict[str, Any]:
    return {name: {"S": str(value)} for name, value in item.items()}


def _summarise(
    received: list[tuple[float, dict[str, Any], dict[str, str]]],
    expected: int,
    facts: dict[str, Any],
) -> dict[str, Any]:
    arrival, polled, published = [], [], []
    edges: Counter[tuple[str, str]] = Counter()
    for at, body, attributes in received:
        due = _instant(body["scheduled_for"]).timestamp()
        edges[(body["program_id"], body["event_type"])] += 1
        if "SentTimestamp" in attributes:
            arrival.append(int(attributes["SentTimestamp"]) / 1000 - due)
        polled.append(at - due)
        published.append(_instant(body["published_at"]).timestamp() - due)
    per_second: Counter[int] = Counter()
    for _, body, _ in received:
        per_second[int(_instant(body["scheduled_for"]).timestamp())] += 1
    first = min(per_second, default=0)
    result: dict[str, Any] = {
        **facts,
        "received_per_scheduled_second": [
            per_second[first + k] for k in range(facts["window_seconds"])
        ],
        "expected_messages": expected,
        "received_messages": len(received),
        "distinct_edges": len(edges),
        "duplicates": sum(count - 1 for count in edges.values()),
        "missing": expected - len(edges),
    }
    if received:
        result["lateness_seconds"] = {
            "queue_arrival": summary(arrival) if arrival else None,
            "received_by_reader": summary(polled),
            "published_by_notifier": summary(published),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: prints (or writes) the result as JSON."""
    parser = argparse.ArgumentParser(prog="benchmarks.lateness", description=__doc__)
    parser.add_argument("--programmes", type=int, default=200)
    parser.add_argument("--window", type=int, default=20, help="seconds the edges span")
    parser.add_argument("--lead", type=int, default=25, help="seconds before the window opens")
    parser.add_argument("--prewarm", type=int, default=30, help="notifier environments")
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    runtime = runtime_from_env()
    began = time.monotonic()
    cap = args.prewarm + HEADROOM
    status = 0
    try:
        with local_stack(runtime, cap) as (outputs, started):
            result = measure(
                runtime, outputs, args.programmes, args.window, args.lead, args.prewarm
            )
        result["runtime_started_by_benchmark"] = started
        result["concurrency_cap"] = cap if started else "as the running emulator was started"
    except TriggerStalled as error:
        result, status = {"error": str(error)}, 2
    result["endpoint"] = runtime.endpoint
    result["seconds"] = round(time.monotonic() - began, 1)
    text = json.dumps(result, indent=2)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        print(text)
    if status:
        print(f"error: {result['error']}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

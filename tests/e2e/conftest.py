"""End-to-end fixtures: the real template deployed on the local emulator (ministack).

The session deploys the current code with the same path `make up` takes (reusing a running
emulator), subscribes a queue of its own to the topic so that a `make tail` in another
terminal cannot steal its messages, and stops the emulator afterwards if it started it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from telecast_ops.local_runtime import Runtime, runtime_from_env, stop_emulator, up

pytestmark = pytest.mark.e2e


class Inbox:
    """Every notification the session's own queue received, by programme id."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self.queue_url = queue_url
        self._messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._receive()
            except Exception as error:  # noqa: BLE001 - keep polling through a hiccup
                self.errors.append(repr(error))
                time.sleep(0.5)

    def _receive(self) -> None:
        reply = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        )
        for message in reply.get("Messages", []):
            received = datetime.now(UTC)
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            try:
                body = json.loads(message["Body"])
                program_id = str(body["program_id"])
            except (ValueError, KeyError, TypeError):
                self.errors.append(f"not a notification: {message['Body'][:200]}")
                continue
            body["_received_at"] = received
            body["_attributes"] = {
                name: value.get("StringValue")
                for name, value in message.get("MessageAttributes", {}).items()
            }
            with self._lock:
                self._messages[program_id].append(body)

    def of(self, program_id: str) -> list[dict[str, Any]]:
        """Messages received so far for one programme, in arrival order."""
        with self._lock:
            return list(self._messages[program_id])

    def wait_for(self, program_id: str, count: int, timeout: float) -> list[dict[str, Any]]:
        """Wait until `count` messages arrived for the programme (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.of(program_id)) < count:
            time.sleep(0.2)
        return self.of(program_id)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def local_runtime() -> Runtime:
    return runtime_from_env()


@pytest.fixture(scope="session")
def local_stack(local_runtime: Runtime) -> Iterator[dict[str, str]]:
    """The deployed stack's outputs (.local/outputs.json), deploying the current code."""
    outputs, started = up(local_runtime)
    yield outputs
    if started:
        stop_emulator(local_runtime)


@pytest.fixture(scope="session")
def inbox(local_runtime: Runtime, local_stack: dict[str, str]) -> Iterator[Inbox]:
    """A queue of the test session's own, subscribed to the topic with raw delivery."""
    sqs, sns = local_runtime.client("sqs"), local_runtime.client("sns")
    queue_url = sqs.create_queue(QueueName=f"e2e-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=local_stack["TopicArn"],
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    inbox = Inbox(sqs, queue_url)
    yield inbox
    inbox.close()
    sns.unsubscribe(SubscriptionArn=subscription)
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture(scope="session")
def dynamodb(local_runtime: Runtime, local_stack: dict[str, str]) -> Any:
    return local_runtime.client("dynamodb")


@pytest.fixture(scope="session")
def scheduler(local_runtime: Runtime, local_stack: dict[str, str]) -> Any:
    return local_runtime.client("scheduler")

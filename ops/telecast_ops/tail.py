"""Print notifications from an SQS queue subscribed to the topic, as they arrive."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

OUTPUTS = Path(__file__).resolve().parents[2] / ".local" / "outputs.json"


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class NotificationTail:
    """Long-polls a queue that receives the topic's messages with raw delivery."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self.queue_url = queue_url

    def receive(self, wait_seconds: int = 1) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
        """Yield (body, attributes) for each message received in one poll, deleting it."""
        reply = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
        for message in reply.get("Messages", []):
            received = datetime.now(UTC)
            body = json.loads(message["Body"])
            body["_received_at"] = received.isoformat()
            attributes = {
                name: value.get("StringValue", "")
                for name, value in message.get("MessageAttributes", {}).items()
            }
            self._sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            yield body, attributes

    def follow(self, out: Any = sys.stdout) -> None:
        """Print every notification until interrupted."""
        while True:
            for body, _ in self.receive(wait_seconds=1):
                print(format_line(body), file=out, flush=True)


def format_line(body: dict[str, Any]) -> str:
    """One line per notification: received time, event, programme, lateness."""
    received = _parse_instant(body["_received_at"])
    late = (received - _parse_instant(body["scheduled_for"])).total_seconds()
    title = body.get("title") or "(untitled)"
    channel = f" on {body['channel']}" if body.get("channel") else ""
    return (
        f"{received:%H:%M:%S}  {body['event_type']:<5}  {body['program_id']}  {title}{channel}"
        f"  (scheduled {body['scheduled_for']}, {late:+.1f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    """Follow the local runtime's notifications queue (or one named with --queue-url)."""
    parser = argparse.ArgumentParser(prog="telecast-tail", description=__doc__)
    parser.add_argument("--queue-url", help="queue to follow (default: the local runtime's)")
    args = parser.parse_args(argv)
    if args.queue_url:
        sqs, queue_url = boto3.client("sqs"), args.queue_url
    else:
        if not OUTPUTS.exists():
            print("error: the local runtime is not up (no .local/outputs.json): run 'make up'")
            return 1
        outputs = json.loads(OUTPUTS.read_text())
        sqs = boto3.client(
            "sqs",
            endpoint_url=outputs["Endpoint"],
            region_name=outputs["Region"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        queue_url = outputs["NotificationsQueueUrl"]
    try:
        NotificationTail(sqs, queue_url).follow()
    except KeyboardInterrupt:
        return 0
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot read the notifications queue: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""telecast-redrive: replay the notifications that ended in the dead-letter queue.

Two kinds of dead letter land in the stack's DeadLetterQueue: Scheduler's (the notifier
could not be invoked; the body is the schedule's Input) and Lambda's asynchronous
on-failure records (the notifier ran and failed; the Input is under `requestPayload`).
Each is handed to the notifier again, synchronously. Replaying is safe: the notifier is
idempotent per programme edge and publishes nothing for a programme that changed or went.
A message is deleted only once its replay succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

OUTPUTS = Path(__file__).resolve().parents[2] / ".local" / "outputs.json"
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class RedriveReport:
    """What a redrive found and did."""

    found: int = 0
    published: int = 0
    skipped: int = 0
    failed: int = 0
    unreadable: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"dead letters: {self.found} found, {self.published} published, "
            f"{self.skipped} skipped (stale or already sent), {self.failed} failed, "
            f"{self.unreadable} unreadable"
        )


def notifier_payload(body: str) -> dict[str, Any] | None:
    """The notifier's input inside a dead letter of either kind, or None if it has none."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and isinstance(document.get("requestPayload"), dict):
        document = document["requestPayload"]
    if isinstance(document, dict) and {"program_id", "event_type", "scheduled_for"} <= set(
        document
    ):
        return document
    return None


def redrive(sqs: Any, queue_url: str, invoke: Invoke, dry_run: bool = False) -> RedriveReport:
    """Replay every dead letter once; delete those whose replay succeeded."""
    report = RedriveReport()
    seen: set[str] = set()
    while True:
        reply = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30 if dry_run else 60,
            MessageAttributeNames=["All"],
        )
        fresh = [m for m in reply.get("Messages", []) if m["MessageId"] not in seen]
        if not fresh:
            return report
        for message in fresh:
            seen.add(message["MessageId"])
            report.found += 1
            _replay(sqs, queue_url, message, invoke, dry_run, report)


def _replay(
    sqs: Any,
    queue_url: str,
    message: dict[str, Any],
    invoke: Invoke,
    dry_run: bool,
    report: RedriveReport,
) -> None:
    payload = notifier_payload(message["Body"])
    if payload is None:
        report.unreadable += 1
        report.lines.append(f"unreadable message {message['MessageId']} left in the queue")
        return
    label = f"{payload['program_id']} {payload['event_type']} {payload['scheduled_for']}"
    if dry_run:
        report.lines.append(f"would replay {label}")
        return
    try:
        result = invoke(payload)
    except Exception as error:  # noqa: BLE001 - kept in the queue and reported
        report.failed += 1
        report.lines.append(f"failed {label}: {error}")
        return
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    if result.get("published"):
        report.published += 1
        report.lines.append(f"published {label}")
    else:
        report.skipped += 1
        report.lines.append(f"skipped {label}: {result.get('reason', 'already published')}")


def lambda_invoker(client: Any, function: str) -> Invoke:
    """Invoke the notifier synchronously; raise with its error when it fails."""

    def invoke(payload: dict[str, Any]) -> dict[str, Any]:
        response = client.invoke(
            FunctionName=function,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        result = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            raise RuntimeError(result.get("errorMessage", response["FunctionError"]))
        return result if isinstance(result, dict) else {}

    return invoke


def _targets(args: argparse.Namespace) -> tuple[Any, Any, dict[str, str]]:
    if args.stack:
        session = boto3.session.Session(region_name=args.region)
        stack = session.client("cloudformation").describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0]["Outputs"]}
        return session.client("sqs"), session.client("lambda"), outputs
    if not OUTPUTS.exists():
        raise SystemExit("error: the local runtime is not up (no .local/outputs.json)")
    outputs = json.loads(OUTPUTS.read_text())
    local = {
        "endpoint_url": outputs["Endpoint"],
        "region_name": outputs["Region"],
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    return boto3.client("sqs", **local), boto3.client("lambda", **local), outputs


def main(argv: list[str] | None = None) -> int:
    """Replay the dead letters of the local runtime, or of a stack with --stack."""
    parser = argparse.ArgumentParser(prog="telecast-redrive", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", help="a deployed stack's name (default: the local runtime)")
    parser.add_argument("--region", help="the stack's region (default: your AWS config)")
    parser.add_argument("--dry-run", action="store_true", help="list, replay nothing")
    args = parser.parse_args(argv)
    try:
        sqs, lambda_client, outputs = _targets(args)
        invoke = lambda_invoker(lambda_client, outputs["NotifierFunctionArn"])
        report = redrive(sqs, outputs["DeadLetterQueueUrl"], invoke, args.dry_run)
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot reach the dead-letter queue: {error}", file=sys.stderr)
        return 2
    for line in report.lines:
        print(line)
    print(report.summary())
    stream_failures = sqs.get_queue_attributes(
        QueueUrl=outputs["StreamFailureQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]["ApproximateNumberOfMessages"]
    if int(stream_failures):
        print(
            f"stream failure queue: {stream_failures} given-up batches; run "
            "'make reconcile' to bring the schedules in line with the table"
        )
    return 1 if report.failed or report.unreadable else 0


if __name__ == "__main__":
    sys.exit(main())

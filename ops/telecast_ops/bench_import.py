"""Measure the XMLTV import rate on a synthetic listing (programmes per second).

python -m telecast_ops.bench_import --moto            in-process moto, nothing outside
python -m telecast_ops.bench_import                   the local runtime's table
python -m telecast_ops.bench_import --table NAME      a table on AWS

The listing is dated 2090 on channels `bench-NN.test`, so it never notifies by accident;
on a real table its items are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import quoteattr

import boto3

from telecast_ops.importer import (
    ImportOptions,
    ListingTable,
    NoProgress,
    open_table,
    plan_import,
    run_import,
)

REGION = "us-east-1"
FIRST_START = datetime(2090, 1, 1, tzinfo=UTC)


def synthetic_listing(count: int, channels: int = 10, minutes: int = 30) -> bytes:
    """An XMLTV listing of `count` back-to-back programmes spread over `channels` channels."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<tv>"]
    for number in range(channels):
        lines.append(
            f'<channel id="bench-{number:02d}.test">'
            f"<display-name>Bench {number:02d}</display-name></channel>"
        )
    for index in range(count):
        channel, slot = index % channels, index // channels
        start = FIRST_START + timedelta(minutes=minutes * slot)
        stop = start + timedelta(minutes=minutes)
        title = quoteattr(f"番組 {index}")[1:-1]
        lines.append(
            f'<programme start="{start:%Y%m%d%H%M%S} +0000" stop="{stop:%Y%m%d%H%M%S} +0000" '
            f'channel="bench-{channel:02d}.test"><title lang="ja">{title}</title></programme>'
        )
    lines.append("</tv>")
    return "\n".join(lines).encode()


@contextmanager
def moto_table(workers: int = 4) -> Iterator[ListingTable]:
    """A programme table with a stream, in-process on moto."""
    from moto import mock_aws  # noqa: PLC0415 - moto is only needed for this mode

    with mock_aws():
        client = boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName="programmes",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "program_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "program_id", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield ListingTable(client, "programmes", workers=workers)


def measure(data: bytes, table: ListingTable, label: str) -> list[str]:
    """Import once, print the counts and the rate; return the ids written."""
    options = ImportOptions()
    began, cpu_began = time.perf_counter(), time.process_time()
    plan = plan_import(data, options, datetime.now(UTC))
    parsed = time.perf_counter()
    report = run_import(plan, table, options)
    ended, cpu = time.perf_counter(), time.process_time() - cpu_began
    rate = plan.read / (ended - began)
    print(
        f"{label:<6} {report.summary()}\n"
        f"{'':<6} parse+check {parsed - began:.2f} s, table {ended - parsed:.2f} s, "
        f"total {ended - began:.2f} s ({cpu:.2f} s CPU in this process): "
        f"{rate:,.0f} programmes/s"
    )
    return [item["program_id"] for item in plan.items]


def main(argv: list[str] | None = None) -> int:
    """Import a synthetic listing twice (all new, then all unchanged) and print the rates."""
    parser = argparse.ArgumentParser(prog="bench_import", description=__doc__.splitlines()[0])
    parser.add_argument("--programmes", type=int, default=10_000)
    parser.add_argument("--moto", action="store_true", help="use in-process moto")
    parser.add_argument("--table", help="a DynamoDB table on AWS")
    parser.add_argument("--region", help="AWS region of --table")
    parser.add_argument("--workers", type=int, default=4, help="batches at the same time")
    parser.add_argument("--keep", action="store_true", help="leave the items in the table")
    args = parser.parse_args(argv)

    data = synthetic_listing(args.programmes)
    print(f"synthetic listing: {args.programmes} programmes, {len(data) / 1e6:.1f} MB")
    if args.moto:
        with moto_table(args.workers) as table:
            measure(data, table, "first")
            measure(data, table, "again")
        return 0
    remote = open_table(args.table, args.region, True, args.workers)
    if remote is None:
        return 2
    measure(data, remote, "first")
    written = measure(data, remote, "again")
    if not args.keep:
        remote.delete_many(written, NoProgress())
        print(f"removed the {len(written)} bench items (their schedules go with them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

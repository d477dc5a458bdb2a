"""The local runtime: the real template on the ministack emulator, no AWS account needed.

telecast-local up      start the emulator in the background, build and deploy the stack
telecast-local down    stop the emulator (its state is saved under .local/)
telecast-local run     up, then demo programmes and live notifications until Ctrl-C
telecast-local status  print the stack outputs if the runtime is up
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from telecast_ops import importer
from telecast_ops.tail import NotificationTail

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / ".local"
STACK_NAME = "telecast-local"
REGION = "us-east-1"
ARTIFACT_BUCKET = "telecast-local-artifacts"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


class RuntimeFailure(RuntimeError):
    """A step of bringing the local runtime up failed; the message says which and why."""


@dataclass(frozen=True)
class Runtime:
    """Where the local runtime lives and how to reach it."""

    port: int
    python313: str
    emulator_python: Path

    @property
    def endpoint(self) -> str:
        """The emulator's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Holds the emulator's process id while it runs."""
        return LOCAL / "ministack.pid"

    @property
    def outputs_file(self) -> Path:
        """The deployed stack's outputs, for people, tests and tools."""
        return LOCAL / "outputs.json"

    def aws_env(self) -> dict[str, str]:
        """Environment for AWS tools pointed at the emulator."""
        return {
            **os.environ,
            **CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "SAM_CLI_TELEMETRY": "0",
        }

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator."""
        factory: Any = boto3.client
        return factory(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def healthy(self) -> bool:
        """True when the emulator answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/health", timeout=2) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False


def find_python313() -> str:
    """Python 3.13 for `sam build`: TELECAST_PY313, else pyenv's 3.13, else python3.13 on PATH."""
    if os.environ.get("TELECAST_PY313"):
        return os.environ["TELECAST_PY313"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"), reverse=True):
        return str(candidate)
    return shutil.which("python3.13") or "python3.13"


def runtime_from_env() -> Runtime:
    """The runtime described by TELECAST_PORT, TELECAST_PY313 and the project's .local/."""
    return Runtime(
        port=int(os.environ.get("TELECAST_PORT") or "4566"),
        python313=find_python313(),
        emulator_python=Path(
            os.environ.get("TELECAST_EMULATOR_PYTHON", LOCAL / "ministack-venv/bin/python")
        ),
    )


def start_emulator(runtime: Runtime) -> bool:
    """Start ministack in the background unless it already runs; True if this call started it."""
    if runtime.healthy():
        print(f"emulator already running on {runtime.endpoint}")
        return False
    if not runtime.emulator_python.exists():
        raise RuntimeFailure(
            f"{runtime.emulator_python} is missing: run 'make install' to create the emulator venv"
        )
    for folder in ("state", "tmp", "s3"):
        (LOCAL / folder).mkdir(parents=True, exist_ok=True)
    rewind_stream_positions(LOCAL / "state" / "lambda.json")
    env = {
        **os.environ,
        "BIND_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(runtime.port),
        "PERSIST_STATE": "1",
        "STATE_DIR": str(LOCAL / "state"),
        "S3_PERSIST": "1",
        "S3_DATA_DIR": str(LOCAL / "s3"),
        "TMPDIR": str(LOCAL / "tmp"),
        "MINISTACK_REGION": REGION,
        "LOG_LEVEL": os.environ.get("TELECAST_EMULATOR_LOG_LEVEL", "WARNING"),
    }
    log = (LOCAL / "ministack.log").open("ab")
    process = subprocess.Popen(
        [str(runtime.emulator_python), str(ROOT / "ops/emulator/serve.py")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    runtime.pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeFailure(f"the emulator exited at start: see {LOCAL / 'ministack.log'}")
        if runtime.healthy():
            return True
        time.sleep(0.25)
    raise RuntimeFailure(f"the emulator did not answer in 60 s: see {LOCAL / 'ministack.log'}")


def rewind_stream_positions(lambda_state: Path) -> None:
    """Make a restarted emulator read new stream records instead of skipping them.

    ministack saves how far each stream mapping had read, but not the stream's records: on
    restart the saved offset points past the end of the new, empty record list, and the
    next that many writes are never delivered. Offset 0 reads the new records from the first.
    """
    if not lambda_state.exists():
        return
    try:
        state = json.loads(lambda_state.read_text())
        positions = state["payload"]["dynamodb_stream_positions"]["data"]
    except (ValueError, KeyError, TypeError):
        return
    if isinstance(positions, dict) and any(positions.values()):
        state["payload"]["dynamodb_stream_positions"]["data"] = dict.fromkeys(positions, 0)
        lambda_state.write_text(json.dumps(state))


def stop_emulator(runtime: Runtime) -> None:
    """Stop the emulator with SIGTERM, so that it saves its state under .local/state."""
    if not runtime.pid_file.exists():
        print("emulator not running (no .local/ministack.pid)")
        return
    pid = int(runtime.pid_file.read_text().strip())
    try:
        # The emulator leads its own process group: its Lambda workers stop with it.
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        runtime.pid_file.unlink(missing_ok=True)
        print("emulator was not running")
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    runtime.pid_file.unlink(missing_ok=True)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
        print("emulator did not stop in 60 s and was killed: its state was not saved")
        return
    print("emulator stopped, state saved in .local/state")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped (we are its parent) counts as stopped.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True


def deploy(runtime: Runtime) -> dict[str, str]:
    """Build and deploy template.yaml with the SAM CLI, as one would to AWS; return outputs."""
    python313 = shutil.which(runtime.python313) or runtime.python313
    if not Path(python313).exists():
        raise RuntimeFailure(
            f"Python 3.13 not found ({runtime.python313}); set TELECAST_PY313 to its path"
        )
    env = runtime.aws_env()
    env["PATH"] = f"{Path(python313).parent}{os.pathsep}{env.get('PATH', '')}"
    sam = str(Path(sys.executable).parent / "sam")
    _run([sam, "build", "--cached", "--parallel"], env, "sam build")

    s3 = runtime.client("s3")
    if ARTIFACT_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    _run(
        [
            sam,
            "deploy",
            "--template-file",
            str(ROOT / ".aws-sam/build/template.yaml"),
            "--stack-name",
            STACK_NAME,
            "--s3-bucket",
            ARTIFACT_BUCKET,
            "--region",
            REGION,
            "--capabilities",
            "CAPABILITY_IAM",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--parameter-overrides",
            "NotificationsQueue=true",
            "TracingDisabled=true",
            "ApiAuth=NONE",
        ],
        env,
        "sam deploy",
    )
    stack = runtime.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    outputs.update({"Endpoint": runtime.endpoint, "Region": REGION, "StackName": STACK_NAME})
    if "ApiId" in outputs:
        # The emulator serves every HTTP API under one host, by id; the stage is $default.
        outputs["ApiUrl"] = f"{runtime.endpoint}/_aws/execute-api/{outputs['ApiId']}/$default"
    runtime.outputs_file.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    return outputs


def _run(command: list[str], env: dict[str, str], step: str) -> None:
    log_path = LOCAL / f"{step.replace(' ', '-')}.log"
    with log_path.open("w") as log:
        result = subprocess.run(
            command, check=False, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-25:])
        raise RuntimeFailure(f"{step} failed (full log: {log_path}):\n{tail}")


def up(runtime: Runtime) -> tuple[dict[str, str], bool]:
    """Start the emulator and deploy the stack; return the outputs and whether we started it."""
    LOCAL.mkdir(exist_ok=True)
    began = time.monotonic()
    started = start_emulator(runtime)
    try:
        outputs = deploy(runtime)
    except Exception:
        if started:
            stop_emulator(runtime)
        raise
    wait_until_stream_live(runtime, outputs["TableName"])
    print(f"ready: stack {STACK_NAME} on {runtime.endpoint} in {time.monotonic() - began:.1f} s")
    print(f"outputs: {runtime.outputs_file.relative_to(ROOT)}")
    for key in ("TableName", "TopicArn", "ScheduleGroupName", "NotificationsQueueUrl", "ApiUrl"):
        print(f"  {key:22} {outputs.get(key)}")
    print_insert_hint(runtime, outputs)
    return outputs, started


READY_MARKER = "telecast-local-ready-check"


def wait_until_stream_live(runtime: Runtime, table: str, timeout: float = 90) -> None:
    """Return once the stream function handles new writes (a marker item gets its status).

    After a deploy or a restart the emulator starts reading the stream lazily, from its end:
    writes made before that are never delivered. A marker is written until one is handled.
    """
    dynamodb = runtime.client("dynamodb")
    key = {"program_id": {"S": READY_MARKER}}
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        dynamodb.put_item(TableName=table, Item={**key, "attempt": {"N": str(attempt)}})
        for _ in range(12):
            time.sleep(0.25)
            item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            if item and "notification_status" in item:
                dynamodb.delete_item(TableName=table, Key=key)
                return
    raise RuntimeFailure(
        f"the stream function handled no write in {timeout:.0f} s: see {LOCAL / 'ministack.log'}"
    )


def print_insert_hint(runtime: Runtime, outputs: dict[str, str]) -> None:
    """Print a copy-paste AWS CLI command that inserts a programme starting in a minute."""
    start = (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)
    item = {
        "program_id": {"S": f"my-show-{start:%H%M%S}"},
        "title": {"S": "My first programme"},
        "channel": {"S": "Channel 1"},
        "start_time": {"S": start.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "end_time": {"S": (start + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
    aws = Path(sys.executable).parent / "aws"
    print("\ninsert a programme that starts in a minute and lasts 30 seconds:")
    print(
        f"  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test {aws.relative_to(ROOT)} "
        f"--endpoint-url {runtime.endpoint} --region {REGION} dynamodb put-item "
        f"--table-name {outputs['TableName']} --item '{json.dumps(item)}'\n"
    )


DEMO_LISTING = ROOT / "data" / "epg" / "tokyo-mx-2026-03-28.xml"
# The Tokyo MX day (24 hours) replayed 360 times faster: four minutes of notifications.
DEMO_SPEED = 360
DEMO_START_IN = 60


def replay_demo_listing() -> None:
    """Import the real broadcast day, compressed so that it replays within a few minutes."""
    status = importer.main(
        [str(DEMO_LISTING), "--start-in", str(DEMO_START_IN), "--speed", str(DEMO_SPEED)]
    )
    if status != 0:
        print(f"demo: the listing import ended with status {status}", file=sys.stderr)
        return
    print(
        f"demo: the Tokyo MX day of {DEMO_LISTING.name} replays from {DEMO_START_IN} s from "
        f"now, {DEMO_SPEED} times faster (about {86400 // DEMO_SPEED // 60} minutes)"
    )


def insert_demo(runtime: Runtime, outputs: dict[str, str]) -> None:
    """Write two demo programmes that start and end within the next minute."""
    now = datetime.now(UTC).replace(microsecond=0)
    dynamodb = runtime.client("dynamodb")
    demos = [
        ("demo-news", "Evening News", "Channel 1", 10, 30),
        ("demo-film", "Late Film", "Channel 2", 20, 50),
    ]
    for program_id, title, channel, start_in, end_in in demos:
        item = {
            "program_id": {"S": program_id},
            "title": {"S": title},
            "channel": {"S": channel},
            "start_time": {"S": f"{now + timedelta(seconds=start_in):%Y-%m-%dT%H:%M:%SZ}"},
            "end_time": {"S": f"{now + timedelta(seconds=end_in):%Y-%m-%dT%H:%M:%SZ}"},
        }
        dynamodb.put_item(TableName=outputs["TableName"], Item=item)
        print(f"demo: {program_id} starts in {start_in} s, ends in {end_in} s")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="telecast-local", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "run", "status"])
    args = parser.parse_args(argv)
    runtime = runtime_from_env()
    try:
        if args.command == "up":
            up(runtime)
        elif args.command == "down":
            stop_emulator(runtime)
        elif args.command == "status":
            if not runtime.healthy() or not runtime.outputs_file.exists():
                print("local runtime is not up: run 'make up'")
                return 1
            print(runtime.outputs_file.read_text())
        else:
            return run(runtime)
    except RuntimeFailure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run(runtime: Runtime) -> int:
    """Bring everything up, show the demo's notifications, stop cleanly on Ctrl-C."""
    # A terminal closed or a `timeout` stops the run as Ctrl-C does: the emulator too.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    outputs, started = up(runtime)
    try:
        sqs = runtime.client("sqs")
        # Messages left from an earlier session would show up first, as very late ones.
        sqs.purge_queue(QueueUrl=outputs["NotificationsQueueUrl"])
        if os.environ.get("DEMO", "1") != "0":
            insert_demo(runtime, outputs)
            replay_demo_listing()
        print("watching notifications (Ctrl-C to stop)\n")
        NotificationTail(sqs, outputs["NotificationsQueueUrl"]).follow()
    except KeyboardInterrupt:
        print()
    finally:
        if started:
            stop_emulator(runtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Botocore event hooks that count AWS calls, time them, and can add a fixed latency.

A `CallMeter` is attached to a client's own event system (`client.meta.events`), so it
sees only that client's calls. For every call it records:

* the operation (counted when the call completes, errors included);
* the time inside the call, from `provide-client-params` (the first event botocore emits)
  to `after-call` (the last): validation, serialisation, signing, transport, parsing;
* the time at the transport, from `before-send` to `before-parse`: with moto, the emulated
  service answering in-process, plus the injected latency.

The latency is a sleep in a `before-send` handler registered first, so every attempt of
every call (retries included) pays one fixed round trip, as it would over a network.

With `replies` set, the meter also answers `before-send` itself with a reply recorded
earlier from moto for the same operation: the service then costs the process nothing, as
a remote service would, while botocore still validates, signs and parses everything.
Clients used that way must have moto's own `before-send` handler removed (`without_moto`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from moto.core.models import botocore_stubber


@dataclass(frozen=True)
class Reply:
    """A recorded HTTP answer: replayed for every later call of the same operation."""

    status: int
    headers: dict[str, str]
    body: bytes


# A reply that depends on the request (its prepared body), for reads that must echo state.
Answer = Reply | Callable[[bytes], Reply]


class _RawBody:
    """The smallest stand-in for urllib3's raw response that botocore reads."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class CallMeter:
    """Counts and times the AWS calls of the clients it is attached to."""

    def __init__(
        self,
        latency_seconds: float = 0.0,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        replies: dict[str, Answer] | None = None,
    ) -> None:
        self.latency_seconds = latency_seconds
        self.replies = replies
        self.recorded: dict[str, Reply] = {}
        self._clock = clock
        self._sleep = sleep
        self._local = threading.local()
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.in_call_seconds = 0.0
        self.transport_seconds = 0.0

    def attach(self, client: Any) -> Any:
        """Register the hooks on one client; returns the client for chaining."""
        events = client.meta.events
        events.register_first("provide-client-params", self._started)
        events.register_first("before-send", self._sending)
        events.register_first("before-parse", self._answered)
        events.register_last("after-call", self._finished)
        events.register_last("after-call-error", self._failed)
        return client

    def reset(self) -> None:
        """Forget every count and time recorded so far (recorded replies are kept)."""
        with self._lock:
            self.calls.clear()
            self.errors.clear()
            self.in_call_seconds = 0.0
            self.transport_seconds = 0.0

    def snapshot(self) -> dict[str, Any]:
        """The counts and times recorded so far, JSON-ready."""
        with self._lock:
            return {
                "calls": dict(sorted(self.calls.items())),
                "errors": dict(sorted(self.errors.items())),
                "total_calls": sum(self.calls.values()),
                "in_call_seconds": round(self.in_call_seconds, 6),
                "transport_seconds": round(self.transport_seconds, 6),
            }

    def _started(self, event_name: str, **_: Any) -> None:
        self._local.started = self._clock()

    def _sending(self, event_name: str, request: Any = None, **_: Any) -> AWSResponse | None:
        self._local.sent = self._clock()
        if self.latency_seconds > 0:
            self._sleep(self.latency_seconds)
        if self.replies is None:
            return None
        answer = self.replies.get(_operation(event_name))
        if answer is None:
            raise LookupError(f"no recorded reply for {_operation(event_name)}")
        body = getattr(request, "body", b"") or b""
        reply = answer if isinstance(answer, Reply) else answer(_as_bytes(body))
        url = getattr(request, "url", "")
        headers = HTTPHeaders.from_dict(reply.headers)
        return AWSResponse(url, reply.status, headers, _RawBody(reply.body))

    def _answered(self, event_name: str, **_: Any) -> None:
        sent = getattr(self._local, "sent", None)
        if sent is None:
            return
        elapsed = self._clock() - sent
        self._local.sent = None
        with self._lock:
            self.transport_seconds += elapsed

    def _finished(self, event_name: str, http_response: Any = None, **_: Any) -> None:
        status = int(getattr(http_response, "status_code", 200))
        operation = _operation(event_name)
        if status < 300 and operation not in self.recorded and http_response is not None:
            self.recorded[operation] = Reply(
                status, dict(http_response.headers), bytes(http_response.content)
            )
        self._complete(operation, failed=status >= 300)

    def _failed(self, event_name: str, **_: Any) -> None:
        self._complete(_operation(event_name), failed=True)

    def _complete(self, operation: str, failed: bool) -> None:
        started = getattr(self._local, "started", None)
        elapsed = 0.0 if started is None else self._clock() - started
        self._local.started = None
        with self._lock:
            self.calls[operation] += 1
            if failed:
                self.errors[operation] += 1
            self.in_call_seconds += elapsed


def _as_bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


def _operation(event_name: str) -> str:
    """'after-call.scheduler.CreateSchedule' -> 'scheduler.CreateSchedule'."""
    _, _, rest = event_name.partition(".")
    return rest


def without_moto(client: Any) -> Any:
    """Remove moto's request interceptor from one client (its replies then come from a meter)."""
    client.meta.events.unregister("before-send", botocore_stubber)
    return client

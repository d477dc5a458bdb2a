"""Fault injection for boto3 clients: a set share of calls fail before they take effect.

A `before-send` hook registered first on a client answers a chosen share of its calls with
a throttling or 5xx error instead of letting them through to moto, so botocore's retry
logic, our batch failure reporting and Lambda's retries are all exercised for real.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse

_JSON_ERRORS = (
    (400, "ThrottlingException", "Rate exceeded"),
    (500, "InternalServerException", "Internal failure"),
    (503, "ServiceUnavailableException", "Service unavailable"),
)
_QUERY_ERRORS = (
    (400, "Throttling", "Rate exceeded"),
    (500, "InternalFailure", "Internal failure"),
    (503, "ServiceUnavailable", "Service unavailable"),
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any) -> bytes:
        body, self._body = self._body, b""
        return body


class FaultInjector:
    """Fails `share` of the calls of the clients it is attached to, reproducibly."""

    def __init__(self, share: float, seed: int = 7) -> None:
        self.share = share
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        """Register on one client (its own event system) and return it."""
        service = client.meta.service_model.service_name
        client.meta.events.register_first(f"before-send.{service}", self._maybe_fail)
        return client

    def _maybe_fail(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        operation = kwargs.get("event_name", "").split(".")[-1]
        with self._lock:
            self.calls[operation] += 1
            fail = self._random.random() < self.share
            choice = self._random.randrange(3)
            if fail:
                self.injected[operation] += 1
        if not fail:
            return None
        # Every before-send handler runs and the first response wins, so moto would still
        # carry the call out: point it elsewhere so that the failure happens before effect.
        answered_at = request.url
        request.url = "https://fault-injection.invalid/"
        body_text = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        if body_text.startswith("Action="):
            status, code, message = _QUERY_ERRORS[choice]
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        else:
            status, code, message = _JSON_ERRORS[choice]
            body = f'{{"message": "{message}"}}'.encode()
            headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
        return AWSResponse(answered_at, status, headers, _Raw(body))

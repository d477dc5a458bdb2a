"""Lambda adapter: hand a due programme edge to the notifier, asynchronously."""

from __future__ import annotations

from typing import Any

from telecast.schedule_plan import NotificationRequest


class NotifierInvoker:
    """Asynchronous invocation of the notifier: the same path a schedule takes."""

    def __init__(self, client: Any, function_arn: str) -> None:
        self._client = client
        self.function_arn = function_arn

    def invoke(self, request: NotificationRequest) -> None:
        """Queue one notifier invocation (Lambda retries it and keeps failures)."""
        self._client.invoke(
            FunctionName=self.function_arn,
            InvocationType="Event",
            Payload=request.to_json().encode("utf-8"),
        )

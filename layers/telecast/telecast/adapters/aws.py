"""AWS client construction: one place that sets timeouts and bounded retries."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode retries throttling and 5xx with jittered backoff; bounded so that a
# stuck call fails the record (and is reported) well inside the function's timeout.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=64,
)


def client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A boto3 client for `service` with the service's retry and timeout settings."""
    factory: Any = (session or boto3.session.Session()).client
    return factory(service, config=CLIENT_CONFIG)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError, or '' for anything else."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""

"""Fuzz the HTTP API on the local runtime from its own OpenAPI document (schemathesis).

Every operation gets schema-valid and schema-violating requests (a bounded number per
operation, see MAX_EXAMPLES); every answer must be no 5xx, a documented status, content
type, headers and body. The run's tally is printed at the end (pytest -s shows it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import api_handler

pytestmark = pytest.mark.e2e

# Six operations; with the examples and coverage phases this stays at a few hundred requests.
MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def report_tally() -> Iterator[None]:
    yield
    total = sum(value for key, value in TALLY.items() if key.startswith("status "))
    print(f"\nfuzz: {total} requests; " + ", ".join(f"{k}: {v}" for k, v in sorted(TALLY.items())))


# Loaded from the code, not over HTTP, so that collection needs no runtime (and schemathesis'
# fixture-based loader does not work with this pytest); the first test checks that the
# runtime serves this very document.
DOCUMENT = json.loads(api_handler.openapi_document())
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The local runtime is open (ApiAuth=NONE): requests without SigV4 are meant to pass there.
schema.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False)


def test_the_runtime_serves_the_document_being_fuzzed(local_stack: dict[str, str]) -> None:
    served = requests.get(f"{local_stack['ApiUrl']}/openapi.json", timeout=30)

    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_answer_conforms_to_the_document_and_none_is_a_server_error(
    case: Any, local_stack: dict[str, str]
) -> None:
    # Given a generated request (valid or deliberately invalid) for one operation
    # When it is sent to the local runtime
    response = case.call_and_validate(base_url=local_stack["ApiUrl"], checks=CHECKS, timeout=30)

    # Then the checks above passed; count what came back
    TALLY[f"status {response.status_code}"] += 1
    TALLY[f"op {case.method} {case.path}"] += 1

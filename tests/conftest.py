"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from support import LambdaContext


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def aws() -> Iterator[None]:
    """Every AWS call inside the test goes to moto."""
    with mock_aws():
        yield

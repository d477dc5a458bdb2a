"""Integration fixtures: the whole pipeline on moto (see tests/pipeline.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import notifier_handler
import stream_handler
from pipeline import Pipeline
from support import make_stack


@pytest.fixture
def pipeline(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    env = make_stack()
    yield Pipeline(env, monkeypatch)
    stream_handler.stream_sync.cache_clear()
    notifier_handler.notifier.cache_clear()

"""Schedule names: one valid, stable and distinct EventBridge Scheduler name per programme edge."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telecast.schedule_plan import Edge, schedule_name

# EventBridge Scheduler's rule for a schedule name.
VALID_NAME = re.compile(r"[0-9A-Za-z_.-]{1,64}")

ids = st.text(min_size=0, max_size=600)
edges = st.sampled_from(list(Edge))


@settings(max_examples=300, deadline=None)
@given(ids, edges)
def test_every_id_gets_a_valid_name_of_at_most_64_characters(program_id: str, edge: Edge) -> None:
    # given any id (any unicode, any length), when named
    name = schedule_name(program_id, edge)

    # then the name is 1-64 characters of the allowed set and ends with the edge
    assert VALID_NAME.fullmatch(name), name
    assert name.endswith(f"-{edge.value}")


@settings(max_examples=200, deadline=None)
@given(ids, edges)
def test_the_name_is_the_same_every_time(program_id: str, edge: Edge) -> None:
    # given an id, when named twice, then both names are equal
    assert schedule_name(program_id, edge) == schedule_name(program_id, edge)


@settings(max_examples=300, deadline=None)
@given(ids, ids, edges)
def test_different_ids_get_different_names(first: str, second: str, edge: Edge) -> None:
    # given two different ids, when named, then the names differ
    if first != second:
        assert schedule_name(first, edge) != schedule_name(second, edge)


def test_the_two_edges_of_a_programme_get_different_names() -> None:
    # given one programme, when both edges are named, then the names differ
    assert schedule_name("prog-1", Edge.START) != schedule_name("prog-1", Edge.END)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("news/evening", "news:evening"),
        ("news evening", "news_evening"),
        ("news#1", "news?1"),
        ("ニュース", "ドラマ"),
        ("a" * 40 + "-one", "a" * 40 + "-two"),
        ("x" * 512, "x" * 511 + "y"),
        ("", " "),
        ("_", "-"),
    ],
)
def test_ids_differing_only_in_unsafe_characters_or_past_the_prefix_get_different_names(
    first: str, second: str
) -> None:
    # given two ids that read the same once unsafe characters are replaced or truncated
    # when both are named
    names = {schedule_name(first, Edge.START), schedule_name(second, Edge.START)}

    # then the names still differ
    assert len(names) == 2


@pytest.mark.parametrize("program_id", ["", " ", "/", "ニュース", "\u200b", "🙂" * 100])
def test_an_id_with_nothing_readable_still_gets_a_valid_name(program_id: str) -> None:
    # given an id with no safe characters, when named, then the name is still valid
    assert VALID_NAME.fullmatch(schedule_name(program_id, Edge.END))


def test_a_readable_id_stays_readable_in_its_name() -> None:
    # given a plain id, when named, then the name starts with the id for operators to find
    assert schedule_name("evening-news.2026", Edge.START).startswith("evening-news.2026-")


def test_a_very_long_id_gets_names_within_64_characters_for_both_edges() -> None:
    # given a long id, when named for each edge, then both fit in 64 characters
    for edge in Edge:
        assert len(schedule_name("p" * 1000, edge)) <= 64

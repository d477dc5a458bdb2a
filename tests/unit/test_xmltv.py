"""XMLTV listings: safe parsing, time forms, defects with positions, ids and retiming."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import ROOT, utc
from telecast.time_rules import TimeValueError
from telecast_ops.xmltv import (
    Entry,
    ListingError,
    ListingRefused,
    Severity,
    check_channel_order,
    choose_text,
    parse_xmltv_time,
    plan_retiming,
    program_id_for,
    read_listing,
    to_entries,
)

FIXTURES = ROOT / "tests" / "fixtures" / "xmltv"
REAL_DAY = ROOT / "data" / "epg" / "tokyo-mx-2026-03-28.xml"


def _entries(path: Path, zone: str = "UTC", lang: str | None = None) -> list[Entry]:
    return list(to_entries(read_listing(path.read_bytes()), zone, lang).entries)


def _entry(start: str, end: str, index: int = 1, channel: str = "one.test") -> Entry:
    return Entry(index, index + 5, channel, "Channel One", utc(start), utc(end), f"Show {index}")


# ------------------------------------------------------------------ the real listing


def test_the_real_day_has_93_programmes_on_two_channels() -> None:
    checked = to_entries(read_listing(REAL_DAY.read_bytes()), "UTC")

    assert checked.read == 93
    assert len(checked.entries) == 93
    assert checked.defects == ()
    assert Counter(entry.channel_name for entry in checked.entries) == {
        "Tokyo MX1": 43,
        "Tokyo MX2": 50,
    }


def test_the_real_day_keeps_its_japanese_titles_intact() -> None:
    entries = _entries(REAL_DAY)

    assert entries[0].title == "ＭＸショッピング"
    assert entries[2].title == "田村亮の釣りならまかせろ！ ★トラフグ・シロギス"
    titles = [entry.title or "" for entry in entries]
    assert any(title.startswith("ＢＯＡＴ\u3000ＲＡＣＥプレミア") for title in titles)
    assert all(title.strip() for title in titles)


def test_the_real_day_spans_one_broadcast_day_in_utc() -> None:
    entries = _entries(REAL_DAY)

    assert min(entry.start for entry in entries) == utc("2026-03-27T20:00:00Z")
    assert max(entry.end for entry in entries) == utc("2026-03-28T20:00:00Z")
    assert entries[0].program_id == "TokyoMX1.jp-20260327T200000Z"


def test_each_programme_knows_the_line_it_starts_on() -> None:
    entries = _entries(REAL_DAY)

    assert (entries[0].index, entries[0].line) == (1, 6)
    assert (entries[-1].index, entries[-1].line) == (93, 98)


def test_the_external_dtd_named_in_the_doctype_is_not_fetched() -> None:
    data = REAL_DAY.read_bytes()

    listing = read_listing(data)

    assert b'<!DOCTYPE tv SYSTEM "xmltv.dtd">' in data
    assert len(listing.programmes) == 93


# ------------------------------------------------------------------ time forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260328200000 +0900", "2026-03-28T11:00:00Z"),
        ("20260328200000 +0000", "2026-03-28T20:00:00Z"),
        ("20260328200000+0100", "2026-03-28T19:00:00Z"),
        ("20260328200000 -0500", "2026-03-29T01:00:00Z"),
        ("20260328200000 -0330", "2026-03-28T23:30:00Z"),
        ("20260328200000 UTC", "2026-03-28T20:00:00Z"),
        ("20260328200000", "2026-03-28T20:00:00Z"),
        ("202603282000", "2026-03-28T20:00:00Z"),
        ("20260328", "2026-03-28T00:00:00Z"),
    ],
)
def test_xmltv_times_become_utc_instants(text: str, expected: str) -> None:
    assert parse_xmltv_time(text, "UTC") == utc(expected)


def test_a_time_without_offset_is_read_in_the_default_zone() -> None:
    summer = parse_xmltv_time("20260628200000", "Europe/London")
    winter = parse_xmltv_time("20260128200000", "Europe/London")

    assert summer == utc("2026-06-28T19:00:00Z")
    assert winter == utc("2026-01-28T20:00:00Z")


def test_an_offset_wins_over_the_default_zone() -> None:
    assert parse_xmltv_time("20260628200000 +0900", "Europe/London") == utc("2026-06-28T11:00:00Z")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2026-03-28 20:00", "is not an XMLTV time"),
        ("20260328200000 BST", "is not an XMLTV time"),
        ("20260231200000 +0000", "not a real date"),
        ("20260328200000 +1900", r"offsets run from -18:00 to \+18:00$"),
        ("21000101000000 +0000", "must fall in 1970-2099"),
        ("２０２６０３２８２０００００", "is not an XMLTV time"),
    ],
)
def test_unreadable_times_are_refused_with_the_reason(text: str, words: str) -> None:
    with pytest.raises(TimeValueError, match=words):
        parse_xmltv_time(text, "UTC")


def test_a_listing_across_the_spring_change_keeps_real_durations() -> None:
    entries = _entries(FIXTURES / "dst-london.xml", zone="Europe/London")

    assert [(entry.start, entry.end) for entry in entries] == [
        (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T00:30:00Z")),
        (utc("2026-03-29T00:30:00Z"), utc("2026-03-29T01:30:00Z")),
        (utc("2026-03-29T01:30:00Z"), utc("2026-03-29T03:00:00Z")),
    ]
    assert [entry.end - entry.start for entry in entries] == [
        timedelta(minutes=90),
        timedelta(hours=1),
        timedelta(minutes=90),
    ]


def test_a_local_time_in_the_spring_gap_is_refused() -> None:
    with pytest.raises(TimeValueError, match="does not exist in Europe/London"):
        parse_xmltv_time("20260329013000", "Europe/London")


def test_a_repeated_autumn_time_is_read_as_its_first_occurrence() -> None:
    assert parse_xmltv_time("20261025013000", "Europe/London") == utc("2026-10-25T00:30:00Z")


def test_negative_offsets_across_a_change_of_offset_keep_their_instants() -> None:
    by_title = {entry.title: entry for entry in _entries(FIXTURES / "offsets.xml")}

    before = by_title["Before the change"]
    after = by_title["After the change"]
    odd = by_title["Odd offsets"]
    assert (before.start, before.end) == (utc("2026-03-08T04:00:00Z"), utc("2026-03-08T06:00:00Z"))
    assert (after.start, after.end) == (utc("2026-03-08T07:00:00Z"), utc("2026-03-08T08:00:00Z"))
    assert (odd.start, odd.end) == (utc("2026-03-28T23:30:00Z"), utc("2026-03-29T00:30:00Z"))


def test_shortened_times_and_offsets_without_a_space_are_read() -> None:
    checked = to_entries(read_listing((FIXTURES / "offsets.xml").read_bytes()), "UTC")

    by_title = {entry.title: entry for entry in checked.entries}
    assert checked.defects == ()
    assert by_title["No space"].end == utc("2026-03-28T11:30:00Z")
    assert (by_title["Truncated"].start, by_title["Truncated"].end) == (
        utc("2026-03-28T20:30:00Z"),
        utc("2026-03-28T21:00:00Z"),
    )


# ------------------------------------------------------------------ defects


def test_the_defects_listing_reports_each_problem_at_its_line() -> None:
    checked = to_entries(read_listing((FIXTURES / "defects.xml").read_bytes()), "UTC")

    report = [(d.line, d.index, d.severity.value, d.reason) for d in checked.defects]
    assert report == [
        (7, 2, "error", "stop 2090-01-01T08:30:00Z is before start 2090-01-01T09:00:00Z"),
        (8, 3, "error", "has no stop time"),
        (
            10,
            5,
            "warning",
            "overlaps programme 4 (line 9), which runs until 2090-01-01T11:00:00Z",
        ),
        (11, 6, "error", "names channel 'three.test', which no <channel> declares"),
        (12, 7, "error", report[4][3]),
        (13, 8, "error", "stop 2090-01-01T12:00:00Z equals start 2090-01-01T12:00:00Z"),
    ]
    assert report[4][3].startswith("start time '2090-01-01 12:00' is not an XMLTV time")


def test_the_defects_listing_keeps_only_valid_and_overlapping_programmes() -> None:
    checked = to_entries(read_listing((FIXTURES / "defects.xml").read_bytes()), "UTC")

    assert checked.read == 9
    assert [entry.title for entry in checked.entries] == [
        "Morning",
        "Late morning",
        "Overlapping",
        "Afternoon",
    ]


def test_a_defect_reads_like_a_compiler_message() -> None:
    checked = to_entries(read_listing((FIXTURES / "defects.xml").read_bytes()), "UTC")

    assert checked.defects[1].describe("defects.xml") == (
        "defects.xml:8: error: programme 3 (one.test): has no stop time"
    )


def test_a_second_programme_at_the_same_channel_and_start_is_rejected() -> None:
    data = (
        b'<tv><channel id="a"/>'
        b'<programme start="20900101080000" stop="20900101090000" channel="a"><title>One'
        b"</title></programme>\n"
        b'<programme start="20900101080000" stop="20900101083000" channel="a"><title>Two'
        b"</title></programme></tv>"
    )

    checked = to_entries(read_listing(data), "UTC")

    assert [entry.title for entry in checked.entries] == ["One"]
    assert checked.defects[0].index == 2
    assert "same programme id" in checked.defects[0].reason


def test_a_same_start_is_caught_behind_a_longer_overlapping_programme() -> None:
    entries = [
        _entry("2090-01-01T08:00:00Z", "2090-01-01T10:00:00Z", 1),
        _entry("2090-01-01T08:30:00Z", "2090-01-01T09:00:00Z", 2),
        _entry("2090-01-01T08:30:00Z", "2090-01-01T09:30:00Z", 3),
    ]

    kept, defects = check_channel_order(entries)

    assert [entry.index for entry in kept] == [1, 2]
    assert [(d.index, d.severity) for d in defects] == [
        (2, Severity.WARNING),
        (3, Severity.ERROR),
    ]
    assert "like programme 2" in defects[1].reason


def test_a_programme_without_channel_or_start_is_rejected_for_each_reason() -> None:
    data = b'<tv><programme stop="20900101090000"><title>Lost</title></programme></tv>'

    checked = to_entries(read_listing(data), "UTC")

    assert checked.entries == ()
    assert [defect.reason for defect in checked.defects] == [
        "has no channel attribute",
        "has no start time",
    ]


def test_a_programme_without_title_is_kept_with_a_warning() -> None:
    data = (
        b'<tv><channel id="a"/>'
        b'<programme start="20900101080000" stop="20900101090000" channel="a"/></tv>'
    )

    checked = to_entries(read_listing(data), "UTC")

    assert checked.entries[0].title is None
    assert checked.entries[0].channel_name == "a"
    assert [(d.severity, d.reason) for d in checked.defects] == [(Severity.WARNING, "has no title")]


# ------------------------------------------------------------------ titles and ids


def test_the_title_rule_prefers_the_language_asked_for_then_the_first_title() -> None:
    titles = [("en", "News"), ("fr-CA", "Nouvelles"), (None, "Untagged")]

    assert choose_text(titles, None) == "News"
    assert choose_text(titles, "fr") == "Nouvelles"
    assert choose_text(titles, "FR-ca") == "Nouvelles"
    assert choose_text(titles, "ja") == "News"
    assert choose_text([], "en") is None


def test_lang_picks_titles_and_channel_names_in_that_language() -> None:
    entries = _entries(FIXTURES / "day.xml", lang="fr")

    assert (entries[0].title, entries[0].channel_name) == ("Journal", "Chaîne Un")
    assert (entries[1].title, entries[1].channel_name) == ("Weather", "Chaîne Un")
    assert entries[3].channel_name == "Channel Two"


def test_the_programme_id_is_the_channel_and_the_utc_start() -> None:
    start = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)

    assert program_id_for("TokyoMX1.jp", start) == "TokyoMX1.jp-20260328T200000Z"
    assert program_id_for("a", start + timedelta(milliseconds=250)) == "a-20260328T200000.250Z"


# ------------------------------------------------------------------ retiming


NOW = datetime(2026, 5, 1, 12, 0, 0, 654321, tzinfo=UTC)


def test_start_in_moves_the_first_start_to_that_many_whole_seconds_from_now() -> None:
    entries = [_entry("2026-03-28T20:00:00Z", "2026-03-28T20:30:00Z")]

    retiming = plan_retiming(entries, NOW, start_in=10, speed=None)

    assert retiming is not None
    moved = retiming.apply(entries[0])
    assert moved.start == utc("2026-05-01T12:00:10Z")
    assert moved.end == utc("2026-05-01T12:30:10Z")


def test_speed_compresses_durations_and_keeps_order() -> None:
    entries = [
        _entry("2026-03-28T20:00:00Z", "2026-03-28T20:30:00Z", 1),
        _entry("2026-03-28T20:30:00Z", "2026-03-28T20:35:00Z", 2),
        _entry("2026-03-28T20:35:00Z", "2026-03-29T00:35:00Z", 3),
    ]

    retiming = plan_retiming(entries, NOW, start_in=None, speed=480)

    assert retiming is not None
    moved = [retiming.apply(entry) for entry in entries]
    assert moved[0].start == entries[0].start
    assert [entry.end - entry.start for entry in moved] == [
        timedelta(seconds=3.75),
        timedelta(seconds=0.625),
        timedelta(seconds=30),
    ]
    assert all(a.end == b.start for a, b in itertools.pairwise(moved))


def test_a_shifted_listing_gets_the_same_ids_for_the_same_now() -> None:
    entries = [_entry("2026-03-28T20:00:00Z", "2026-03-28T20:05:00Z", 1)]
    later = [_entry("2026-03-28T20:05:00Z", "2026-03-28T20:10:00Z", 2)]

    first = plan_retiming(entries + later, NOW, start_in=30, speed=7)
    again = plan_retiming(entries + later, NOW, start_in=30, speed=7)

    assert first is not None
    assert again is not None
    assert first.apply(later[0]).program_id == again.apply(later[0]).program_id
    assert first.apply(later[0]).program_id == "one.test-20260501T120112.857Z"


def test_no_shift_and_no_speed_leaves_the_listing_alone() -> None:
    entries = [_entry("2026-03-28T20:00:00Z", "2026-03-28T20:05:00Z")]

    assert plan_retiming(entries, NOW, start_in=None, speed=None) is None


def test_a_speed_of_zero_is_refused() -> None:
    entries = [_entry("2026-03-28T20:00:00Z", "2026-03-28T20:05:00Z")]

    with pytest.raises(ValueError, match="positive"):
        plan_retiming(entries, NOW, start_in=None, speed=0)


# ------------------------------------------------------------------ hostile and broken input


def test_a_billion_laughs_document_is_refused_before_any_expansion() -> None:
    with pytest.raises(ListingRefused, match=r"declares an entity \('lol'\)"):
        read_listing((FIXTURES / "billion-laughs.xml").read_bytes())


def test_an_external_entity_document_is_refused_without_reading_the_file() -> None:
    with pytest.raises(ListingRefused, match=r"declares an entity \('secret'\)") as refused:
        read_listing((FIXTURES / "external-entity.xml").read_bytes())

    assert "external-entity" in str(refused.value)
    assert "root:" not in str(refused.value)


def test_an_external_parameter_entity_is_refused() -> None:
    data = b'<!DOCTYPE tv [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]><tv/>'

    with pytest.raises(ListingRefused, match="refused"):
        read_listing(data)


def test_a_document_that_is_not_well_formed_is_refused_with_its_position() -> None:
    with pytest.raises(ListingError, match="not well-formed XML at line 2, column"):
        read_listing(b"<tv>\n<programme></tv>")


def test_a_document_whose_root_is_not_tv_is_refused() -> None:
    with pytest.raises(ListingError, match="root element is <rss>"):
        read_listing(b"<rss><channel/></rss>")

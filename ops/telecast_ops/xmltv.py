"""XMLTV listings: parsed safely, checked, and turned into typed programme entries.

The parser is defusedxml's: entity declarations and external references are refused, so a
listing can neither expand into gigabytes nor read local files. The external DTD that
XMLTV files name in their DOCTYPE is never fetched.

Times are `YYYYMMDDhhmmss` (or a leading part of it, down to `YYYYMMDD`) with an optional
`+hhmm`/`-hhmm` offset; a time without one is wall-clock time in the default zone. Every
time goes through `telecast.time_rules`, the rules the stream function applies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from telecast.time_rules import TimeValueError, parse_time, to_iso_utc

_XMLTV_TIME = re.compile(
    r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})"
    r"(?:(?P<hour>\d{2})(?:(?P<minute>\d{2})(?P<second>\d{2})?)?)?"
    r"(?:\s*(?P<offset>[+-]\d{4}|UTC|GMT|Z))?",
    re.ASCII,
)
_XML_BLANKS = " \t\r\n"
_MILLISECOND = timedelta(milliseconds=1)


class ListingError(ValueError):
    """A file that cannot be read as an XMLTV listing at all: nothing of it is imported."""


class ListingRefused(ListingError):
    """A document refused for safety (entities or external references): nothing is imported."""


class Severity(StrEnum):
    """An error rejects the programme; a warning is reported and the programme is kept."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Defect:
    """Something wrong with one element of the listing, and where it is."""

    line: int
    severity: Severity
    reason: str
    index: int | None = None
    channel_id: str | None = None

    def describe(self, source: str) -> str:
        """One line in the `file:line: severity: ...` form of compilers and linters."""
        where = f"programme {self.index}" if self.index is not None else "channel"
        if self.channel_id:
            where += f" ({self.channel_id})"
        return f"{source}:{self.line}: {self.severity}: {where}: {self.reason}"


@dataclass(frozen=True)
class Channel:
    """A `<channel>`: its id and its display names with their languages."""

    channel_id: str
    line: int
    names: tuple[tuple[str | None, str], ...] = ()

    def display_name(self, lang: str | None) -> str:
        """The display name chosen by the language rule, or the id when there is none."""
        return choose_text(self.names, lang) or self.channel_id


@dataclass(frozen=True)
class RawProgramme:
    """A `<programme>` as written, with its 1-based position and the line it starts on."""

    index: int
    line: int
    channel_id: str | None
    start: str | None
    stop: str | None
    titles: tuple[tuple[str | None, str], ...] = ()


@dataclass(frozen=True)
class Listing:
    """Everything read from one XMLTV document."""

    channels: dict[str, Channel]
    programmes: tuple[RawProgramme, ...]
    defects: tuple[Defect, ...] = ()


@dataclass(frozen=True)
class Entry:
    """A programme whose channel is known and whose times are instants, start before end."""

    index: int
    line: int
    channel_id: str
    channel_name: str
    start: datetime
    end: datetime
    title: str | None

    @property
    def program_id(self) -> str:
        """The item key: see `program_id_for`."""
        return program_id_for(self.channel_id, self.start)


@dataclass(frozen=True)
class Entries:
    """The entries worth writing, every defect found, and what could be identified."""

    read: int
    entries: tuple[Entry, ...]
    defects: tuple[Defect, ...]
    # (channel id, start) of every programme whose channel and start are usable, even when
    # it was rejected: re-import never prunes a programme the listing still names.
    named: tuple[tuple[str, datetime], ...] = field(default=())


def program_id_for(channel_id: str, start: datetime) -> str:
    """`<channel id>-<start in UTC as YYYYMMDDTHHMMSSZ>`, with `.mmm` before the Z if needed."""
    stamp = to_iso_utc(start).replace("-", "").replace(":", "")
    return f"{channel_id}-{stamp}"


def parse_xmltv_time(text: str, default_zone: str) -> datetime:
    """Read an XMLTV time as a UTC instant; raise TimeValueError saying why it is not one."""
    match = _XMLTV_TIME.fullmatch(text.strip(_XML_BLANKS))
    if match is None:
        raise TimeValueError(
            f"{text!r} is not an XMLTV time: write YYYYMMDDhhmmss with an optional "
            "+hhmm or -hhmm offset (20260328200000 +0900)"
        )
    parts = match.groupdict()
    iso = (
        f"{parts['year']}-{parts['month']}-{parts['day']}T{parts['hour'] or '00'}:"
        f"{parts['minute'] or '00'}:{parts['second'] or '00'}"
    )
    offset = parts["offset"]
    if offset in ("UTC", "GMT", "Z"):
        iso += "Z"
    elif offset is not None:
        iso += f"{offset[:3]}:{offset[3:]}"
    try:
        return parse_time(iso, default_zone).instant
    except TimeValueError as error:
        # The time rules list the forms a stored item accepts; they mean nothing in XMLTV.
        detail = str(error).split("; accepted:", 1)[0]
        raise TimeValueError(f"{text!r} is not a valid time: {detail}") from error


def choose_text(options: Sequence[tuple[str | None, str]], lang: str | None) -> str | None:
    """The first text in `lang` (or a subtag of it, `ja` matching `ja-JP`), else the first."""
    if not options:
        return None
    if lang:
        wanted = lang.casefold()
        for text_lang, text in options:
            written = (text_lang or "").casefold()
            if written == wanted or written.startswith(f"{wanted}-"):
                return text
    return options[0][1]


def read_listing(data: bytes) -> Listing:
    """Parse an XMLTV document; raise ListingRefused or ListingError if it cannot be read."""
    builder = _ListingBuilder()
    parser: Any = DefusedXMLParser(
        target=builder, forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    builder.locate = lambda: int(parser.parser.CurrentLineNumber)
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException as error:
        raise ListingRefused(
            f"refused: the document {_refusal(error)}; an XMLTV listing needs no entities "
            "or external references, and they are how billion-laughs and external-entity "
            "attacks work"
        ) from error
    except ParseError as error:
        line, column = error.position
        raise ListingError(f"not well-formed XML at line {line}, column {column}") from error
    if builder.root != "tv":
        raise ListingError(f"not an XMLTV listing: the root element is <{builder.root}>, not <tv>")
    return builder.listing()


def to_entries(listing: Listing, default_zone: str, lang: str | None = None) -> Entries:
    """Check every programme: unusable ones become errors, overlaps become warnings.

    Titles and channel names follow the language rule of `choose_text` with `lang`.
    """
    defects = list(listing.defects)
    candidates: list[Entry] = []
    named: list[tuple[str, datetime]] = []
    for raw in listing.programmes:
        entry, problems, start = _check(raw, listing.channels, default_zone, lang)
        defects.extend(problems)
        if raw.channel_id in listing.channels and start is not None:
            named.append((raw.channel_id, start))
        if entry is not None:
            candidates.append(entry)

    entries, clashes = check_channel_order(candidates)
    defects.extend(clashes)
    defects.sort(key=lambda defect: (defect.line, defect.index or 0))
    return Entries(len(listing.programmes), tuple(entries), tuple(defects), tuple(named))


def check_channel_order(entries: Iterable[Entry]) -> tuple[list[Entry], list[Defect]]:
    """Reject a second programme at the same channel and start; warn of overlaps."""
    by_channel: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_channel[entry.channel_id].append(entry)

    kept: list[Entry] = []
    defects: list[Defect] = []
    for channel_entries in by_channel.values():
        previous: Entry | None = None  # the last kept, in order of start
        latest: Entry | None = None  # the kept one that ends last
        for entry in sorted(channel_entries, key=lambda each: (each.start, each.index)):
            if previous is not None and entry.start == previous.start:
                defects.append(_defect(entry, Severity.ERROR, _same_start(previous)))
                continue
            if latest is not None and entry.start < latest.end:
                defects.append(_defect(entry, Severity.WARNING, _overlap(latest)))
            kept.append(entry)
            previous = entry
            if latest is None or entry.end > latest.end:
                latest = entry
    kept.sort(key=lambda entry: entry.index)
    return kept, defects


@dataclass(frozen=True)
class Retiming:
    """Moves a listing: `origin` goes to `anchor`, and durations are divided by `speed`."""

    origin: datetime
    anchor: datetime
    speed: float = 1.0

    def __call__(self, instant: datetime) -> datetime:
        """The new instant, to the millisecond (so the id and the stored time agree)."""
        moved = self.anchor + (instant - self.origin) / self.speed
        whole = moved.replace(microsecond=0)
        return whole + round((moved - whole) / _MILLISECOND) * _MILLISECOND

    def apply(self, entry: Entry) -> Entry:
        """The entry at its new times."""
        return replace(entry, start=self(entry.start), end=self(entry.end))


def plan_retiming(
    entries: Sequence[Entry], now: datetime, start_in: float | None, speed: float | None
) -> Retiming | None:
    """START_IN puts the first start `start_in` s after now (whole second); SPEED compresses."""
    if not entries or (start_in is None and speed is None):
        return None
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be a positive factor, not {speed}")
    origin = min(entry.start for entry in entries)
    anchor = origin
    if start_in is not None:
        anchor = (now + timedelta(seconds=start_in)).replace(microsecond=0)
    return Retiming(origin, anchor, speed or 1.0)


def _check(
    raw: RawProgramme, channels: dict[str, Channel], default_zone: str, lang: str | None
) -> tuple[Entry | None, list[Defect], datetime | None]:
    problems: list[str] = []
    channel = channels.get(raw.channel_id or "")
    if not raw.channel_id:
        problems.append("has no channel attribute")
    elif channel is None:
        problems.append(f"names channel {raw.channel_id!r}, which no <channel> declares")

    start = _read_time(raw.start, "start", default_zone, problems)
    end = _read_time(raw.stop, "stop", default_zone, problems)
    if start is not None and end is not None and end <= start:
        relation = "equals" if end == start else "is before"
        problems.append(f"stop {to_iso_utc(end)} {relation} start {to_iso_utc(start)}")

    defects = [
        Defect(raw.line, Severity.ERROR, problem, raw.index, raw.channel_id) for problem in problems
    ]
    title = choose_text(raw.titles, lang)
    if not problems and title is None:
        defects.append(
            Defect(raw.line, Severity.WARNING, "has no title", raw.index, raw.channel_id)
        )
    if problems or channel is None or start is None or end is None:
        return None, defects, start
    name = channel.display_name(lang)
    entry = Entry(raw.index, raw.line, channel.channel_id, name, start, end, title)
    return entry, defects, start


def _read_time(
    text: str | None, name: str, default_zone: str, problems: list[str]
) -> datetime | None:
    if text is None or not text.strip(_XML_BLANKS):
        problems.append(f"has no {name} time")
        return None
    try:
        return parse_xmltv_time(text, default_zone)
    except TimeValueError as error:
        problems.append(f"{name} time {error}")
        return None


def _defect(entry: Entry, severity: Severity, reason: str) -> Defect:
    return Defect(entry.line, severity, reason, entry.index, entry.channel_id)


def _same_start(earlier: Entry) -> str:
    return (
        f"starts at {to_iso_utc(earlier.start)} like programme {earlier.index} "
        f"(line {earlier.line}) on the same channel: both would have the same programme id"
    )


def _overlap(earlier: Entry) -> str:
    return (
        f"overlaps programme {earlier.index} (line {earlier.line}), which runs until "
        f"{to_iso_utc(earlier.end)}"
    )


def _refusal(error: DefusedXmlException) -> str:
    name = type(error).__name__
    if name == "EntitiesForbidden":
        return f"declares an entity ({getattr(error, 'name', '?')!r})"
    if name == "ExternalReferenceForbidden":
        return f"refers to an external resource ({getattr(error, 'sysid', '?')!r})"
    return "uses a DTD feature this importer does not allow"


class _ListingBuilder:
    """Parser target: keeps channels and programmes with the line each starts on."""

    def __init__(self) -> None:
        self.locate: Callable[[], int] = lambda: 0
        self.root: str | None = None
        self._path: list[str] = []
        self._channels: dict[str, Channel] = {}
        self._programmes: list[RawProgramme] = []
        self._defects: list[Defect] = []
        self._open: dict[str, Any] = {}
        self._texts: list[tuple[str | None, str]] = []
        self._text: list[str] | None = None
        self._text_lang: str | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        """Open an element: record where channels and programmes begin."""
        parent = self._path[-1] if self._path else None
        self._path.append(tag)
        if parent is None:
            self.root = tag
        elif parent == "tv" and tag in ("channel", "programme"):
            self._open = {"tag": tag, "line": self.locate(), **attrs}
            self._texts = []
        elif (parent, tag) in (("channel", "display-name"), ("programme", "title")):
            self._text, self._text_lang = [], attrs.get("lang")

    def data(self, text: str) -> None:
        """Collect the text of a title or display name."""
        if self._text is not None:
            self._text.append(text)

    def end(self, tag: str) -> None:
        """Close an element: finish a text, a channel or a programme."""
        self._path.pop()
        if self._text is not None:
            text = "".join(self._text).strip(_XML_BLANKS)
            if text:
                self._texts.append((self._text_lang, text))
            self._text = None
        elif self._path == ["tv"] and tag == "channel":
            self._close_channel()
        elif self._path == ["tv"] and tag == "programme":
            self._close_programme()

    def close(self) -> None:
        """End of document."""

    def listing(self) -> Listing:
        """What was read."""
        return Listing(dict(self._channels), tuple(self._programmes), tuple(self._defects))

    def _close_channel(self) -> None:
        line, channel_id = self._open["line"], self._open.get("id", "")
        if not channel_id:
            self._defects.append(Defect(line, Severity.WARNING, "<channel> has no id: ignored"))
        elif channel_id in self._channels:
            first = self._channels[channel_id].line
            reason = f"declared again (first at line {first}): the first declaration is used"
            self._defects.append(Defect(line, Severity.WARNING, reason, channel_id=channel_id))
        else:
            self._channels[channel_id] = Channel(channel_id, line, tuple(self._texts))

    def _close_programme(self) -> None:
        opened = self._open
        self._programmes.append(
            RawProgramme(
                index=len(self._programmes) + 1,
                line=opened["line"],
                channel_id=opened.get("channel"),
                start=opened.get("start"),
                stop=opened.get("stop"),
                titles=tuple(self._texts),
            )
        )

"""Notification: the request a schedule carries, and the message subscribers get."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from telecast.notification import (
    InvalidRequest,
    build_notification,
    parse_request,
    stale_reason,
)
from telecast.programme import Programme, parse_programme
from telecast.schedule_plan import Edge, NotificationRequest, schedule_name

START = datetime(2026, 10, 27, 11, 34, tzinfo=UTC)
END = datetime(2026, 10, 27, 12, 34, tzinfo=UTC)


def programme(**changes: Any) -> Programme:
    """A valid programme, read from an item like the stream would."""
    item = {
        "program_id": "prog-1",
        "start_time": "2026-10-27T11:34:00Z",
        "end_time": "2026-10-27T12:34:00Z",
        "title": "Evening News",
        "channel": "BBC One",
        **changes,
    }
    return parse_programme({k: v for k, v in item.items() if v is not None}, "UTC")


def start_request(catch_up: bool = False) -> NotificationRequest:
    """The START request of the sample programme."""
    return NotificationRequest("prog-1", Edge.START, START, catch_up=catch_up)


# --- NotificationRequest payloads ----------------------------------------------------------


def test_a_request_payload_names_the_programme_edge_instant_and_schedule() -> None:
    # given the START request of a programme
    # when it is turned into a schedule's input
    payload = start_request().to_payload()

    # then it carries the id, the edge, the instant in UTC with Z and the schedule name
    assert payload == {
        "program_id": "prog-1",
        "event_type": "START",
        "scheduled_for": "2026-10-27T11:34:00Z",
        "schedule_name": schedule_name("prog-1", Edge.START),
    }


def test_a_catch_up_request_says_so_in_its_payload() -> None:
    # given a catch-up request, when turned into a payload, then it is flagged
    assert start_request(catch_up=True).to_payload()["catch_up"] is True


def test_a_request_as_json_is_compact_and_keeps_unicode_ids() -> None:
    # given a request for a programme with a Japanese id
    request = NotificationRequest("番組-1", Edge.END, END)

    # when written as JSON
    text = request.to_json()

    # then it is compact, unescaped, and reads back as the payload
    assert "番組-1" in text
    assert ", " not in text
    assert json.loads(text) == request.to_payload()


@pytest.mark.parametrize(
    "scheduled_for",
    [START, START + timedelta(milliseconds=250), START + timedelta(microseconds=250_500)],
)
def test_a_request_survives_the_trip_through_a_schedule_and_is_not_stale(
    scheduled_for: datetime,
) -> None:
    # given a request for a programme starting at an instant with any sub-second part
    text = f"2026-10-27T11:34:{scheduled_for.second:02d}.{scheduled_for.microsecond:06d}Z"
    current = programme(start_time=text)
    request = NotificationRequest("prog-1", Edge.START, current.start, catch_up=True)

    # when it goes through a schedule's input and back
    received = parse_request(json.loads(request.to_json()))

    # then it is the same request, and the notifier does not take it for stale
    assert received == request
    assert stale_reason(received, current) is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([], "event must be a JSON object"),
        ({"event_type": "START", "scheduled_for": "2026-10-27T11:34:00Z"}, "program_id"),
        ({"program_id": "p", "event_type": "MIDDLE", "scheduled_for": "x"}, "event_type"),
        ({"program_id": "p", "event_type": "END", "scheduled_for": "2026-10-27"}, "ISO 8601"),
        ({"program_id": "p", "event_type": "END", "scheduled_for": None}, "ISO 8601"),
    ],
)
def test_a_malformed_notifier_event_is_refused_with_a_reason(event: Any, message: str) -> None:
    # given an event that is not a programme edge request, when read, then it is refused
    with pytest.raises(InvalidRequest, match=message):
        parse_request(event)


def test_a_request_whose_programme_moved_is_stale() -> None:
    # given a START request for 11:34 and a programme now starting at 11:44
    moved = programme(start_time="2026-10-27T11:44:00Z")

    # when checked, then the reason gives the new time
    assert (
        stale_reason(start_request(), moved) == "programme's START time is now 2026-10-27T11:44:00Z"
    )


def test_a_request_whose_programme_went_is_stale() -> None:
    # given no programme, when checked, then the request is stale
    assert stale_reason(start_request(), None) is not None


# --- build_notification ----------------------------------------------------------------------


def test_the_body_carries_every_field_with_times_in_utc_with_z() -> None:
    # given a programme in London, announced on time
    current = programme(timezone="Europe/London")

    # when its START message is built
    body = build_notification(start_request(), current, START + timedelta(seconds=2)).body

    # then the body has the programme's fields and ISO 8601 UTC times
    assert body == {
        "event_type": "START",
        "program_id": "prog-1",
        "title": "Evening News",
        "channel": "BBC One",
        "start_time": "2026-10-27T11:34:00Z",
        "end_time": "2026-10-27T12:34:00Z",
        "timezone": "Europe/London",
        "scheduled_for": "2026-10-27T11:34:00Z",
        "published_at": "2026-10-27T11:34:02Z",
        "late": False,
        "lateness_ms": 2000,
    }


def test_the_attributes_carry_the_channel_for_filter_policies() -> None:
    # given a programme on a channel, when its message is built
    notification = build_notification(start_request(), programme(), START)

    # then subscribers can filter on edge, programme and channel
    assert notification.sns_attributes() == {
        "event_type": {"DataType": "String", "StringValue": "START"},
        "program_id": {"DataType": "String", "StringValue": "prog-1"},
        "channel": {"DataType": "String", "StringValue": "BBC One"},
    }


def test_the_attributes_leave_out_a_missing_channel() -> None:
    # given a programme without a channel, when its message is built
    notification = build_notification(start_request(), programme(channel=None), START)

    # then there is no empty channel attribute (SNS refuses empty values)
    assert set(notification.attributes) == {"event_type", "program_id"}
    assert notification.body["channel"] is None


def test_a_message_published_within_a_minute_is_not_late() -> None:
    # given a START published 59 seconds after its time, when built
    body = build_notification(start_request(), programme(), START + timedelta(seconds=59)).body

    # then it is not marked late
    assert body["late"] is False


def test_a_message_published_more_than_a_minute_after_is_late() -> None:
    # given a START published 90 seconds after its time, when built
    body = build_notification(start_request(), programme(), START + timedelta(seconds=90)).body

    # then it is late by 90 seconds
    assert (body["late"], body["lateness_ms"]) == (True, 90_000)


def test_a_message_held_until_due_reports_no_negative_lateness() -> None:
    # given a START published a moment before its time, when built
    body = build_notification(start_request(), programme(), START - timedelta(seconds=1)).body

    # then its lateness is zero, not negative
    assert (body["late"], body["lateness_ms"]) == (False, 0)


def test_a_late_start_in_tokyo_says_so_in_local_time_with_the_title_intact() -> None:
    # given a Japanese programme in Tokyo that was already on air when written
    current = programme(title="ニュース７", channel="NHK総合", timezone="Asia/Tokyo")
    request = start_request(catch_up=True)

    # when its START is published twelve minutes late
    notification = build_notification(request, current, START + timedelta(minutes=12))

    # then the sentence shows the title, channel and Tokyo time, and how late it is
    assert notification.sentence == (
        "ニュース７ on NHK総合 has started (20:34 JST, 27 Oct 2026) (announced 12 min late)."
    )
    assert notification.body["late"] is True
    assert notification.body["title"] == "ニュース７"


def test_an_end_in_london_reads_in_greenwich_time_after_the_clocks_go_back() -> None:
    # given a London programme ending after the October clock change
    current = programme(timezone="Europe/London")
    request = NotificationRequest("prog-1", Edge.END, END)

    # when its END is published on time
    notification = build_notification(request, current, END)

    # then the sentence uses the local time and abbreviation of that day
    assert notification.sentence == "Evening News on BBC One has ended (12:34 GMT, 27 Oct 2026)."


def test_a_programme_without_title_or_channel_is_named_by_its_id() -> None:
    # given a programme with neither title nor channel, when its START is built
    current = programme(title=None, channel=None)
    notification = build_notification(start_request(), current, START)

    # then the sentence names it by its id
    assert notification.sentence == "Programme prog-1 has started (11:34 UTC, 27 Oct 2026)."


def test_a_catch_up_less_than_a_minute_late_does_not_say_zero_minutes() -> None:
    # given a programme written 40 seconds after it started
    request = start_request(catch_up=True)

    # when its START is published at once
    notification = build_notification(request, programme(), START + timedelta(seconds=40))

    # then the sentence says how late it is without claiming zero minutes
    assert "0 min late" not in notification.sentence
    assert notification.body["late"] is True


def test_the_sns_message_has_json_for_machines_and_a_sentence_for_people() -> None:
    # given a built notification
    notification = build_notification(start_request(), programme(title="ニュース７"), START)

    # when shaped for SNS
    message = json.loads(notification.sns_message())

    # then every JSON protocol gets the body, email and SMS get the sentence
    assert message["default"] == message["sqs"] == message["lambda"] == message["https"]
    assert json.loads(message["default"]) == notification.body
    assert message["email"] == message["sms"] == notification.sentence
    assert "ニュース７" in notification.sns_message()

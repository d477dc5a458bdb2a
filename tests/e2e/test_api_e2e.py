"""End to end on the local runtime: programmes written through the HTTP API notify on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from support import iso, unique_id

pytestmark = pytest.mark.e2e

TIMEOUT = 30


@pytest.fixture(scope="module")
def api_url(local_stack: dict[str, str]) -> str:
    return local_stack["ApiUrl"]


def _create(api_url: str, program_id: str, start: datetime, end: datetime) -> requests.Response:
    body = {
        "program_id": program_id,
        "title": "API news",
        "channel": "E2E API",
        "start_time": iso(start),
        "end_time": iso(end),
    }
    response = requests.post(f"{api_url}/programs", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response


def _received(message: dict[str, Any]) -> datetime:
    received: datetime = message["_received_at"]
    return received


def test_an_overrunning_programme_moves_its_end_message_through_patch(
    api_url: str, inbox: Any
) -> None:
    # Given a programme created through the API that starts in a few seconds
    program_id = unique_id("e2e-api-overrun")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    end = start + timedelta(seconds=30)
    created = _create(api_url, program_id, start, end)

    # When it has started, its end is moved ten seconds later with its ETag
    started = inbox.wait_for(program_id, 1, timeout=60)
    assert [m["event_type"] for m in started] == ["START"]
    moved = end + timedelta(seconds=10)
    patched = requests.patch(
        f"{api_url}/programs/{program_id}",
        json={"end_time": iso(moved)},
        headers={"If-Match": created.headers["ETag"]},
        timeout=TIMEOUT,
    )
    assert patched.status_code == 200, patched.text

    # Then one END arrives, for the new end and not before it
    wait = (moved - datetime.now(UTC)).total_seconds() + 45
    messages = inbox.wait_for(program_id, 2, timeout=wait)
    assert [m["event_type"] for m in messages] == ["START", "END"]
    assert messages[0]["scheduled_for"] == iso(start)
    assert messages[1]["scheduled_for"] == iso(moved)
    assert _received(messages[1]) >= moved - timedelta(seconds=1)
    time.sleep(2)
    assert len(inbox.of(program_id)) == 2

    # And GET shows the notification status the pipeline wrote back
    shown = requests.get(f"{api_url}/programs/{program_id}", timeout=TIMEOUT).json()
    assert shown["end_time"] == iso(moved)
    assert shown["notification_status"] == "ENDED"


def test_a_programme_deleted_through_the_api_sends_nothing(api_url: str, inbox: Any) -> None:
    # Given a programme that starts in a few seconds
    program_id = unique_id("e2e-api-deleted")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=8)
    end = start + timedelta(seconds=4)
    created = _create(api_url, program_id, start, end)

    # When it is deleted with its ETag before it starts
    deleted = requests.delete(
        f"{api_url}/programs/{program_id}",
        headers={"If-Match": created.headers["ETag"]},
        timeout=TIMEOUT,
    )

    # Then it is gone and no message arrives for it, well past its end
    assert deleted.status_code == 204
    gone = requests.get(f"{api_url}/programs/{program_id}", timeout=TIMEOUT)
    assert gone.status_code == 404
    time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 15)
    assert inbox.of(program_id) == []


def test_the_api_lists_what_it_created_and_serves_its_openapi_document(api_url: str) -> None:
    # Given two programmes on a channel of their own
    channel = unique_id("e2e-channel")
    start = datetime(2031, 3, 1, 9, tzinfo=UTC)
    for index in range(2):
        body = {
            "start_time": iso(start + timedelta(hours=index)),
            "end_time": iso(start + timedelta(hours=index, minutes=30)),
            "channel": channel,
        }
        assert requests.post(f"{api_url}/programs", json=body, timeout=TIMEOUT).status_code == 201

    # When the channel is listed by start time, one per page
    first = requests.get(
        f"{api_url}/programs",
        params={"channel": channel, "from": "2031-03-01T00:00:00Z", "limit": 1},
        timeout=TIMEOUT,
    ).json()
    second = requests.get(
        f"{api_url}/programs",
        params={
            "channel": channel,
            "from": "2031-03-01T00:00:00Z",
            "next_token": first["next_token"],
        },
        timeout=TIMEOUT,
    ).json()

    # Then the pages hold them in order, and the OpenAPI document is served
    assert [item["start_time"] for item in first["items"] + second["items"]] == [
        "2031-03-01T09:00:00Z",
        "2031-03-01T10:00:00Z",
    ]
    document = requests.get(f"{api_url}/openapi.json", timeout=TIMEOUT).json()
    assert "/programs/{program_id}" in document["paths"]

"""The API handler on moto: every route and every error, through payload-2.0 events.

The table is created from template.yaml's own definition (keys and indexes), so a change to
the template's indexes that the store does not follow fails here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

import api_handler
from support import REGION, ROOT, LambdaContext, load_event, utc
from telecast.api_models import MAX_BODY_BYTES

TABLE = "programmes"


class _CfnLoader(yaml.SafeLoader):
    """Reads template.yaml, keeping each intrinsic function's argument as plain data."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _intrinsic)


def _table_properties() -> dict[str, Any]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    return dict(template["Resources"]["ProgrammesTable"]["Properties"])


def create_table_like_template() -> None:
    """The programme table with the template's attributes, key schema and indexes."""
    props = _table_properties()
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


class Api:
    """Sends requests to the handler as API Gateway would, and reads the responses."""

    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> Response:
        event = deepcopy(load_event("api-get.json"))
        route = "/programs/{program_id}" if path.count("/") > 1 else path
        event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["requestContext"]["http"]["method"] = method
        event.pop("pathParameters", None)
        event["headers"] = {"host": event["headers"]["host"], **(headers or {})}
        event["rawQueryString"] = urlencode(query or {})
        if query:
            event["queryStringParameters"] = query
        text = raw_body if raw_body is not None else None if body is None else json.dumps(body)
        if text is not None:
            event["body"] = text
            event["headers"].setdefault("content-type", "application/json")
        reply = api_handler.handler(event, LambdaContext())
        return Response(reply)

    def create(self, **fields: Any) -> Response:
        body = {"start_time": "2026-10-27T18:00:00Z", "end_time": "2026-10-27T18:30:00Z"}
        response = self.request("POST", "/programs", {**body, **fields})
        assert response.status == 201, response.body
        return response


class Response:
    """A handler reply: status, headers (lower-case names) and the decoded JSON body."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.status = int(reply["statusCode"])
        self.headers = {name.lower(): value for name, value in reply.get("headers", {}).items()}
        self.raw_body = reply.get("body")
        text = self.raw_body or ""
        if reply.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        self.body: Any = json.loads(text) if text else None

    @property
    def field_errors(self) -> dict[str, str]:
        return {error["field"]: error["message"] for error in self.body["errors"]}


@pytest.fixture
def api(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    create_table_like_template()
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Europe/London")
    api_handler.store.cache_clear()
    yield Api()
    api_handler.store.cache_clear()


def _is_error_body(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"message", "errors"}
        and all(set(error) == {"field", "message"} for error in body["errors"])
    )


# ---------------------------------------------------------------- sample events
@pytest.mark.parametrize(
    ("event_name", "status"),
    [
        ("api-create.json", 201),
        ("api-get.json", 200),
        ("api-list.json", 200),
        ("api-patch.json", 412),
        ("api-replace.json", 412),
        ("api-delete.json", 412),
        ("api-openapi.json", 200),
    ],
)
def test_each_sample_event_is_routed_and_answered(api: Api, event_name: str, status: int) -> None:
    # Given the sample programme stored, unless the sample is the one that creates it
    if event_name != "api-create.json":
        api_handler.handler(load_event("api-create.json"), LambdaContext())

    # When the sample event arrives (its If-Match names a revision that no longer exists)
    reply = Response(api_handler.handler(load_event(event_name), LambdaContext()))

    # Then the route answers it
    assert reply.status == status, reply.body


# ---------------------------------------------------------------- POST /programs
def test_create_stores_normalised_times_with_the_zone_and_answers_201_with_location(
    api: Api,
) -> None:
    # Given a programme in London local time, during British Summer Time
    body = {
        "program_id": "news-1",
        "title": "Evening News",
        "channel": "Channel 1",
        "start_time": "2026-10-24T18:00:00",
        "end_time": "24 October 2026, 6:30PM",
        "timezone": "Europe/London",
    }

    # When it is created
    response = api.request("POST", "/programs", body)

    # Then the times are UTC with Z, the zone is kept, and the headers name it
    assert response.status == 201
    assert response.headers["location"] == "/programs/news-1"
    assert response.body["start_time"] == "2026-10-24T17:00:00Z"
    assert response.body["end_time"] == "2026-10-24T17:30:00Z"
    assert response.body["timezone"] == "Europe/London"
    assert response.headers["etag"] == response.body["etag"]
    stored = api.dynamodb.get_item(TableName=TABLE, Key={"program_id": {"S": "news-1"}})["Item"]
    assert stored["start_time"] == {"S": "2026-10-24T17:00:00Z"}
    assert stored["timezone"] == {"S": "Europe/London"}


def test_create_without_an_id_generates_one(api: Api) -> None:
    # When a programme is created without program_id
    response = api.create()

    # Then it gets a generated id, reachable at its Location
    program_id = response.body["program_id"]
    assert len(program_id) == 36
    assert api.request("GET", response.headers["location"]).status == 200


def test_create_with_local_times_and_no_zone_keeps_the_default_zone(api: Api) -> None:
    # When local times are sent without a timezone
    response = api.create(start_time="2026-12-01T20:00", end_time="2026-12-01T21:00")

    # Then they are read in the default zone, which is kept on the programme
    assert response.body["start_time"] == "2026-12-01T20:00:00Z"
    assert response.body["timezone"] == "Europe/London"


def test_create_with_offset_times_and_no_zone_keeps_no_zone(api: Api) -> None:
    # When times carry their own offset and no timezone is sent
    response = api.create(start_time="2026-12-01T20:00:00+01:00", end_time=1796158800)

    # Then no zone is stored: the offsets already made the instants unambiguous
    assert response.body["start_time"] == "2026-12-01T19:00:00Z"
    assert response.body["end_time"] == "2026-12-01T21:00:00Z"
    assert response.body["timezone"] is None


def test_create_with_an_existing_id_is_a_conflict(api: Api) -> None:
    # Given a programme
    api.create(program_id="taken")

    # When another is created with the same id
    response = api.request(
        "POST",
        "/programs",
        {"program_id": "taken", "start_time": "2026-11-01T10:00Z", "end_time": 1793534400},
    )

    # Then it is refused with 409 and the first one is untouched
    assert response.status == 409
    assert response.field_errors == {"program_id": "is taken"}
    assert api.request("GET", "/programs/taken").body["start_time"] == "2026-10-27T18:00:00Z"


def test_create_lists_every_field_error_with_the_time_rules_messages(api: Api) -> None:
    # When a programme has a bad start, no end and a channel that is not text
    response = api.request("POST", "/programs", {"start_time": "tomorrow", "channel": 1})

    # Then 422 lists each field with the messages the stream function would give
    assert response.status == 422
    assert _is_error_body(response.body)
    assert set(response.field_errors) == {"start_time", "end_time", "channel"}
    assert "is not a recognised time" in response.field_errors["start_time"]
    assert response.field_errors["end_time"].startswith("is missing")


def test_create_with_an_unknown_zone_names_it(api: Api) -> None:
    response = api.request(
        "POST", "/programs", {"start_time": "2026-10-27T18:00", "end_time": 1, "timezone": "Mars"}
    )

    assert response.status == 422
    assert "unknown time zone" in response.field_errors["timezone"]


def test_create_refuses_an_end_before_the_start(api: Api) -> None:
    response = api.request(
        "POST", "/programs", {"start_time": "2026-10-27T18:00Z", "end_time": "2026-10-27T17:00Z"}
    )

    assert response.status == 422
    assert response.field_errors == {
        "end_time": "must be strictly after start_time (both read as instants)"
    }


def test_create_reports_missing_and_mistyped_fields_in_the_time_rules_words(api: Api) -> None:
    response = api.request("POST", "/programs", {"end_time": True, "title": 7})

    assert response.status == 422
    assert set(response.field_errors) == {"start_time", "end_time", "title"}
    assert response.field_errors["start_time"].startswith("is missing")
    assert "boolean" in response.field_errors["end_time"]


def test_create_refuses_unknown_fields(api: Api) -> None:
    response = api.request(
        "POST",
        "/programs",
        {"start_time": "2026-10-27T18:00Z", "end_time": "2026-10-27T19:00Z", "colour": "red"},
    )

    assert response.status == 422
    assert response.field_errors == {"colour": "is not a field of a programme"}


def test_create_refuses_an_id_that_cannot_sit_in_a_url(api: Api) -> None:
    response = api.request(
        "POST",
        "/programs",
        {"program_id": "a/b", "start_time": "2026-10-27T18:00Z", "end_time": "2026-10-27T19:00Z"},
    )

    assert response.status == 422
    assert "letters, digits" in response.field_errors["program_id"]


@pytest.mark.parametrize(
    "raw_body", ['{"start_time": ', "not json", "[1, 2", "9" * 5000, "[" * 5000]
)
def test_malformed_json_is_a_400(api: Api, raw_body: str) -> None:
    response = api.request("POST", "/programs", raw_body=raw_body)

    assert response.status == 400
    assert response.body["message"] == "the body is not valid JSON"


@pytest.mark.parametrize("raw_body", ["[]", '"a programme"', "null", "42"])
def test_a_body_that_is_not_an_object_is_a_400(api: Api, raw_body: str) -> None:
    response = api.request("POST", "/programs", raw_body=raw_body)

    assert response.status == 400
    assert response.field_errors == {"body": "must be a JSON object"}


def test_a_missing_body_is_a_400(api: Api) -> None:
    response = api.request("POST", "/programs")

    assert response.status == 400
    assert _is_error_body(response.body)


def test_a_body_over_the_limit_is_a_413(api: Api) -> None:
    # Given a body one byte over the limit
    padding = "x" * MAX_BODY_BYTES
    response = api.request("POST", "/programs", {"title": padding})

    # Then it is refused before it is parsed
    assert response.status == 413
    assert _is_error_body(response.body)


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain; charset=utf-8"],
)
def test_a_body_of_another_media_type_is_a_415(api: Api, content_type: str) -> None:
    response = api.request(
        "PATCH", "/programs/p1", raw_body="title=x", headers={"content-type": content_type}
    )

    assert response.status == 415
    assert response.body["message"] == "send the body as application/json"


def test_an_unknown_query_parameter_is_a_400(api: Api) -> None:
    # When a filter is misspelt
    response = api.request("GET", "/programs", query={"chanel": "One"})

    # Then it is refused rather than ignored (which would list every channel)
    assert response.status == 400
    assert response.field_errors == {"chanel": "is not a query parameter of this route"}


def test_a_base64_body_that_is_not_utf8_is_a_400(api: Api) -> None:
    event = load_event("api-create.json")
    event["body"] = base64.b64encode(b"\xff\xfe{").decode()
    event["isBase64Encoded"] = True

    reply = Response(api_handler.handler(event, LambdaContext()))

    assert reply.status == 400
    assert reply.body["message"] == "the body is not UTF-8 text"


# ---------------------------------------------------------------- GET /programs/{id}
def test_get_shows_the_notification_status_written_by_the_stream(api: Api) -> None:
    # Given a programme whose status the stream function wrote
    etag = api.create(program_id="p1").headers["etag"]
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"program_id": {"S": "p1"}},
        UpdateExpression="SET notification_status = :s, notification_updated_at = :t",
        ExpressionAttributeValues={":s": {"S": "SCHEDULED"}, ":t": {"S": "2026-10-27T10:00:00Z"}},
    )

    # When it is read
    response = api.request("GET", "/programs/p1")

    # Then the status shows, and the ETag is unchanged by the status write
    assert response.status == 200
    assert response.body["notification_status"] == "SCHEDULED"
    assert response.body["notification_updated_at"] == "2026-10-27T10:00:00Z"
    assert response.headers["etag"] == etag
    assert not any(name.startswith("gsi_") for name in response.body)


def test_get_of_an_unknown_id_is_a_404(api: Api) -> None:
    response = api.request("GET", "/programs/nothing-here")

    assert response.status == 404
    assert response.body == {"message": "no programme has this id", "errors": []}


def test_get_reads_an_id_written_directly_to_the_table_with_url_escapes(api: Api) -> None:
    # Given an item written straight to the table, with an id holding a space
    api.dynamodb.put_item(
        TableName=TABLE,
        Item={
            "program_id": {"S": "late film"},
            "start_time": {"S": "2026-10-27 22:00"},
            "end_time": {"N": "1793142000"},
        },
    )

    # When it is read through its escaped URL
    response = api.request("GET", f"/programs/{quote('late film')}")

    # Then it is shown with normalised times and an ETag derived from its content
    assert response.status == 200
    assert response.body["start_time"] == "2026-10-27T22:00:00Z"
    assert response.body["end_time"] == "2026-10-27T23:00:00Z"
    assert response.body["timezone"] == "Europe/London"
    assert response.headers["etag"].startswith('"h')


def test_get_shows_an_invalid_item_as_stored(api: Api) -> None:
    api.dynamodb.put_item(
        TableName=TABLE,
        Item={
            "program_id": {"S": "broken"},
            "start_time": {"S": "soon"},
            "end_time": {"N": "12"},
            "title": {"BOOL": True},
            "notification_status": {"S": "INVALID"},
        },
    )

    response = api.request("GET", "/programs/broken")

    assert response.status == 200
    assert response.body["start_time"] == "soon"
    assert response.body["end_time"] == "12"
    assert response.body["title"] == "True"
    assert response.body["notification_status"] == "INVALID"


# ---------------------------------------------------------------- GET /programs
def _seed(api: Api, count: int, channel: str | None = None, prefix: str = "p") -> list[str]:
    ids = []
    first = datetime(2026, 10, 27, 6, tzinfo=UTC)
    for index in range(count):
        start = first + timedelta(hours=(index * 5) % count)
        fields: dict[str, Any] = {
            "program_id": f"{prefix}{index:02d}",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_time": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if channel:
            fields["channel"] = channel
        ids.append(api.create(**fields).body["program_id"])
    return ids


def _all_pages(api: Api, query: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(50):
        response = api.request(
            "GET", "/programs", query={**query, **({"next_token": token} if token else {})}
        )
        assert response.status == 200, response.body
        items += response.body["items"]
        token = response.body.get("next_token")
        if not token:
            return items
    raise AssertionError("pagination did not end")


def test_list_is_newest_first_across_pages(api: Api) -> None:
    # Given programmes created one after another
    ids = _seed(api, 7)

    # When every page is read, three at a time
    items = _all_pages(api, {"limit": "3"})

    # Then each appears once, the last created first
    assert [item["program_id"] for item in items] == list(reversed(ids))


def test_list_within_a_window_is_by_start_time_from_inclusive_to_exclusive(api: Api) -> None:
    # Given programmes starting every hour from 06:00 to 12:00
    _seed(api, 7)

    # When the window 07:00 to 10:00 is listed two at a time
    items = _all_pages(
        api, {"from": "2026-10-27T07:00:00Z", "to": "2026-10-27T10:00:00Z", "limit": "2"}
    )

    # Then the programmes starting at 07, 08 and 09 come in start order
    starts = [item["start_time"] for item in items]
    assert starts == ["2026-10-27T07:00:00Z", "2026-10-27T08:00:00Z", "2026-10-27T09:00:00Z"]


def test_list_reads_window_bounds_by_the_time_rules_and_epoch_digits(api: Api) -> None:
    _seed(api, 7)
    ten_am = str(int(utc("2026-10-27T10:00:00Z").timestamp()))

    items = _all_pages(api, {"from": "27 October 2026, 10:00AM", "to": "1793102400"})
    by_epoch = _all_pages(api, {"from": ten_am})

    # 10:00 in London (GMT by then) is 10:00Z; 1793102400 is 12:00Z
    assert [item["start_time"][11:13] for item in items] == ["10", "11"]
    assert [item["start_time"][11:13] for item in by_epoch] == ["10", "11", "12"]


def test_list_filters_by_channel_in_both_orders(api: Api) -> None:
    # Given two channels
    _seed(api, 3, channel="One", prefix="one")
    _seed(api, 2, channel="Two", prefix="two")

    # When one channel is listed, newest first and by start
    newest = _all_pages(api, {"channel": "Two", "limit": "1"})
    by_start = _all_pages(api, {"channel": "One", "from": "2026-10-27T00:00Z"})

    # Then only that channel's programmes come back, in each order
    assert [item["program_id"] for item in newest] == ["two01", "two00"]
    assert [item["start_time"] for item in by_start] == sorted(
        item["start_time"] for item in by_start
    )
    assert {item["channel"] for item in by_start} == {"One"}
    assert len(by_start) == 3


def test_list_of_an_empty_table_is_an_empty_page(api: Api) -> None:
    response = api.request("GET", "/programs")

    assert response.status == 200
    assert response.body == {"items": [], "next_token": None}


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "bm90IGpzb24",
        base64.urlsafe_b64encode(b'{"q":"x","k":{}}').decode(),
        base64.urlsafe_b64encode(b"[1]").decode(),
        "A" * 2049,
    ],
)
def test_a_bad_next_token_is_a_400(api: Api, token: str) -> None:
    response = api.request("GET", "/programs", query={"next_token": token})

    assert response.status == 400
    assert "next_token" in response.field_errors


def test_a_tampered_next_token_is_a_400(api: Api) -> None:
    # Given a real token whose key was edited to name another index's attributes
    _seed(api, 3)
    token = api.request("GET", "/programs", query={"limit": "1"}).body["next_token"]
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    payload["k"] = {"program_id": "p00", "gsi_channel": "One", "gsi_start": "x"}
    tampered = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()

    # When it is used
    response = api.request("GET", "/programs", query={"limit": "1", "next_token": tampered})

    # Then it is refused, not passed to DynamoDB
    assert response.status == 400
    assert response.field_errors == {"next_token": "is not a token this API issued"}


def test_a_next_token_from_another_list_is_a_400(api: Api) -> None:
    # Given a token from the newest-first list
    _seed(api, 3)
    token = api.request("GET", "/programs", query={"limit": "1"}).body["next_token"]

    # When it is used for a channel's list
    response = api.request("GET", "/programs", query={"channel": "One", "next_token": token})

    # Then it is refused
    assert response.status == 400
    assert response.field_errors == {"next_token": "belongs to a list with other parameters"}


def test_list_with_only_an_upper_bound_is_by_start_time(api: Api) -> None:
    _seed(api, 3)

    items = _all_pages(api, {"to": "2026-10-27T08:00:00Z"})

    assert [item["start_time"][11:13] for item in items] == ["06", "07"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-10-27T10:00Z", "to": "2026-10-27T09:00Z"}, "to"),
        ({"channel": ""}, "channel"),
    ],
)
def test_bad_list_parameters_are_a_400(api: Api, query: dict[str, str], field: str) -> None:
    response = api.request("GET", "/programs", query=query)

    assert response.status == 400
    assert field in response.field_errors


# ---------------------------------------------------------------- PUT /programs/{id}
def test_put_replaces_every_field_and_keeps_the_status(api: Api) -> None:
    # Given a programme with a title, a channel and a status
    first = api.create(program_id="r1", title="Old", channel="One")
    api.dynamodb.update_item(
        TableName=TABLE,
        Key={"program_id": {"S": "r1"}},
        UpdateExpression="SET notification_status = :s",
        ExpressionAttributeValues={":s": {"S": "SCHEDULED"}},
    )

    # When it is replaced without a channel, with the current ETag
    response = api.request(
        "PUT",
        "/programs/r1",
        {"start_time": "2026-10-27T19:00Z", "end_time": "2026-10-27T20:00Z", "title": "New"},
        headers={"if-match": first.headers["etag"]},
    )

    # Then the fields are replaced, the channel is gone, the status stays, the ETag moves
    assert response.status == 200
    assert response.body["title"] == "New"
    assert response.body["channel"] is None
    assert response.body["notification_status"] == "SCHEDULED"
    assert response.body["created_at"] == first.body["created_at"]
    assert response.headers["etag"] != first.headers["etag"]
    listed = _all_pages(api, {"channel": "One"})
    assert listed == []


def test_put_with_a_stale_etag_is_a_412(api: Api) -> None:
    # Given a programme changed since its first ETag was read
    stale = api.create(program_id="r2").headers["etag"]
    api.request("PATCH", "/programs/r2", {"title": "Changed"})

    # When it is replaced with the stale ETag
    response = api.request(
        "PUT",
        "/programs/r2",
        {"start_time": "2026-10-27T19:00Z", "end_time": "2026-10-27T20:00Z"},
        headers={"if-match": stale},
    )

    # Then the write is refused and the current ETag is given back
    assert response.status == 412
    assert response.headers["etag"] != stale
    assert api.request("GET", "/programs/r2").body["title"] == "Changed"


def test_put_with_an_id_that_differs_from_the_url_is_a_422(api: Api) -> None:
    api.create(program_id="r3")

    response = api.request(
        "PUT",
        "/programs/r3",
        {"program_id": "r4", "start_time": "2026-10-27T19:00Z", "end_time": "2026-10-27T20:00Z"},
    )

    assert response.status == 422
    assert set(response.field_errors) == {"program_id"}


def test_put_of_an_unknown_id_is_a_404(api: Api) -> None:
    response = api.request(
        "PUT", "/programs/ghost", {"start_time": "2026-10-27T19:00Z", "end_time": 1793574000}
    )

    assert response.status == 404


def test_put_that_changes_nothing_keeps_the_etag(api: Api) -> None:
    created = api.create(program_id="same", title="Same")

    response = api.request(
        "PUT",
        "/programs/same",
        {"start_time": "2026-10-27T18:00Z", "end_time": "2026-10-27T18:30Z", "title": "Same"},
    )

    assert response.status == 200
    assert response.headers["etag"] == created.headers["etag"]


def test_put_over_an_item_written_directly_drops_unknown_attributes(api: Api) -> None:
    # Given an item written straight to the table with an extra attribute
    api.dynamodb.put_item(
        TableName=TABLE,
        Item={
            "program_id": {"S": "legacy"},
            "start_time": {"S": "2026-10-27T18:00:00Z"},
            "end_time": {"S": "2026-10-27T19:00:00Z"},
            "rating": {"S": "PG"},
        },
    )
    etag = api.request("GET", "/programs/legacy").headers["etag"]

    # When it is replaced through the API with its content ETag
    response = api.request(
        "PUT",
        "/programs/legacy",
        {"start_time": "2026-10-27T18:00Z", "end_time": "2026-10-27T19:00Z", "channel": "One"},
        headers={"if-match": etag},
    )

    # Then it becomes an API item: listed, with a revision, without the extra attribute
    assert response.status == 200
    stored = api.dynamodb.get_item(TableName=TABLE, Key={"program_id": {"S": "legacy"}})["Item"]
    assert "rating" not in stored
    assert "revision" in stored
    assert [item["program_id"] for item in _all_pages(api, {"channel": "One"})] == ["legacy"]


# ---------------------------------------------------------------- PATCH /programs/{id}
def test_patch_moves_the_end_of_an_overrunning_programme(api: Api) -> None:
    # Given a programme in London time
    created = api.create(program_id="o1", timezone="Europe/London", title="Match")

    # When its end is moved, in local time, with its ETag
    response = api.request(
        "PATCH",
        "/programs/o1",
        {"end_time": "2026-10-27T18:45"},
        headers={"if-match": created.headers["etag"]},
    )

    # Then only the end changes, read in the programme's zone
    assert response.status == 200
    assert response.body["end_time"] == "2026-10-27T18:45:00Z"
    assert response.body["start_time"] == "2026-10-27T18:00:00Z"
    assert response.body["title"] == "Match"
    assert response.body["updated_at"] >= response.body["created_at"]


def test_patch_with_null_removes_an_optional_field(api: Api) -> None:
    api.create(program_id="o2", title="Gone soon", channel="One")

    response = api.request("PATCH", "/programs/o2", {"title": None, "channel": None})

    assert response.status == 200
    assert response.body["title"] is None
    assert response.body["channel"] is None


def test_patch_that_breaks_the_programme_is_a_422_and_changes_nothing(api: Api) -> None:
    api.create(program_id="o3")

    response = api.request("PATCH", "/programs/o3", {"end_time": "2026-10-27T17:00Z"})

    assert response.status == 422
    assert set(response.field_errors) == {"end_time"}
    assert api.request("GET", "/programs/o3").body["end_time"] == "2026-10-27T18:30:00Z"


def test_patch_with_a_null_time_is_a_422(api: Api) -> None:
    api.create(program_id="o4")

    response = api.request("PATCH", "/programs/o4", {"start_time": None})

    assert response.status == 422
    assert set(response.field_errors) == {"start_time"}


def test_patch_with_a_stale_etag_is_a_412(api: Api) -> None:
    api.create(program_id="o5")

    response = api.request(
        "PATCH", "/programs/o5", {"title": "x"}, headers={"if-match": '"not-the-etag"'}
    )

    assert response.status == 412


def test_patch_accepts_a_star_or_any_of_several_etags(api: Api) -> None:
    etag = api.create(program_id="o6").headers["etag"]

    star = api.request("PATCH", "/programs/o6", {"title": "a"}, headers={"if-match": "*"})
    listed = api.request(
        "PATCH",
        "/programs/o6",
        {"title": "b"},
        headers={"if-match": f'"other", {star.headers["etag"]}'},
    )

    assert star.status == 200
    assert listed.status == 200
    assert etag != star.headers["etag"] != listed.headers["etag"]


def test_patch_of_an_unknown_id_is_a_404(api: Api) -> None:
    assert api.request("PATCH", "/programs/ghost", {"title": "x"}).status == 404


def test_patch_with_unknown_fields_is_a_422(api: Api) -> None:
    api.create(program_id="o7")

    response = api.request("PATCH", "/programs/o7", {"program_id": "o8"})

    assert response.status == 422
    assert response.field_errors == {"program_id": "is not a field of a programme"}


# ---------------------------------------------------------------- DELETE /programs/{id}
def test_delete_answers_204_and_the_programme_is_gone(api: Api) -> None:
    api.create(program_id="d1")

    response = api.request("DELETE", "/programs/d1")

    assert response.status == 204
    assert response.raw_body == ""
    assert api.request("GET", "/programs/d1").status == 404


def test_delete_of_an_unknown_id_is_a_404(api: Api) -> None:
    assert api.request("DELETE", "/programs/ghost").status == 404


def test_delete_with_a_stale_etag_is_a_412_and_keeps_the_programme(api: Api) -> None:
    api.create(program_id="d2")

    response = api.request("DELETE", "/programs/d2", headers={"if-match": '"stale"'})

    assert response.status == 412
    assert api.request("GET", "/programs/d2").status == 200


def test_delete_with_the_current_etag_deletes(api: Api) -> None:
    etag = api.create(program_id="d3").headers["etag"]

    response = api.request("DELETE", "/programs/d3", headers={"if-match": etag})

    assert response.status == 204


def test_delete_with_an_etag_of_an_unknown_id_is_a_404(api: Api) -> None:
    assert api.request("DELETE", "/programs/ghost", headers={"if-match": "*"}).status == 404


# ---------------------------------------------------------------- the rest
def test_openapi_document_describes_every_route(api: Api) -> None:
    response = api.request("GET", "/openapi.json")

    assert response.status == 200
    paths = response.body["paths"]
    assert set(paths) == {"/programs", "/programs/{program_id}"}
    assert set(paths["/programs"]) == {"get", "post"}
    assert set(paths["/programs/{program_id}"]) == {"get", "put", "patch", "delete"}
    assert "422" in paths["/programs"]["post"]["responses"]


def test_an_unknown_route_is_a_404_in_the_error_shape(api: Api) -> None:
    response = api.request("GET", "/channels")

    assert response.status == 404
    assert _is_error_body(response.body)


def test_an_unexpected_failure_is_a_500_without_internals(api: Api) -> None:
    # Given a table that has gone away
    api.dynamodb.delete_table(TableName=TABLE)

    # When a programme is read
    response = api.request("GET", "/programs/p1")

    # Then the caller gets a bare 500, with no trace of the internals
    assert response.status == 500
    assert response.body == {"message": "internal error", "errors": []}


def _fail_with(code: str) -> Any:
    def fail(**request: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "simulated"}}, "Operation")

    return fail


def test_a_table_that_keeps_throttling_is_a_503_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table that throttles every read, after the client's own retries
    monkeypatch.setattr(api_handler.store()._client, "get_item", _fail_with("ThrottlingException"))

    # When a programme is read
    response = api.request("GET", "/programs/p1")

    # Then the caller is told to come back shortly
    assert response.status == 503
    assert response.headers["retry-after"] == "1"


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"title": "x"}), ("PUT", {"start_time": 1793095200, "end_time": 1793098800})],
)
def test_a_write_that_keeps_losing_the_race_is_a_409(
    api: Api, monkeypatch: pytest.MonkeyPatch, method: str, body: dict[str, Any]
) -> None:
    # Given a programme that another writer changes between every read and write
    api.create(program_id="busy")
    failing = _fail_with("ConditionalCheckFailedException")
    monkeypatch.setattr(api_handler.store()._client, "update_item", failing)

    # When it is changed without If-Match
    response = api.request(method, "/programs/busy", body)

    # Then the API gives up after a few attempts with a conflict
    assert response.status == 409


def test_a_delete_that_keeps_losing_the_race_is_a_409(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.create(program_id="busy")
    failing = _fail_with("ConditionalCheckFailedException")
    monkeypatch.setattr(api_handler.store()._client, "delete_item", failing)

    response = api.request("DELETE", "/programs/busy", headers={"if-match": "*"})

    assert response.status == 409

"""API function: the programmes REST API (HTTP API, payload 2.0), a thin layer over the store."""

from __future__ import annotations

import binascii
import json
import os
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
    OpenAPIResponseHeader,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from telecast.adapters.aws import client
from telecast.api_models import (
    DEFAULT_PAGE_SIZE,
    MAX_BODY_BYTES,
    MAX_PAGE_SIZE,
    MAX_TOKEN_LENGTH,
    ErrorBody,
    FieldProblem,
    ProgrammeIn,
    ProgrammeOut,
    ProgrammePage,
    ProgrammePatch,
)
from telecast.errors import FieldError, InvalidProgramme
from telecast.programme_store import (
    BadRequest,
    PreconditionFailed,
    ProgrammeExists,
    ProgrammeNotFound,
    ProgrammeStore,
    StoreBusy,
    WriteConflict,
    etag_of,
    public_view,
)
from telecast.settings import ApiSettings

logger = Logger()
tracer = Tracer()


class PayloadTooLarge(ValueError):
    """The request body is over MAX_BODY_BYTES (HTTP 413)."""


class MalformedJson(ValueError):
    """The request body is not JSON (HTTP 400)."""


def read_json(body: str) -> Any:
    """Parse a request body, refusing oversized or non-JSON text with a typed error."""
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise MalformedJson("the body is not valid JSON") from error


app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=read_json)
JSON_TYPES = ("application/json",)
# Powertools refuses a content type it cannot parse with RequestUnsupportedContentType (415);
# form and multipart bodies, which it would parse, are sent that way too.
_UNSUPPORTED = "application/x-unsupported"


def known_query_only(
    resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware
) -> Response[Any]:
    """Refuse query parameters the route does not declare (a misspelt filter must not widen it)."""
    route = resolver.context["_route"]
    known = {parameter.alias for parameter in route.dependant.query_params}
    unknown = sorted(set(resolver.current_event.query_string_parameters or {}) - known)
    if unknown:
        problems = [FieldError(name, "is not a query parameter of this route") for name in unknown]
        raise BadRequest("the request is malformed", problems)
    return next_middleware(resolver)


app.use(middlewares=[known_query_only])


@cache
def store() -> ProgrammeStore:
    """Build the store once per cold start from validated settings."""
    settings = ApiSettings.from_env(os.environ)
    return ProgrammeStore(client("dynamodb"), settings.table_name, settings.default_timezone)


# ---------------------------------------------------------------- OpenAPI descriptions
def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


_ETAG_HEADER: dict[str, OpenAPIResponseHeader] = {
    "ETag": {"description": "The programme's entity tag, for If-Match."}
}
_PROGRAMME: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "application/json": {"model": ProgrammeOut}
}
_BAD_INPUT: dict[int, OpenAPIResponse] = {
    400: _error("Malformed request: not JSON, bad query parameter or next_token."),
    422: _error("The programme is not valid: every field error is listed."),
}
_WRITE_ERRORS: dict[int, OpenAPIResponse] = {
    **_BAD_INPUT,
    413: _error(f"The body is over {MAX_BODY_BYTES} bytes."),
    415: _error("The body is not application/json."),
}
_MISSING: dict[int, OpenAPIResponse] = {404: _error("No programme has this id.")}
_PRECONDITION: dict[int, OpenAPIResponse] = {
    409: _error("Other writers kept changing the programme; retry."),
    412: _error("If-Match names none of the programme's current ETag."),
}

_WINDOW = (
    "Any form start_time takes (digits alone are epoch seconds); local times are read in the "
    "service's default zone. With from or to, the list is by start time."
)

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", max_length=1024, description="ETag(s) the programme must have."),
]


# ---------------------------------------------------------------- routes
@app.post(
    "/programs",
    summary="Create a programme",
    responses={
        201: {
            "description": "Created; Location names the new programme.",
            "headers": {**_ETAG_HEADER, "Location": {"description": "/programs/{program_id}"}},
            "content": _PROGRAMME,
        },
        409: _error("A programme with this program_id exists."),
        **_WRITE_ERRORS,
    },
)
def create_programme(programme: Annotated[ProgrammeIn, Body()]) -> Response[ProgrammeOut]:
    """Validate and store a new programme; 201 with Location and ETag."""
    item = store().create(programme.model_dump(exclude_unset=True))
    logger.info("programme created", program_id=item["program_id"])
    return _programme_response(item, HTTPStatus.CREATED, with_location=True)


@app.get(
    "/programs",
    summary="List programmes",
    responses={
        200: {"description": "One page of programmes."},
        400: _error("A bad query parameter or next_token; each is listed."),
    },
)
def list_programmes(
    channel: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Only this channel.")
    ] = None,
    start_from: Annotated[
        str | None,
        Query(alias="from", max_length=64, description=f"Start at or after this. {_WINDOW}"),
    ] = None,
    start_to: Annotated[
        str | None, Query(alias="to", max_length=64, description=f"Start before this. {_WINDOW}")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(max_length=MAX_TOKEN_LENGTH)] = None,
) -> ProgrammePage:
    """Newest first; by start time when from or to is given; optionally one channel."""
    page = store().list_programmes(channel, start_from, start_to, limit, next_token)
    items = [ProgrammeOut(**public_view(item, store().default_zone)) for item in page.items]
    return ProgrammePage(items=items, next_token=page.next_token)


@app.get(
    "/programs/<program_id>",
    summary="Get a programme with its notification status",
    responses={
        200: {"description": "The programme.", "headers": _ETAG_HEADER, "content": _PROGRAMME},
        400: _error("An unknown query parameter."),
        **_MISSING,
    },
)
def get_programme(program_id: str) -> Response[ProgrammeOut]:
    """The stored programme and its notification status, with its ETag."""
    return _programme_response(store().get(unquote(program_id)), HTTPStatus.OK)


@app.put(
    "/programs/<program_id>",
    summary="Replace a programme",
    responses={
        200: {"description": "Replaced.", "headers": _ETAG_HEADER, "content": _PROGRAMME},
        **_MISSING,
        **_PRECONDITION,
        **_WRITE_ERRORS,
    },
)
def replace_programme(
    program_id: str, programme: Annotated[ProgrammeIn, Body()], if_match: IfMatch = None
) -> Response[ProgrammeOut]:
    """Replace every field of an existing programme, honouring If-Match."""
    changes = programme.model_dump(exclude_unset=True)
    item = store().replace(unquote(program_id), changes, if_match)
    logger.info("programme replaced", program_id=item["program_id"])
    return _programme_response(item, HTTPStatus.OK)


@app.patch(
    "/programs/<program_id>",
    summary="Change some fields of a programme",
    responses={
        200: {"description": "Changed.", "headers": _ETAG_HEADER, "content": _PROGRAMME},
        **_MISSING,
        **_PRECONDITION,
        **_WRITE_ERRORS,
    },
)
def patch_programme(
    program_id: str, changes: Annotated[ProgrammePatch, Body()], if_match: IfMatch = None
) -> Response[ProgrammeOut]:
    """Change only the fields sent (null removes title, channel or timezone)."""
    item = store().patch(unquote(program_id), changes.model_dump(exclude_unset=True), if_match)
    logger.info("programme changed", program_id=item["program_id"])
    return _programme_response(item, HTTPStatus.OK)


@app.delete(
    "/programs/<program_id>",
    summary="Delete a programme (its pending notifications are cancelled)",
    responses={
        204: {"description": "Deleted."},
        400: _error("A malformed If-Match header or an unknown query parameter."),
        **_MISSING,
        **_PRECONDITION,
    },
)
def delete_programme(program_id: str, if_match: IfMatch = None) -> Response[str]:
    """Delete the programme, honouring If-Match; 204."""
    store().delete(unquote(program_id), if_match)
    logger.info("programme deleted", program_id=unquote(program_id))
    # An empty string, not None: some emulators cannot relay a null body.
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


@app.get("/openapi.json", include_in_schema=False)
def serve_openapi() -> Response[str]:
    """The OpenAPI document of these routes."""
    return Response(200, content_types.APPLICATION_JSON, openapi_document())


def _programme_response(
    item: dict[str, Any], status: HTTPStatus, with_location: bool = False
) -> Response[ProgrammeOut]:
    headers = {"ETag": etag_of(item)}
    if with_location:
        headers["Location"] = f"/programs/{quote(item['program_id'], safe='')}"
    body = ProgrammeOut(**public_view(item, store().default_zone))
    return Response(status, content_types.APPLICATION_JSON, body, headers)


@cache
def openapi_document() -> str:
    """The OpenAPI 3.1 document, generated from the routes and models (stable key order)."""
    document = json.loads(
        app.get_openapi_json_schema(
            title="Live Telecast Streams API",
            version="1.0.0",
            description=(
                "Programmes: create, read, list, replace, change and delete, validated by the "
                "same time rules as the stream. Deployed routes need SigV4 (AWS_IAM) or, when "
                "the stack says so, a JWT bearer token."
            ),
            security_schemes={
                "sigv4": APIKey(name="Authorization", in_=APIKeyIn.header, description="SigV4")
            },
            security=[{"sigv4": []}],
        )
    )
    # Powertools documents its own 422 body on every route and a body for 204; this API
    # answers every error with ErrorBody (422 only for programme fields) and 204 with none.
    for operation in (op for ops in document["paths"].values() for op in ops.values()):
        responses = operation["responses"]
        if _POWERTOOLS_422 in json.dumps(responses.get("422", {})):
            del responses["422"]
        responses.get("204", {}).pop("content", None)
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{name}" not in json.dumps(document["paths"]):
            schemas.pop(name, None)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


_POWERTOOLS_422 = "#/components/schemas/HTTPValidationError"


# ---------------------------------------------------------------- errors, in one place
def _error_response(
    status: HTTPStatus,
    message: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    logger.info("request refused", status=int(status), reason=message)
    problems = [FieldProblem(field=e.field, message=e.message) for e in errors or []]
    body = ErrorBody(message=message, errors=problems).model_dump()
    return Response(status, content_types.APPLICATION_JSON, body, headers)


@app.exception_handler(InvalidProgramme)
def _invalid_programme(error: InvalidProgramme) -> Response[dict[str, Any]]:
    return _error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "the programme is not valid", error.errors
    )


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    body_fields: list[FieldError] = []
    request_fields: list[FieldError] = []
    for issue in error.errors():
        location = [str(part) for part in issue.get("loc", ())]
        if issue.get("type") == "json_invalid":
            return _error_response(HTTPStatus.BAD_REQUEST, "the body is not valid JSON")
        message = _pydantic_message(issue)
        if location[:1] == ["body"] and len(location) > 1:
            body_fields.append(FieldError(".".join(location[1:]), message))
        elif location[:1] == ["body"]:
            request_fields.append(FieldError("body", "must be a JSON object"))
        else:
            request_fields.append(FieldError(location[-1] if location else "request", message))
    if request_fields:
        return _error_response(HTTPStatus.BAD_REQUEST, "the request is malformed", request_fields)
    return _error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "the programme is not valid", body_fields
    )


def _pydantic_message(issue: dict[str, Any]) -> str:
    if issue.get("type") == "extra_forbidden":
        return "is not a field of a programme"
    if issue.get("type") == "missing":
        return "is missing"
    text = str(issue.get("msg", "is not valid"))
    return text[len("Input ") :] if text.startswith("Input ") else text


@app.exception_handler(MalformedJson)
def _malformed_json(error: MalformedJson) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler([UnicodeDecodeError, binascii.Error])
def _undecodable_body(error: ValueError) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.BAD_REQUEST, "the body is not UTF-8 text")


@app.exception_handler(PayloadTooLarge)
def _too_large(error: PayloadTooLarge) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, str(error))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_type(error: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")


@app.exception_handler(BadRequest)
def _bad_request(error: BadRequest) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.BAD_REQUEST, error.message, error.errors)


@app.exception_handler(ProgrammeNotFound)
def _not_found(error: ProgrammeNotFound) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.NOT_FOUND, "no programme has this id")


@app.not_found
def _no_route(error: NotFoundError) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.NOT_FOUND, "no such route")


@app.exception_handler(ProgrammeExists)
def _exists(error: ProgrammeExists) -> Response[dict[str, Any]]:
    return _error_response(
        HTTPStatus.CONFLICT,
        "a programme with this id exists: PUT or PATCH it instead",
        [FieldError("program_id", "is taken")],
    )


@app.exception_handler(WriteConflict)
def _conflict(error: WriteConflict) -> Response[dict[str, Any]]:
    return _error_response(HTTPStatus.CONFLICT, "the programme kept changing meanwhile: retry")


@app.exception_handler(PreconditionFailed)
def _precondition(error: PreconditionFailed) -> Response[dict[str, Any]]:
    return _error_response(
        HTTPStatus.PRECONDITION_FAILED, str(error), headers={"ETag": error.current_etag}
    )


@app.exception_handler(StoreBusy)
def _busy(error: StoreBusy) -> Response[dict[str, Any]]:
    logger.warning("table throttled after retries", code=str(error))
    return _error_response(
        HTTPStatus.SERVICE_UNAVAILABLE, "busy: retry shortly", headers={"Retry-After": "1"}
    )


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[dict[str, Any]]:
    # The traceback goes to the log only; the caller learns nothing about the internals.
    logger.exception("unexpected error")
    return _error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")


# ---------------------------------------------------------------- entry point
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one HTTP API (payload 2.0) request; request bodies must be JSON."""
    headers = event.get("headers") or {}
    content_type = str(headers.get("content-type", "")).strip().lower()
    if event.get("body") and content_type and not content_type.startswith(JSON_TYPES):
        event = {**event, "headers": {**headers, "content-type": _UNSUPPORTED}}
    return app.resolve(event, context)

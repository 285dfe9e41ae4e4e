"""Every error leaves as problem+json (RFC 9457) from here, and a rejected request changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.errors import DomainError

PROBLEM_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"  # defined in the OpenAPI document by warroom.openapi
log = structlog.get_logger("warroom.http")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers these statuses as problem+json beyond what its dependencies show
    (warroom.openapi reads those), e.g. a route that checks a key itself rather than through a dependency."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in statuses
    }


def media_response(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a 200 that is not JSON (Markdown, iCal, PDF): its real media type, as text."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE)


def field_name(loc: Sequence[str | int]) -> str:
    """`("body", "title")` -> `title`; `("query", "limit")` -> `query.limit`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return problem(
        error.status, error.title, error.detail, errors=[p.as_dict() for p in error.problems], **error.extra
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"field": field_name(e["loc"]), "message": e["msg"]} for e in error.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "Invalid input", detail, errors=errors)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    response = problem(error.status_code, HTTPStatus(error.status_code).phrase, str(error.detail))
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def _out_of_range(request: Request, error: Exception) -> JSONResponse:
    """The database refused a value the request carried: an id past PostgreSQL's 32-bit `integer` (valid in
    Python and in SQLite), an integer past 64 bits (SQLite's driver raises OverflowError). A client error, the
    same 422 on both databases; the request's transaction is rolled back."""
    log.info("value refused by the database", path=request.url.path, error=type(error).__name__)
    detail = "a value in the request is outside what the database can store (an id or number too large)"
    return problem(422, "Invalid input", detail, errors=[])


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    # PostgreSQL refuses an out-of-range value with DataError; SQLite's driver raises OverflowError.
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)


def _over(limit: int) -> str:
    return f"the request body is over the limit of {limit} bytes"


class BodyLimitMiddleware:
    """413 problem+json for bodies over the limit, announced (Content-Length) or streamed (chunked).

    A streamed body is cut off by raising HTTPException from `receive`: FastAPI re-raises it while parsing,
    and the problem handler above answers it, so the route never runs.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        prefix_limits: dict[str, int] | None = None,
        suffix_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefix_limits = prefix_limits or {}
        self.suffix_limits = suffix_limits or {}  # uploads: `.../evidence` takes files larger than JSON

    def limit_for(self, path: str) -> int:
        """The first suffix's limit that `path` ends with, else the first prefix's it starts with, else the
        default. Plain loops: this runs for every request (generators here were ~2% of an intake request)."""
        for suffix, limit in self.suffix_limits.items():
            if path.endswith(suffix):
                return limit
        for prefix, limit in self.prefix_limits.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value  # the last one, as a dict of the headers kept
        if declared.isdigit() and int(declared) > limit:
            await problem(413, HTTPStatus(413).phrase, _over(limit))(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, _over(limit))
            return message

        await self.app(scope, counting_receive, send)

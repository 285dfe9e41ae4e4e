"""The published OpenAPI document, made to tell the truth about errors.

FastAPI documents what a route returns when it succeeds and a 422 shaped like its own validation error. The
errors here leave as problem+json (warroom.problems) and follow from what a route declares: the signed-in
user (401), a permission check (403), a path, query or body naming a row that may not exist (404), a write
that can collide (409), a body (400 when it cannot be decoded, 413 over the size limit). This module reads
those from each route's dependency tree and adds them, so a client (or Schemathesis, tests/e2e/
test_openapi_fuzz.py) can rely on every status the API answers. A route that answers in its own shape (the
intake senders' formats, the acknowledge link's pages) declares it with `responses=`, and that wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from warroom.deps import PERMISSION_CHECKS, current_user, write_session
from warroom.problems import PROBLEM_SCHEMA_REF, PROBLEM_TYPE

FIELD_PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["field", "message"],
    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457); `errors` names each field that was refused.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": FIELD_PROBLEM},
    },
}
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token (wr_...)."}}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI response object: problem+json with the shared schema."""
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _has_params(dependant: Dependant) -> bool:
    own = dependant.path_params or dependant.query_params or dependant.header_params
    return bool(own or dependant.cookie_params or dependant.body_params) or any(
        _has_params(sub) for sub in dependant.dependencies
    )


def error_statuses(dependant: Dependant, method: str) -> set[int]:
    """The problem+json statuses this operation can answer, read from what the route depends on."""
    calls = set(_calls(dependant))
    statuses: set[int] = set()
    if current_user in calls:
        statuses.add(401)
    if calls & PERMISSION_CHECKS:
        statuses.add(403)
    if _has_params(dependant):
        # A row named in the path, the query or the body (an owner, a component, a member) may not exist.
        statuses.update((404, 422))
    if write_session in calls and method in WRITE_METHODS:
        statuses.add(409)
    if method in BODY_METHODS:
        # 400: a body that is not text in its declared encoding; 413: over the size limit.
        statuses.update((400, 413))
    return statuses


def _document_errors(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(statuses):
        key = str(status)
        declared = responses.get(key)
        # FastAPI's own 422 says application/json with its HTTPValidationError; ours is problem+json.
        if declared is None or "HTTPValidationError" in str(declared.get("content", "")):
            responses[key] = problem_response(status)
    operation["responses"] = dict(sorted(responses.items()))


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[tuple[str, set[str], Dependant]]:
    """(path, methods, dependencies) of each documented route, as mounted (router prefixes and all)."""
    for entry in iter_route_contexts(routes):
        if not isinstance(entry.original_route, APIRoute):
            continue
        route: Any = entry  # an APIRoute seen through its router's prefix and dependencies
        if route.include_in_schema:
            yield route.path_format, set(route.methods), route.dependant


def truthful(document: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """`document` (FastAPI's) with every route's error responses and its bearer security added."""
    paths: dict[str, Any] = document.get("paths", {})
    for path, methods, dependant in _api_routes(routes):
        authenticated = current_user in set(_calls(dependant))
        for method in sorted(methods):
            operation = paths.get(path, {}).get(method.lower())
            if operation is None:
                continue
            _document_errors(operation, error_statuses(dependant, method))
            if authenticated:
                operation["security"] = [{"bearerAuth": []}]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(paths):
            schemas.pop(unused, None)
    components.setdefault("securitySchemes", {}).update(BEARER)
    return document


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (served at the app's openapi_url) the truthful document, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = truthful(document, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

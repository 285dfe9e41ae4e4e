"""Intake endpoints, each answering the way its sender expects (status codes and body shapes), so that
senders retry correctly. Parsing is the adapters' job; storing is the group-commit writer's."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from warroom.alerts.domain import IntakeRejected, Lookup
from warroom.alerts.intake import grafana, opsgenie, pagerduty
from warroom.alerts.intake.base import IntakeRequest, json_object
from warroom.alerts.intake.dispatch import WEBHOOK_PARSERS, change_columns, decode
from warroom.alerts.intake.flow import Throttled, UnknownKey, WrongKind, admit, read_request, store
from warroom.alerts.service import opsgenie_alert, request_status
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.problems import problem, problem_responses

router = APIRouter(tags=["intake"])
PD_INVALID = {"status": "invalid event", "message": "Event object is invalid"}

# What each sender's own client expects, in the OpenAPI document (a 413 from the size limit is problem+json).
_STRINGS = {"type": "array", "items": {"type": "string"}}
PD_ANSWER = {
    "type": "object",
    "required": ["status", "message"],
    "properties": {
        "status": {"type": "string"},
        "message": {"type": "string"},
        "dedup_key": {"type": "string"},
        "errors": _STRINGS,
    },
}
OG_ANSWER = {
    "type": "object",
    "required": ["took", "requestId"],
    "properties": {
        "result": {"type": "string"},
        "message": {"type": "string"},
        "data": {"type": "object"},
        "took": {"type": "number"},
        "requestId": {"type": "string"},
    },
}


def _json(schema: dict[str, Any], *statuses: int) -> dict[int | str, dict[str, Any]]:
    content = {"application/json": {"schema": schema}}
    return {status: {"description": HTTPStatus(status).phrase, "content": content} for status in statuses}


PD_RESPONSES = _json(PD_ANSWER, 202, 400, 403, 429)
OG_RESPONSES = _json(OG_ANSWER, 202, 401, 403, 404, 422, 429)
OG_READ_RESPONSES = _json(OG_ANSWER, 200, 401, 404, 422, 429)
WEBHOOK_RESPONSES = problem_responses(400, 401, 403, 404, 429)


def _pd_error(status: int, errors: list[str], **extra: Any) -> JSONResponse:
    return JSONResponse({**PD_INVALID, "errors": errors, **extra}, status_code=status)


def _pd_refusal(error: Exception) -> JSONResponse:
    if isinstance(error, Throttled):
        body = {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}
        return JSONResponse(body, status_code=429, headers={"Retry-After": str(error.retry_after)})
    return _pd_error(403, [f"'routing_key' is not accepted: {error}"])


async def _pagerduty(request: Request, context: ContextDep, change: bool) -> JSONResponse:
    raw = IntakeRequest(await request.body(), request.headers.get("content-type", ""), context.clock.now())
    try:
        body = json_object(raw)
        key = pagerduty.routing_key(body)
    except IntakeRejected as error:
        return _pd_error(400, [p.message for p in error.problems])
    if not key:
        return _pd_error(400, ["'routing_key' is missing or blank"])
    try:
        integration = await admit(context, key, ("pagerduty",))
    except (UnknownKey, WrongKind, Throttled) as refused:
        return _pd_refusal(refused)
    try:
        if change:
            columns = change_columns(raw)
            await store(context, integration, raw, {"kind": "pagerduty", "op": "change"}, [], change=columns)
            return JSONResponse({"status": "success", "message": "Change event processed"}, status_code=202)
        event = pagerduty.event_from(body)
    except IntakeRejected as error:
        return _pd_error(400, [p.message for p in error.problems])
    _, outcomes = await store(context, integration, raw, {"kind": "pagerduty", "op": "enqueue"}, [event])
    body = {"status": "success", "message": "Event processed", "dedup_key": outcomes[0].dedup_key}
    return JSONResponse(body, status_code=202)


@router.post("/v2/enqueue", status_code=202, summary="PagerDuty Events API v2", responses=PD_RESPONSES)
async def pagerduty_enqueue(request: Request, context: ContextDep) -> JSONResponse:
    return await _pagerduty(request, context, change=False)


@router.post("/v2/change/enqueue", status_code=202, summary="PagerDuty change events", responses=PD_RESPONSES)
async def pagerduty_change(request: Request, context: ContextDep) -> JSONResponse:
    return await _pagerduty(request, context, change=True)


def _genie_key(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "geniekey" and value.strip():
        return value.strip()
    return request.query_params.get("apiKey")


def _og(
    status: int, message: str, request_id: str = "", *, retry_after: int = 0, **extra: Any
) -> JSONResponse:
    """Opsgenie's answer shape: `result` on success, `message` on errors, always `took` and `requestId`."""
    body = {"result" if status < 300 else "message": message, "took": 0.0, "requestId": request_id, **extra}
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _opsgenie(request: Request, context: ContextDep, route: dict[str, Any]) -> JSONResponse:
    try:
        integration = await admit(context, _genie_key(request), ("opsgenie",))
    except Throttled as error:
        return _og(429, "You are making too many requests!", retry_after=error.retry_after)
    except (UnknownKey, WrongKind) as error:
        return _og(401 if isinstance(error, UnknownKey) else 403, f"Could not authenticate: {error}")
    raw = await read_request(request, context, integration.config)
    try:
        decoded = decode(route, raw)
    except IntakeRejected as error:
        return _og(422, "; ".join(str(p) for p in error.problems))
    request_id, _ = await store(context, integration, raw, route, decoded.events, lookup=decoded.lookup)
    return _og(202, "Request will be processed", request_id)


@router.post("/v2/alerts", status_code=202, summary="Opsgenie: create alert", responses=OG_RESPONSES)
async def opsgenie_create(request: Request, context: ContextDep) -> JSONResponse:
    return await _opsgenie(request, context, {"kind": "opsgenie", "op": "create"})


@router.post(
    "/v2/alerts/{identifier}/{action}",
    status_code=202,
    summary="Opsgenie: act on an alert",
    responses=OG_RESPONSES,
)
async def opsgenie_action(
    identifier: str, action: str, request: Request, context: ContextDep
) -> JSONResponse:
    if action not in ("acknowledge", "unacknowledge", "close", "notes"):
        return _og(404, f"Unknown alert action {action!r}")
    route = {
        "kind": "opsgenie",
        "op": action,
        "identifier": identifier,
        "identifier_type": request.query_params.get("identifierType"),
    }
    return await _opsgenie(request, context, route)


@router.put(
    "/v2/alerts/{identifier}/{field}",
    status_code=202,
    summary="Opsgenie: update message, description or priority",
    responses=OG_RESPONSES,
)
async def opsgenie_update(identifier: str, field: str, request: Request, context: ContextDep) -> JSONResponse:
    if field not in opsgenie.UPDATES:
        return _og(404, f"Unknown alert field {field!r}")
    route = {
        "kind": "opsgenie",
        "op": f"update-{field}",
        "identifier": identifier,
        "identifier_type": request.query_params.get("identifierType"),
    }
    return await _opsgenie(request, context, route)


@router.get("/v2/alerts/{identifier}", summary="Opsgenie: get an alert", responses=OG_READ_RESPONSES)
async def opsgenie_get_alert(identifier: str, request: Request, context: ContextDep) -> JSONResponse:
    try:
        integration = await admit(context, _genie_key(request), ("opsgenie",))
        kind = opsgenie.identifier_type(request.query_params.get("identifierType"))
    except Throttled as error:
        return _og(429, "You are making too many requests!", retry_after=error.retry_after)
    except (UnknownKey, WrongKind) as error:
        return _og(401, f"Could not authenticate: {error}")
    except IntakeRejected as error:
        return _og(422, str(error))
    async with context.db.read() as session:
        data = await opsgenie_alert(
            session=session, integration_id=integration.id, lookup=Lookup(identifier, kind)
        )
    if data is None:
        return _og(404, "Alert does not exist")
    return JSONResponse({"data": data, "took": 0.0, "requestId": str(uuid.uuid4())})


@router.get(
    "/v2/alerts/requests/{request_id}",
    summary="Opsgenie: the status of a request",
    responses=OG_READ_RESPONSES,
)
async def opsgenie_request_status(request_id: str, request: Request, context: ContextDep) -> JSONResponse:
    try:
        integration = await admit(context, _genie_key(request), ("opsgenie",))
    except Throttled as error:
        return _og(429, "You are making too many requests!", retry_after=error.retry_after)
    except (UnknownKey, WrongKind) as error:
        return _og(401, f"Could not authenticate: {error}")
    async with context.db.read() as session:
        data = await request_status(session=session, integration_id=integration.id, request_id=request_id)
    if data is None:
        return _og(404, "Request not found. It might not be processed yet.", request_id)
    body = {"data": data, "took": 0.0, "requestId": request_id}
    return JSONResponse(body)


def _basic_or_bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _webhook_refusal(error: Exception) -> JSONResponse:
    if isinstance(error, Throttled):
        response = problem(429, "Too many requests", str(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if isinstance(error, IntakeRejected):
        errors = [{"field": p.field, "message": p.message} for p in error.problems]
        return problem(400, "Invalid alert payload", str(error), errors=errors)
    return problem(401 if isinstance(error, UnknownKey) else 403, "Not accepted", str(error))


async def _webhook(kind: str, key: str | None, request: Request, context: ContextDep) -> JSONResponse:
    try:
        integration = await admit(context, key, (kind,))
        raw = await read_request(request, context, integration.config)
        if kind == "grafana" and integration.signing_secret:
            grafana.verify_signature(raw, integration.signing_secret)
        events = decode({"kind": kind, "op": "webhook"}, raw).events
    except (UnknownKey, WrongKind, Throttled, IntakeRejected) as refused:
        return _webhook_refusal(refused)
    request_id, outcomes = await store(context, integration, raw, {"kind": kind, "op": "webhook"}, events)
    body = {"status": "success", "request_id": request_id, "events": [o.as_dict() for o in outcomes]}
    return JSONResponse(body, status_code=202)


@router.post(
    "/intake/alertmanager",
    status_code=202,
    summary="Alertmanager webhook (key as Bearer or Basic)",
    responses=WEBHOOK_RESPONSES,
)
async def alertmanager_with_auth(request: Request, context: ContextDep) -> JSONResponse:
    return await _webhook("alertmanager", _basic_or_bearer(request), request, context)


@router.post("/intake/{kind}/{key}", status_code=202, summary="Webhook intake", responses=WEBHOOK_RESPONSES)
async def webhook_intake(kind: str, key: str, request: Request, context: ContextDep) -> JSONResponse:
    if kind not in WEBHOOK_PARSERS:
        return problem(404, "Not found", f"no intake for {kind!r}; kinds: {', '.join(WEBHOOK_PARSERS)}")
    return await _webhook(kind, key, request, context)


@router.put(
    "/intake/grafana/{key}",
    status_code=202,
    summary="Grafana webhook (Grafana may PUT)",
    responses=WEBHOOK_RESPONSES,
)
async def grafana_put(key: str, request: Request, context: ContextDep) -> JSONResponse:
    return await _webhook("grafana", key, request, context)


Endpoint = Callable[[Request, AppContext], Awaitable[Response]]


def _posted(segments: list[str]) -> Endpoint | None:
    match segments:
        case ["v2", "enqueue"]:
            return pagerduty_enqueue
        case ["v2", "change", "enqueue"]:
            return pagerduty_change
        case ["v2", "alerts"]:
            return opsgenie_create
        case ["v2", "alerts", identifier, action]:
            return partial(opsgenie_action, identifier, action)
        case ["intake", "alertmanager"]:
            return alertmanager_with_auth
        case ["intake", kind, key] if kind in WEBHOOK_PARSERS:
            return partial(webhook_intake, kind, key)
    return None


def intake_endpoint(method: str, path: str) -> Endpoint | None:
    """The route above that FastAPI would pick for an intake write, or None (reads, heartbeats, unknown
    kinds and anything else are FastAPI's). Segments match as FastAPI's `{name}` does: non-empty, no '/'."""
    segments = path.split("/")[1:]
    if "" in segments:
        return None
    if method == "POST":
        return _posted(segments)
    if method == "PUT":
        match segments:
            case ["v2", "alerts", identifier, field]:
                return partial(opsgenie_update, identifier, field)
            case ["intake", "grafana", key]:
                return partial(grafana_put, key)
    return None

"""The steps every intake route shares: find the integration by key, throttle, store via group commit."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from warroom.alerts.domain import AlertEventIn, Lookup
from warroom.alerts.intake.base import IntakeRequest
from warroom.alerts.intake.work import EventOutcome, IntakeWork
from warroom.alerts.intake.writer import IntakeWriter
from warroom.alerts.integrations import IntegrationCache, IntegrationInfo
from warroom.context import AppContext
from warroom.ids import time_ordered_uuid
from warroom.ratelimit import Throttles

SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-key", "dd-api-key"})


@dataclass
class IntakeRuntime:
    writer: IntakeWriter
    cache: IntegrationCache = field(default_factory=IntegrationCache)
    throttles: Throttles = field(default_factory=Throttles)


class UnknownKey(Exception):
    """No integration has this key (or it was rotated away)."""


class WrongKind(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(f"this key belongs to a {kind} integration")


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


def runtime(context: AppContext) -> IntakeRuntime:
    if context.intake is None:
        raise RuntimeError("the intake runtime is not started")
    return context.intake


def sanitised_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers worth keeping for replay and debugging, without credentials."""
    return {name.lower(): value for name, value in headers.items() if name.lower() not in SECRET_HEADERS}


async def admit(context: AppContext, key: str | None, kinds: tuple[str, ...]) -> IntegrationInfo:
    """The integration for `key`, if it exists, is of an accepted kind, and is under its rate limit."""
    intake = runtime(context)
    info = await intake.cache.find(context.db, key) if key else None
    if info is None:
        raise UnknownKey("unknown integration key")
    if info.kind not in kinds:
        raise WrongKind(info.kind)
    wait = intake.throttles.admit(info.id, info.rate_limit_per_minute, time.monotonic())
    if wait:
        raise Throttled(wait)
    return info


async def read_request(request: Request, context: AppContext, config: Mapping[str, Any]) -> IntakeRequest:
    return IntakeRequest(
        body=await request.body(),
        content_type=request.headers.get("content-type", ""),
        now=context.clock.now(),
        headers={k.lower(): v for k, v in request.headers.items()},
        integration_config=config,
    )


async def store(
    context: AppContext,
    integration: IntegrationInfo,
    request: IntakeRequest,
    route: dict[str, Any],
    events: list[AlertEventIn],
    *,
    lookup: Lookup | None = None,
    change: dict[str, Any] | None = None,
) -> tuple[str, list[EventOutcome]]:
    """Hand the request to the group-commit writer; returns once it is stored."""
    request_id = time_ordered_uuid()
    work = IntakeWork(
        integration_id=integration.id,
        service_id=integration.service_id,
        request_id=request_id,
        received_at=request.now,
        content_type=request.content_type,
        headers=sanitised_headers(request.headers),
        body=request.body,
        route=route,
        events=events,
        lookup=lookup,
        change=change,
    )
    return request_id, await runtime(context).writer.submit(work)

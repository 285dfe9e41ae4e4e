"""Routing rules, per-service alert rules, maintenance windows, heartbeats and change events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from warroom.alerts.intake import heartbeats
from warroom.alerts.intake.flow import Throttled, UnknownKey, WrongKind, admit
from warroom.alerts.models import Integration
from warroom.alerts.rules import service as rules
from warroom.alerts.rules.models import AlertRule, Heartbeat, MaintenanceWindow, RoutingRule
from warroom.alerts.rules.schemas import (
    AlertRuleCreate,
    AlertRuleOut,
    ChangeOut,
    HeartbeatCreate,
    HeartbeatOut,
    RoutingRuleCreate,
    RoutingRuleOut,
    WindowCreate,
    WindowOut,
)
from warroom.catalog.models import Service
from warroom.catalog.service import get_service
from warroom.deps import CatalogWriter, ContextDep, IncidentWriter, InternalReader, ReadSession, WriteSession
from warroom.problems import problem, problem_responses

router = APIRouter(prefix="/api/v1", tags=["rules"])
ping_router = APIRouter(tags=["intake"])


def routing_out(rule: RoutingRule, slug: str) -> RoutingRuleOut:
    return RoutingRuleOut(
        id=rule.id,
        position=rule.position,
        name=rule.name,
        conditions=rule.conditions,
        service=slug,
        enabled=rule.enabled,
    )


def alert_rule_out(rule: AlertRule) -> AlertRuleOut:
    return AlertRuleOut(
        id=rule.id,
        position=rule.position,
        name=rule.name,
        conditions=rule.conditions,
        action=rule.action,
        incident_severity=rule.incident_severity,
        incident_type=rule.incident_type,
    )


def window_out(window: MaintenanceWindow) -> WindowOut:
    return WindowOut(
        id=window.id,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        reason=window.reason,
        created_by=window.created_by,
    )


@router.get("/routing-rules", response_model=list[RoutingRuleOut])
async def list_routing_rules(_user: InternalReader, session: ReadSession) -> list[RoutingRuleOut]:
    return [routing_out(rule, slug) for rule, slug in await rules.list_routing_rules(session=session)]


@router.post("/routing-rules", status_code=201, response_model=RoutingRuleOut)
async def create_routing_rule(
    body: RoutingRuleCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> RoutingRuleOut:
    rule = await rules.create_routing_rule(
        session=session,
        name=body.name,
        conditions=body.conditions,
        service_slug=body.service,
        now=context.clock.now(),
    )
    return routing_out(rule, body.service)


@router.delete("/routing-rules/{rule_id}", status_code=204)
async def delete_routing_rule(rule_id: int, _admin: CatalogWriter, session: WriteSession) -> None:
    await rules.delete_row(session=session, model=RoutingRule, row_id=rule_id, what="routing rule")


@router.get("/services/{slug}/alert-rules", response_model=list[AlertRuleOut])
async def list_alert_rules(slug: str, _user: InternalReader, session: ReadSession) -> list[AlertRuleOut]:
    service = await get_service(session=session, slug=slug)
    return [alert_rule_out(r) for r in await rules.list_alert_rules(session=session, service_id=service.id)]


@router.post("/services/{slug}/alert-rules", status_code=201, response_model=AlertRuleOut)
async def create_alert_rule(
    slug: str, body: AlertRuleCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> AlertRuleOut:
    rule = await rules.create_alert_rule(
        session=session,
        procedure=context.procedure.procedure,
        service_slug=slug,
        name=body.name,
        conditions=body.conditions,
        action=body.action,
        incident_severity=body.incident_severity,
        incident_type=body.incident_type,
        now=context.clock.now(),
    )
    return alert_rule_out(rule)


@router.delete("/services/{slug}/alert-rules/{rule_id}", status_code=204)
async def delete_alert_rule(slug: str, rule_id: int, _admin: CatalogWriter, session: WriteSession) -> None:
    service = await get_service(session=session, slug=slug)
    await rules.delete_row(
        session=session, model=AlertRule, row_id=rule_id, what="alert rule", service_id=service.id
    )


@router.get("/services/{slug}/maintenance", response_model=list[WindowOut])
async def list_windows(slug: str, _user: InternalReader, session: ReadSession) -> list[WindowOut]:
    service = await get_service(session=session, slug=slug)
    return [window_out(w) for w in await rules.list_windows(session=session, service_id=service.id)]


@router.post("/services/{slug}/maintenance", status_code=201, response_model=WindowOut)
async def create_window(
    slug: str, body: WindowCreate, user: IncidentWriter, session: WriteSession, context: ContextDep
) -> WindowOut:
    window = await rules.create_window(
        session=session,
        service_slug=slug,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        actor=user.email,
        now=context.clock.now(),
    )
    return window_out(window)


@router.delete("/services/{slug}/maintenance/{window_id}", status_code=204)
async def delete_window(slug: str, window_id: int, _user: IncidentWriter, session: WriteSession) -> None:
    service = await get_service(session=session, slug=slug)
    await rules.delete_row(
        session=session,
        model=MaintenanceWindow,
        row_id=window_id,
        what="maintenance window",
        service_id=service.id,
    )


@router.get("/services/{slug}/changes", response_model=list[ChangeOut])
async def list_changes(
    slug: str, _user: InternalReader, session: ReadSession, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[ChangeOut]:
    service = await get_service(session=session, slug=slug)
    return [
        ChangeOut(at=c.at, summary=c.summary, source=c.source, links=c.links, details=c.details)
        for c in await rules.list_changes(session=session, service_id=service.id, limit=limit)
    ]


def heartbeat_out(heartbeat: Heartbeat, integration: Integration, slug: str, base_url: str) -> HeartbeatOut:
    return HeartbeatOut(
        id=heartbeat.id,
        name=heartbeat.name,
        service=slug,
        interval_seconds=heartbeat.interval_seconds,
        last_ping_at=heartbeat.last_ping_at,
        missing=heartbeat.missing,
        ping_url=f"{base_url}/intake/heartbeat/{integration.key}",
    )


@router.get("/heartbeats", response_model=list[HeartbeatOut])
async def list_heartbeats(
    _user: InternalReader, session: ReadSession, context: ContextDep
) -> list[HeartbeatOut]:
    rows = await session.execute(
        select(Heartbeat, Integration, Service.slug)
        .join(Integration, Integration.id == Heartbeat.integration_id)
        .join(Service, Service.id == Integration.service_id)
        .order_by(Heartbeat.id)
    )
    base = context.settings.resolved_base_url()
    return [heartbeat_out(h, i, slug, base) for h, i, slug in rows.all()]


@router.post("/heartbeats", status_code=201, response_model=HeartbeatOut)
async def create_heartbeat(
    body: HeartbeatCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> HeartbeatOut:
    heartbeat, integration = await heartbeats.create_heartbeat(
        session=session,
        service_slug=body.service,
        name=body.name,
        interval_seconds=body.interval_seconds,
        now=context.clock.now(),
    )
    return heartbeat_out(heartbeat, integration, body.service, context.settings.resolved_base_url())


PING_RESPONSES = problem_responses(401, 403, 429)  # the key is checked here, not by a dependency


@ping_router.get(
    "/intake/heartbeat/{key}",
    summary="Heartbeat ping (GET, for curl and cron)",
    responses=PING_RESPONSES,
)
async def heartbeat_ping_get(key: str, context: ContextDep) -> JSONResponse:
    return await heartbeat_ping(key, context)


@ping_router.post("/intake/heartbeat/{key}", summary="Heartbeat ping", responses=PING_RESPONSES)
async def heartbeat_ping(key: str, context: ContextDep) -> JSONResponse:
    try:
        info = await admit(context, key, ("heartbeat",))
    except Throttled as error:
        response = problem(429, "Too many requests", str(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except (UnknownKey, WrongKind) as error:
        return problem(401 if isinstance(error, UnknownKey) else 403, "Not accepted", str(error))
    async with context.db.write_turn, context.db.write() as session:
        integration = await session.get(Integration, info.id)
        assert integration is not None
        recovered = await heartbeats.record_ping(
            session=session, integration=integration, now=context.clock.now()
        )
        await session.commit()
    if recovered:
        context.wake_worker()
    return JSONResponse({"status": "ok", "recovered": recovered})

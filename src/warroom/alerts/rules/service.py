"""Routing rules, alert rules, maintenance windows: create, list, delete. Callers commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import ServiceChange
from warroom.alerts.rules.domain import condition_problems
from warroom.alerts.rules.models import AlertRule, MaintenanceWindow, RoutingRule
from warroom.catalog.models import Service
from warroom.catalog.service import get_service
from warroom.errors import FieldProblem, InvalidInput, NotFound, invalid
from warroom.incidents import domain as incident_rules
from warroom.procedure.schemas import Procedure

ACTIONS = ("page", "declare", "group")


def _check_conditions(conditions: list[dict[str, Any]]) -> None:
    problems = condition_problems(conditions)
    if problems:
        raise InvalidInput("; ".join(problems), [FieldProblem("conditions", p) for p in problems])


async def _service(session: AsyncSession, slug: str) -> Service:
    try:
        return await get_service(session=session, slug=slug)
    except NotFound as error:
        raise invalid("service", error.detail) from None


async def _next_position(session: AsyncSession, column: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(column), 0)).where(*where)) or 0) + 1


async def create_routing_rule(
    *, session: AsyncSession, name: str, conditions: list[dict[str, Any]], service_slug: str, now: datetime
) -> RoutingRule:
    _check_conditions(conditions)
    service = await _service(session, service_slug)
    rule = RoutingRule(
        position=await _next_position(session, RoutingRule.position),
        name=name,
        conditions=conditions,
        service_id=service.id,
        enabled=True,
        created_at=now,
    )
    session.add(rule)
    await session.flush()
    return rule


async def list_routing_rules(*, session: AsyncSession) -> list[tuple[RoutingRule, str]]:
    rows = await session.execute(
        select(RoutingRule, Service.slug)
        .join(Service, Service.id == RoutingRule.service_id)
        .order_by(RoutingRule.position, RoutingRule.id)
    )
    return [(rule, slug) for rule, slug in rows.all()]


async def delete_row(*, session: AsyncSession, model: Any, row_id: int, what: str, **where: Any) -> None:
    conditions = [model.id == row_id, *(getattr(model, k) == v for k, v in where.items())]
    deleted = await session.execute(delete(model).where(*conditions).returning(model.id))
    if deleted.first() is None:
        raise NotFound(f"no {what} {row_id}")


async def create_alert_rule(
    *,
    session: AsyncSession,
    procedure: Procedure,
    service_slug: str,
    name: str,
    conditions: list[dict[str, Any]],
    action: str,
    incident_severity: str | None,
    incident_type: str | None,
    now: datetime,
) -> AlertRule:
    _check_conditions(conditions)
    if action not in ACTIONS:
        raise invalid("action", f"unknown action {action!r}; allowed: {', '.join(ACTIONS)}")
    if incident_severity is not None:
        incident_rules.check_severity(procedure, incident_severity, "incident_severity")
    if incident_type is not None:
        incident_rules.check_type(procedure, incident_type, "incident_type")
    service = await _service(session, service_slug)
    rule = AlertRule(
        service_id=service.id,
        name=name,
        conditions=conditions,
        action=action,
        position=await _next_position(session, AlertRule.position, AlertRule.service_id == service.id),
        incident_severity=incident_severity,
        incident_type=incident_type,
        created_at=now,
    )
    session.add(rule)
    await session.flush()
    return rule


async def list_alert_rules(*, session: AsyncSession, service_id: int) -> list[AlertRule]:
    query = (
        select(AlertRule).where(AlertRule.service_id == service_id).order_by(AlertRule.position, AlertRule.id)
    )
    return list((await session.scalars(query)).all())


async def create_window(
    *,
    session: AsyncSession,
    service_slug: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> MaintenanceWindow:
    if ends_at <= starts_at:
        raise invalid("ends_at", "must be after starts_at")
    service = await _service(session, service_slug)
    window = MaintenanceWindow(
        service_id=service.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    session.add(window)
    await session.flush()
    return window


async def list_windows(*, session: AsyncSession, service_id: int) -> list[MaintenanceWindow]:
    query = select(MaintenanceWindow).where(MaintenanceWindow.service_id == service_id)
    return list((await session.scalars(query.order_by(MaintenanceWindow.starts_at))).all())


async def list_changes(*, session: AsyncSession, service_id: int, limit: int) -> list[ServiceChange]:
    query = select(ServiceChange).where(ServiceChange.service_id == service_id)
    return list((await session.scalars(query.order_by(ServiceChange.at.desc()).limit(limit))).all())

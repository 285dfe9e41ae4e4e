"""The `alert.triage` job: route a new alert to its service, honour maintenance, apply the service's rules.

Runs after intake has answered (intake stays fast) and in the job's own transaction, so it happens once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.alerts.rule_models import AlertRule, MaintenanceWindow, RoutingRule
from warroom.alerts.rules_domain import SEVERITY_TO_INCIDENT, matches
from warroom.alerts.service import attach
from warroom.catalog.models import Service
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate
from warroom.incidents.service import declare_incident
from warroom.jobs.registry import JobRun
from warroom.paging.engine import start_escalation


def alert_facts(alert: Alert) -> dict[str, Any]:
    """The fields rule conditions can test."""
    return {
        "severity": alert.severity,
        "source": alert.source,
        "title": alert.title,
        "description": alert.description,
        "dedup_key": alert.dedup_key,
        "group_key": alert.group_key,
        "integration": alert.integration_id,
        "labels": alert.labels,
    }


async def routing_rules(session: AsyncSession) -> list[RoutingRule]:
    rules = await session.scalars(
        select(RoutingRule)
        .where(RoutingRule.enabled.is_(True))
        .order_by(RoutingRule.position, RoutingRule.id)
    )
    return list(rules.all())


def routed_service(rules: list[RoutingRule], facts: dict[str, Any]) -> int | None:
    return next((rule.service_id for rule in rules if matches(facts, rule.conditions)), None)


async def active_window(
    session: AsyncSession, service_id: int | None, at: datetime
) -> MaintenanceWindow | None:
    if service_id is None:
        return None
    return await session.scalar(
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.service_id == service_id,
            MaintenanceWindow.starts_at <= at,
            MaintenanceWindow.ends_at > at,
        )
        .limit(1)
    )


async def service_rules(session: AsyncSession, service_id: int | None) -> list[AlertRule]:
    if service_id is None:
        return []
    rules = await session.scalars(
        select(AlertRule).where(AlertRule.service_id == service_id).order_by(AlertRule.position, AlertRule.id)
    )
    return list(rules.all())


async def lock_group(session: AsyncSession, group_key: str) -> None:
    """Serialise triage per group, so two alerts of one group racing through workers open one incident.

    PostgreSQL: a transaction-scoped advisory lock on the key's hash. SQLite: writers are serial already.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.sha256(group_key.encode()).digest()[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(digest)))


async def open_group_incident(session: AsyncSession, alert: Alert) -> Incident | None:
    """An active incident that already holds an alert of the same group."""
    if not alert.group_key:
        return None
    await lock_group(session, alert.group_key)
    return await session.scalar(
        select(Incident)
        .join(Alert, Alert.incident_id == Incident.id)
        .where(Alert.group_key == alert.group_key, Incident.status == "active", Alert.id != alert.id)
        .order_by(Incident.id.desc())
        .limit(1)
        .with_for_update(of=Incident)
    )


async def _declare_for(run: JobRun, alert: Alert, rule: AlertRule) -> Incident:
    slug = await run.session.scalar(select(Service.slug).where(Service.id == alert.service_id))
    data = IncidentCreate(
        title=(alert.title or alert.dedup_key)[:300],
        severity=rule.incident_severity or SEVERITY_TO_INCIDENT.get(alert.severity, "P3"),
        type=rule.incident_type,
        summary=alert.description[:20_000],
        services=[slug] if slug else [],
        detected_at=alert.first_seen_at,
    )
    return await declare_incident(
        session=run.session, loaded=run.context.procedure, actor=f"rule: {rule.name}", data=data, now=run.now
    )


async def triage_alert(run: JobRun, payload: dict[str, Any]) -> None:
    session = run.session
    alert = await session.get(Alert, int(payload["alert_id"]), with_for_update=True)
    if alert is None or alert.triaged:
        return  # deleted, or a retry after the work committed
    facts = alert_facts(alert)
    routing = run.memo.get("routing")
    if routing is None:  # one read per group of triage jobs (one transaction)
        routing = run.memo["routing"] = await routing_rules(session)
    alert.service_id = routed_service(routing, facts) or alert.service_id
    alert.triaged = True
    window = await active_window(session, alert.service_id, alert.first_seen_at)
    if window is not None:
        alert.suppressed = f"maintenance: {window.reason}"[:200]
        return
    key = f"rules:{alert.service_id}"
    if key not in run.memo:
        run.memo[key] = await service_rules(session, alert.service_id)
    rule = next((r for r in run.memo[key] if matches(facts, r.conditions)), None)
    if rule is not None and rule.action in ("declare", "group"):
        incident = await open_group_incident(session, alert) if rule.action == "group" else None
        incident = incident or await _declare_for(run, alert, rule)
        await attach(session=session, alert=alert, incident=incident, actor=f"rule: {rule.name}", now=run.now)
    if alert.status == "triggered":
        await start_escalation(session=session, alert=alert, now=run.now)

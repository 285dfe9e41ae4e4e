"""The `alert.triage` job: route a new alert to its service, honour maintenance, apply the service's rules.

Runs after intake has answered (intake stays fast) and in the job's own transaction, so it happens once.
A group of triage jobs shares one transaction: one locking read of the alerts, lookups once per group,
one UPDATE (executemany) for the alerts that only page and one INSERT of their escalations; an alert whose
rule declares or groups into an incident goes through the incident services, one at a time.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.alerts.rules.domain import SEVERITY_TO_INCIDENT, matches
from warroom.alerts.rules.models import AlertRule, MaintenanceWindow, RoutingRule
from warroom.alerts.service import attach
from warroom.catalog.models import Service
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate
from warroom.incidents.service import declare_incident
from warroom.jobs import held
from warroom.jobs.config_cache import CACHED
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec
from warroom.paging.engine import NewAlert, start_escalations
from warroom.paging.recurrence import Recovery, last_recovery, link_recurrence, recurs
from warroom.procedure.domain import parse_duration

_ALERTS = cast(Table, Alert.__table__)
ROUTING = f"{CACHED}routing"
# In the group's memo, by alert id: the alerts' texts as triage read them (labels, details, title,
# description), for the threat-intel match in the same transaction (intel.actions.observed_in) to take
# rather than read again.
ALERT_TEXTS = "alert-texts"
_TRIAGED = (
    update(_ALERTS)
    .where(_ALERTS.c.id == bindparam("b_id"))
    .values(service_id=bindparam("b_service"), suppressed=bindparam("b_suppressed"), triaged=True)
)


class Untriaged(NamedTuple):
    """What triage reads of an alert."""

    id: int
    service_id: int | None
    status: str
    severity: str
    source: str
    title: str
    description: str
    dedup_key: str
    group_key: str | None
    integration_id: int
    labels: dict[str, str]
    first_seen_at: datetime
    suppressed: str | None
    incident_id: int | None
    details: dict[str, Any]


def alert_facts(alert: Alert | Untriaged) -> dict[str, Any]:
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


def routing_rule(rules: list[RoutingRule], facts: dict[str, Any]) -> RoutingRule | None:
    """The first enabled routing rule the alert matches: it picks the alert's service."""
    return next((rule for rule in rules if matches(facts, rule.conditions)), None)


async def active_window(
    session: AsyncSession, service_id: int | None, at: datetime, memo: dict[str, Any] | None = None
) -> MaintenanceWindow | None:
    """The service's maintenance window at `at`; with `memo`, the service's windows are read once (those
    not over at `memo["since"]`, the group's earliest alert) and reused while that is no earlier."""
    if service_id is None:
        return None
    if memo is None:
        return await session.scalar(
            select(MaintenanceWindow)
            .where(
                MaintenanceWindow.service_id == service_id,
                MaintenanceWindow.starts_at <= at,
                MaintenanceWindow.ends_at > at,
            )
            .limit(1)
        )
    key, since = f"{CACHED}windows:{service_id}", memo["since"]
    if key not in memo or memo[key][0] > since:  # (the earliest time read for, the windows)
        query = select(MaintenanceWindow).where(
            MaintenanceWindow.service_id == service_id, MaintenanceWindow.ends_at > since
        )
        memo[key] = (since, list((await session.scalars(query.order_by(MaintenanceWindow.id))).all()))
    return next((w for w in memo[key][1] if w.starts_at <= at < w.ends_at), None)


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


async def open_group_incident(session: AsyncSession, alert: Alert | Untriaged) -> Incident | None:
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


async def _rules(run: JobRun, service_id: int | None) -> list[AlertRule]:
    key = f"{CACHED}rules:{service_id}"
    if key not in run.memo:
        run.memo[key] = await service_rules(run.session, service_id)
    found: list[AlertRule] = run.memo[key]
    return found


_a = _ALERTS.c
_LOCK_UNTRIAGED = (  # built once: building it per group cost more than running it
    select(_a.id, _a.service_id, _a.status, _a.severity, _a.source, _a.title, _a.description, _a.dedup_key,
           _a.group_key, _a.integration_id, _a.labels, _a.first_seen_at, _a.suppressed, _a.incident_id,
           _a.details)
    .where(_a.id.in_(bindparam("b_ids", expanding=True)), _a.triaged == false())
    .order_by(_a.id)
    .with_for_update()
)  # fmt: skip


async def _untriaged(session: AsyncSession, alert_ids: list[int]) -> dict[int, Untriaged]:
    """The alerts not triaged yet (a retry after the work committed finds none), locked, in one read."""
    rows = await session.execute(_LOCK_UNTRIAGED, {"b_ids": sorted(set(alert_ids))})
    return {row[0]: Untriaged._make(row) for row in rows.all()}


async def triage_alerts(
    run: JobRun, payloads: list[dict[str, Any]], due_now: list[JobSpec] | None = None
) -> None:
    """Triage a group of new alerts; with `due_now`, the escalation steps due at once that it starts go
    there rather than to the jobs table (engine.start_escalations), for the caller to run."""
    session = run.session
    alerts = await _untriaged(session, [int(payload["alert_id"]) for payload in payloads])
    if not alerts:
        return  # deleted, or a retry after the work committed
    texts = run.memo.setdefault(ALERT_TEXTS, {})
    texts.update((a.id, (a.labels, a.details, a.title, a.description)) for a in alerts.values())
    if ROUTING not in run.memo:  # one read per group of triage jobs, or per change (jobs.config_cache)
        run.memo[ROUTING] = await routing_rules(session)
    run.memo.setdefault("since", min(alert.first_seen_at for alert in alerts.values()))
    triaged, paging = [], []
    for alert in alerts.values():
        facts = alert_facts(alert)
        routed = routing_rule(run.memo[ROUTING], facts)
        service_id = routed.service_id if routed else alert.service_id
        window = await active_window(session, service_id, alert.first_seen_at, run.memo)
        rule = (
            None
            if window
            else next((r for r in await _rules(run, service_id) if matches(facts, r.conditions)), None)
        )
        recovered = None if window else await _recovered(run, alert, service_id)
        if (
            rule is not None
            and rule.action in ("declare", "group")
            and (recovered is None or not await _opens_incident(session, alert, rule))
        ):
            await _triage_into_incident(run, alert.id, service_id, rule, due_now)
            continue
        if recovered is not None:  # linked to the incident it may repeat; still paged as usual below
            await link_recurrence(session, alert, recovered, await _slug(run, service_id), run.now)
        suppressed = f"maintenance: {window.reason}"[:200] if window else alert.suppressed
        triaged.append({"b_id": alert.id, "b_service": service_id, "b_suppressed": suppressed})
        if window is None and alert.status == "triggered":
            why = f"routing rule {routed.name}"[:300] if routed else "its integration's service"
            paging.append(_new_alert(alert, service_id, f"alert #{alert.id} to {why}"))
    if triaged:  # (the group's alerts are read again in this transaction: intel's match may act on one)
        await held.write_soon(session, _TRIAGED, triaged)
    await start_escalations(session=session, alerts=paging, now=run.now, memo=run.memo, due_now=due_now)


def _new_alert(alert: Untriaged, service_id: int | None, why: str) -> NewAlert:
    """The alert to page for, with what its page says of it when it is on no incident (read just now)."""
    page = None
    if alert.incident_id is None:  # in paging.steps' alert columns: no incident, not restricted, no drill
        page = (alert.id, alert.severity, alert.title, alert.description, alert.dedup_key, None, None, None,
                service_id)  # fmt: skip
    return NewAlert(alert.id, service_id, alert.severity, why, page)


async def _recovered(run: JobRun, alert: Untriaged, service_id: int | None) -> Recovery | None:
    """The incident on the alert's service that recovered within the procedure's recurrence watch."""
    watch = run.context.procedure.procedure.recurrence_watch
    if watch is None or service_id is None or alert.status != "triggered":
        return None
    key = f"{CACHED}last-recovery:{service_id}"  # kept while no incident changes (migration 0039)
    if key not in run.memo:
        run.memo[key] = await last_recovery(run.session, service_id)
    found: Recovery | None = run.memo[key]
    return found if recurs(found, alert.first_seen_at, parse_duration(watch)) else None


async def _opens_incident(session: AsyncSession, alert: Untriaged, rule: AlertRule) -> bool:
    """Whether the rule would open a new incident (a group rule joins its group's open one if any)."""
    return rule.action == "declare" or await open_group_incident(session, alert) is None


async def _slug(run: JobRun, service_id: int | None) -> str:
    key = f"{CACHED}service-slug:{service_id}"  # the key paging.steps reads the same slug under
    if key not in run.memo:
        run.memo[key] = await run.session.scalar(select(Service.slug).where(Service.id == service_id))
    return str(run.memo[key])


async def _triage_into_incident(
    run: JobRun, alert_id: int, service_id: int | None, rule: AlertRule, due_now: list[JobSpec] | None
) -> None:
    """A rule that declares an incident, or groups the alert into its group's open one."""
    session = run.session
    alert = await session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        return
    alert.service_id, alert.triaged = service_id, True
    incident = await open_group_incident(session, alert) if rule.action == "group" else None
    incident = incident or await _declare_for(run, alert, rule)
    await attach(session=session, alert=alert, incident=incident, actor=f"rule: {rule.name}", now=run.now)
    if alert.status == "triggered":
        why = f"alert #{alert.id}, {rule.action} by alert rule {rule.name} into INC-{incident.id}"[:300]
        new = NewAlert(alert.id, alert.service_id, alert.severity, why)
        await start_escalations(session=session, alerts=[new], now=run.now, memo=run.memo, due_now=due_now)

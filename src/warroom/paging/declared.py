"""Declared incidents page whom their severity names (the procedure's `page:`), through the escalation engine.

`DeclarationPager`, a timeline observer registered by warroom.wiring, stages an `incident.page` job in the
transaction of every `declared` and `severity_changed` event, so a declaration that commits always pages
and one that rolls back never does. The job turns each target into an escalation row keyed by (incident,
target): a target is paged once per incident however often the severity moves, so raising it pages only the
new severity's additional targets. The rows then walk like an alert's (paging.steps): policies step by
step, schedules, teams and users at once, each page on the incident's timeline with the reason.
Acknowledging or resolving the incident stops its walks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.auth.models import Team, User
from warroom.catalog.models import Service
from warroom.incidents.models import Incident, IncidentService
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue, insert_jobs
from warroom.oncall.models import EscalationPolicy, Schedule
from warroom.oncall.policy_service import policy_steps
from warroom.paging.engine import step_key, stop_incident_paging
from warroom.paging.models import Escalation
from warroom.procedure.page_schema import PageTarget
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record

PAGE_KIND = "incident.page"
_ESCALATIONS = cast(Table, Escalation.__table__)


@dataclass(frozen=True)
class DeclarationPager:
    """The timeline observer: declaring or changing the severity stages paging; acknowledging or
    resolving the incident stops it."""

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if event.kind in (EventKind.declared, EventKind.severity_changed):
            declared = event.kind == EventKind.declared
            payload = {
                "incident_id": incident.id,
                "severity": event.data["severity"] if declared else event.data["new"],
                "cause": "declared" if declared else "raised",
            }
            key = f"incident-page:{incident.id}:{event.seq}"
            spec = JobSpec(PAGE_KIND, payload, run_at=event.at, idempotency_key=key)
            await enqueue(session=session, spec=spec, now=event.at)
        elif event.kind in (EventKind.acknowledged, EventKind.resolved):
            await stop_incident_paging(
                session=session, incident_id=incident.id, state=str(event.kind), actor=event.actor,
                now=event.at,
            )  # fmt: skip


@dataclass
class Planned:
    """One escalation row to start (the columns it needs), or why the target cannot be paged."""

    target: str
    reason: str
    policy_id: int | None = None
    targets: list[dict[str, Any]] | None = None


async def page_declared(run: JobRun, payload: dict[str, Any]) -> None:
    """Start a walk for each of the severity's targets not paged yet for this incident."""
    session = run.session
    incident = await session.get(Incident, int(payload["incident_id"]), with_for_update=True)
    # Resolved since (or a story told after the fact, like the demo's): nobody needs waking. Moved on to
    # another severity: that change's own job pages for it.
    if incident is None or incident.status != "active" or incident.severity != payload["severity"]:
        return
    severity = run.context.procedure.procedure.severity(incident.severity)
    why = f"{'declared' if payload['cause'] == 'declared' else 'raised to'} {severity.id}"
    planned: list[Planned] = []
    said = await _failures_said(session, incident.id)
    for target in severity.page:
        found = await _plan(session, incident, target, why)
        if isinstance(found, list):
            planned += found
        elif (target.label, found) not in said:  # said once per incident, not again on every raise
            await record(session, incident, "warroom", EventKind.page_failed, run.now,
                         target=target.label, problem=found)  # fmt: skip
    await _start(session, incident, planned, run.now)


async def _failures_said(session: AsyncSession, incident_id: int) -> set[tuple[str, str]]:
    query = select(TimelineEvent.data).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.kind == EventKind.page_failed
    )
    return {(d.get("target", ""), d.get("problem", "")) for d in (await session.scalars(query)).all()}


async def _plan(
    session: AsyncSession, incident: Incident, target: PageTarget, why: str
) -> list[Planned] | str:
    """The walks one target asks for, or what stops it (said on the timeline rather than paging nobody)."""
    if target.kind == "service_policy":
        return await _service_policies(session, incident, why)
    model: Any = {"schedule": Schedule, "team": Team, "user": User}[target.kind]
    column = model.email if target.kind == "user" else model.slug
    found = await session.scalar(select(model.id).where(column == target.ref))
    if found is None:
        return f"no {target.kind} {target.ref!r}"
    reason = f"{why}: the procedure pages {target.label}"
    return [Planned(f"{target.kind}:{target.ref}", reason, targets=[{"type": target.kind, "id": found}])]


async def _service_policies(session: AsyncSession, incident: Incident, why: str) -> list[Planned] | str:
    rows = (
        await session.execute(
            select(Service.slug, EscalationPolicy.id, EscalationPolicy.slug, EscalationPolicy.name)
            .join(IncidentService, IncidentService.service_id == Service.id)
            .join(EscalationPolicy, EscalationPolicy.id == Service.escalation_policy_id)
            .where(IncidentService.incident_id == incident.id)
            .order_by(Service.slug)
        )
    ).all()
    if not rows:
        return "no affected service has an escalation policy (name the services when declaring)"
    # An incident an alert opened: that alert already walks its service's policy; paging it twice would
    # wake the same people twice for one problem.
    walking = set(
        (
            await session.scalars(
                select(Escalation.policy_id)
                .join(Alert, Alert.id == Escalation.alert_id)
                .where(Alert.incident_id == incident.id)
            )
        ).all()
    )
    planned: dict[int, Planned] = {}
    for service, policy_id, slug, name in rows:
        if policy_id not in walking and policy_id not in planned:
            reason = f"{why}: affected service {service} escalates by policy {name}"
            planned[policy_id] = Planned(f"policy:{slug}", reason, policy_id=policy_id)
    return list(planned.values())


async def _start(session: AsyncSession, incident: Incident, planned: list[Planned], now: datetime) -> None:
    """One escalation per target, unless this incident paged it already; then each walk's first step."""
    if not planned:
        return
    rows = [
        {"alert_id": None, "incident_id": incident.id, "target": p.target, "targets": p.targets,
         "reason": p.reason[:300], "policy_id": p.policy_id, "state": "active", "step": 0, "round": 0,
         "generation": 0, "started_at": now, "urgency": "high"}
        for p in planned
    ]  # fmt: skip
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    started = await session.execute(
        insert(_ESCALATIONS)
        .on_conflict_do_nothing(index_elements=["incident_id", "target"])
        .returning(_ESCALATIONS.c.id, _ESCALATIONS.c.policy_id),
        rows,
    )
    specs = []
    for escalation_id, policy_id in started.all():
        steps = await policy_steps(session=session, policy_id=policy_id) if policy_id else []
        delay = timedelta(seconds=steps[0].delay_seconds if steps else 0)
        payload = {"escalation_id": escalation_id, "generation": 0, "round": 0, "step": 0}
        key = step_key(escalation_id, 0, 0, 0)
        specs.append(JobSpec("escalation.step", payload, run_at=now + delay, idempotency_key=key))
    await insert_jobs(session=session, specs=specs, now=now)

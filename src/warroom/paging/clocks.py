"""Contain and resolve targets, enforced: at 80% of a target the incident's commander is paged with a warning;
when a target is missed, the severity's `breach:` targets are paged. Each happens once per incident and
clock: the incident row is locked and the timeline says whether it already happened, and each page is an
escalation keyed by (incident, target), so two workers checking at once page once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.context import AppContext
from warroom.incidents.clocks import Clock, clocks, earliest_warning
from warroom.incidents.models import Incident
from warroom.jobs.periodic import AtMostEvery
from warroom.paging.declared import Planned, _plan, _start
from warroom.paging.requested import commander_of
from warroom.procedure.schemas import Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record


async def _candidates(session: AsyncSession, procedure: Procedure, now: datetime) -> list[int]:
    """Active incidents old enough for a warning of their severity (a cheap, indexed first cut)."""
    found: list[int] = []
    for severity in procedure.severity_ids():
        first = earliest_warning(procedure, severity)
        if first is None:
            continue
        query = select(Incident.id).where(
            Incident.status == "active", Incident.severity == severity, Incident.declared_at <= now - first
        )
        found += (await session.scalars(query)).all()
    return found


async def _said(session: AsyncSession, incident_id: int) -> set[tuple[str, str]]:
    """(kind, clock) of the warnings and misses already on the incident's timeline."""
    query = select(TimelineEvent.kind, TimelineEvent.data).where(
        TimelineEvent.incident_id == incident_id,
        TimelineEvent.kind.in_((EventKind.target_warning, EventKind.target_missed)),
    )
    return {(kind, str((data or {}).get("clock"))) for kind, data in (await session.execute(query)).all()}


async def _warn(session: AsyncSession, incident: Incident, clock: Clock, now: datetime) -> None:
    commander = await commander_of(session, incident)
    left = int((clock.due_at - now).total_seconds() // 60)
    why = f"the {clock.name} target ({clock.target}) is due in {max(left, 0)} min"
    await record(session, incident, "warroom", EventKind.target_warning, now, clock=clock.name,
                 due_at=clock.due_at.isoformat(), paged=commander.email if commander else None)  # fmt: skip
    if commander is not None:
        target = f"clock:{clock.name}:warn:user:{commander.email}"[:200]
        await _start(
            session, incident, [Planned(target, why, targets=[{"type": "user", "id": commander.id}])], now
        )


async def _breach(
    session: AsyncSession, procedure: Procedure, incident: Incident, clock: Clock, now: datetime
) -> None:
    why = f"the {clock.name} target ({clock.target}) was missed"
    planned: list[Planned] = []
    failed: list[str] = []
    for target in procedure.severity(incident.severity).breach:
        found = await _plan(session, incident, target, why)
        if isinstance(found, str):
            failed.append(f"{target.label}: {found}")
            continue
        for walk in found:
            walk.target, walk.reason = f"clock:{clock.name}:{walk.target}"[:200], f"{why}: {walk.reason}"
        planned += found
    await record(session, incident, "warroom", EventKind.target_missed, now, clock=clock.name,
                 due_at=clock.due_at.isoformat(), paged=[p.target.split(":", 2)[2] for p in planned],
                 problems=failed)  # fmt: skip
    await _start(session, incident, planned, now)


async def check_incident(
    session: AsyncSession, procedure: Procedure, incident_id: int, now: datetime
) -> None:
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None or incident.status != "active":
        return
    stops = {"contained": incident.contained_at, "resolved": incident.resolved_at}
    said = await _said(session, incident.id)
    for clock in clocks(procedure, severity=incident.severity, declared_at=incident.declared_at, stops=stops,
                        now=now):  # fmt: skip
        if clock.stopped_at is not None:
            continue
        if now >= clock.due_at and (EventKind.target_missed, clock.name) not in said:
            await _breach(session, procedure, incident, clock, now)
        elif now >= clock.warn_at and not {(EventKind.target_warning, clock.name),
                                           (EventKind.target_missed, clock.name)} & said:  # fmt: skip
            await _warn(session, incident, clock, now)


class ResponseClocks(AtMostEvery):
    """Periodic, every 30 s per worker: warn and escalate on the contain and resolve targets."""

    __name__ = "check_response_clocks"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(seconds=30)

    async def run(self, context: AppContext, now: datetime) -> None:
        procedure = context.procedure.procedure
        async with context.db.read() as session:
            due = await _candidates(session, procedure, now)
        for incident_id in due:
            async with context.db.write_turn, context.db.write() as session:
                await check_incident(session, procedure, incident_id, now)
                await session.commit()

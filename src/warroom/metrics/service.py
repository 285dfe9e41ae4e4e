"""Load incidents, their milestone events, services, teams and first pages in four queries; aggregate in
domain.py. Read-only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert
from warroom.auth.models import Team
from warroom.catalog.models import Service
from warroom.incidents.models import Incident, IncidentService
from warroom.metrics import domain
from warroom.notify.models import OutgoingMessage
from warroom.procedure.domain import target_status
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.kinds import MILESTONE_KINDS, EventKind
from warroom.timeline.models import TimelineEvent

NONE_YET = domain.Milestones()


@dataclass(frozen=True)
class Period:
    """(start, end]: an incident declared at this very moment is in the period ending now."""

    start: datetime
    end: datetime

    def previous(self) -> Period:
        return Period(start=self.start - (self.end - self.start), end=self.start)


@dataclass(frozen=True)
class Report:
    period: Period
    grouping: str
    include_drills: bool
    overall: domain.Summary
    previous: domain.Summary
    groups: dict[str, domain.Summary]
    incidents: list[domain.IncidentFacts]


def _declared_in(period: Period, include_drills: bool) -> Select[Any]:
    query = select(Incident.id).where(Incident.declared_at > period.start, Incident.declared_at <= period.end)
    return query if include_drills else query.where(Incident.drill.is_(False))


async def _milestones(session: AsyncSession, ids: Select[Any]) -> dict[int, domain.Milestones]:
    kinds = (*MILESTONE_KINDS, EventKind.reopened)
    rows = await session.execute(
        select(TimelineEvent.incident_id, TimelineEvent.kind, TimelineEvent.at)
        .where(TimelineEvent.incident_id.in_(ids), TimelineEvent.kind.in_(kinds))
        .order_by(TimelineEvent.incident_id, TimelineEvent.seq)
    )
    events: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for incident_id, kind, at in rows:
        events[incident_id].append((kind, at))
    return {incident_id: domain.milestones_from(found) for incident_id, found in events.items()}


async def _services(session: AsyncSession, ids: Select[Any]) -> dict[int, tuple[set[str], set[str]]]:
    rows = await session.execute(
        select(IncidentService.incident_id, Service.slug, Team.slug)
        .join(Service, Service.id == IncidentService.service_id)
        .outerjoin(Team, Team.id == Service.team_id)
        .where(IncidentService.incident_id.in_(ids))
    )
    found: dict[int, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for incident_id, service, team in rows:
        found[incident_id][0].add(service)
        if team is not None:
            found[incident_id][1].add(team)
    return found


async def _first_pages(session: AsyncSession, ids: Select[Any]) -> dict[int, datetime]:
    """The earliest page sent for any alert attached to each incident."""
    rows = await session.execute(
        select(Alert.incident_id, func.min(OutgoingMessage.sent_at))
        .join(Alert, Alert.id == OutgoingMessage.alert_id)
        .where(Alert.incident_id.in_(ids), OutgoingMessage.sent_at.is_not(None))
        .group_by(Alert.incident_id)
    )
    return {incident_id: at for incident_id, at in rows if incident_id is not None and at is not None}


async def incident_facts(
    *, session: AsyncSession, loaded: LoadedProcedure, period: Period, include_drills: bool, now: datetime
) -> list[domain.IncidentFacts]:
    ids = _declared_in(period, include_drills)
    incidents = (
        await session.execute(
            select(Incident.id, Incident.severity, Incident.type, Incident.playbook, Incident.declared_at)
            .where(Incident.id.in_(ids))
            .order_by(Incident.id)
        )
    ).all()
    milestones = await _milestones(session, ids)
    services = await _services(session, ids)
    pages = await _first_pages(session, ids)
    return [
        _facts(
            loaded, row, milestones.get(row.id, domain.Milestones()), services[row.id], pages.get(row.id), now
        )
        for row in incidents
    ]


def _facts(
    loaded: LoadedProcedure,
    row: Any,
    found: domain.Milestones,
    services: tuple[set[str], set[str]],
    first_page: datetime | None,
    now: datetime,
) -> domain.IncidentFacts:
    declared = found.declared or row.declared_at
    known = row.severity in loaded.procedure.severity_ids()
    target = (
        target_status(loaded.procedure, row.severity, declared, found.acknowledged, now).met
        if known
        else None
    )
    return domain.IncidentFacts(
        id=row.id,
        severity=row.severity,
        type=row.type,
        declared_at=declared,
        services=tuple(sorted(services[0])),
        teams=tuple(sorted(services[1])),
        durations=domain.durations(found, first_page=first_page),
        target_met=target,
        reopens=found.reopens,
        playbook=row.playbook,
    )


async def report(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    since: timedelta,
    now: datetime,
    grouping: str = "severity",
    include_drills: bool = False,
) -> Report:
    """Figures for the period `since` before `now`, grouped, with the previous period of equal length."""
    period = Period(start=now - since, end=now)
    current = await incident_facts(
        session=session, loaded=loaded, period=period, include_drills=include_drills, now=now
    )
    before = await incident_facts(
        session=session, loaded=loaded, period=period.previous(), include_drills=include_drills, now=now
    )
    return Report(
        period=period,
        grouping=grouping,
        include_drills=include_drills,
        overall=domain.summarise(current),
        previous=domain.summarise(before),
        groups=domain.group(current, grouping),
        incidents=current,
    )

"""Append to and read the timeline; verify every chain. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.incidents.models import Incident
from warroom.timeline.domain import GENESIS_HASH, BrokenLink, ChainEntry, event_hash, first_broken_link
from warroom.timeline.models import TimelineEvent


async def append_event(
    *, session: AsyncSession, incident: Incident, at: datetime, actor: str, kind: str, data: dict[str, Any]
) -> TimelineEvent:
    """Add one event after the incident's current head. The caller holds the incident row for update."""
    seq = incident.timeline_seq + 1
    prev = incident.timeline_head or GENESIS_HASH
    digest = event_hash(
        incident_id=incident.id, seq=seq, at=at, actor=actor, kind=kind, data=data, prev_hash=prev
    )
    event = TimelineEvent(
        incident_id=incident.id,
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        data=data,
        prev_hash=prev,
        hash=digest,
    )
    session.add(event)
    incident.timeline_seq = seq
    incident.timeline_head = digest
    await session.flush()
    return event


async def list_events(
    *, session: AsyncSession, incident_id: int, kinds: Sequence[str] | None = None
) -> list[TimelineEvent]:
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
    if kinds is not None:
        query = query.where(TimelineEvent.kind.in_(kinds))
    return list((await session.scalars(query.order_by(TimelineEvent.seq))).all())


def _entry(event: TimelineEvent) -> ChainEntry:
    return ChainEntry(
        incident_id=event.incident_id,
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        kind=event.kind,
        data=event.data,
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


@dataclass(frozen=True)
class AuditReport:
    incidents_checked: int
    events_checked: int
    broken: list[BrokenLink]


async def verify_incident(*, session: AsyncSession, incident: Incident) -> tuple[int, BrokenLink | None]:
    events = await list_events(session=session, incident_id=incident.id)
    broken = first_broken_link(_entry(e) for e in events)
    if broken is None and (incident.timeline_seq != len(events) or _head(events) != incident.timeline_head):
        broken = BrokenLink(incident.id, len(events), "chain ends before the recorded head (events removed)")
    return len(events), broken


def _head(events: list[TimelineEvent]) -> str:
    return events[-1].hash if events else GENESIS_HASH


async def verify_all(*, session: AsyncSession) -> AuditReport:
    incidents = (await session.scalars(select(Incident).order_by(Incident.id))).all()
    total = 0
    broken: list[BrokenLink] = []
    for incident in incidents:
        count, link = await verify_incident(session=session, incident=incident)
        total += count
        if link is not None:
            broken.append(link)
    return AuditReport(incidents_checked=len(incidents), events_checked=total, broken=broken)

"""Record on, read and verify a timeline. Callers own the transaction.

A timeline belongs to an owner row (an incident) that keeps the chain's head: `ChainHead` is all this
package knows of it, so the timeline sits below every domain that records on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.db import WriteSession
from warroom.timeline.domain import GENESIS_HASH, BrokenLink, ChainEntry, event_hash, first_broken_link
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent


class ChainHead(Protocol):
    """The row a timeline belongs to, holding the number and hash of its last event."""

    @property
    def id(self) -> int: ...

    timeline_seq: int
    timeline_head: str


class Actor(Protocol):
    """Who did it: a user (recorded by email) or a label such as "warroom" or "rule: db alerts"."""

    @property
    def email(self) -> str: ...


# An observer gets the write session, the owner (the Incident) and the new event, in the event's own
# transaction: what it stages commits with the event or not at all (a transactional outbox).
Observer = Callable[[AsyncSession, Any, TimelineEvent], Awaitable[None]]


def observers_of(session: AsyncSession) -> tuple[Observer, ...]:
    """The observers registered at the composition root, which every write session carries."""
    if not isinstance(session, WriteSession):
        raise TypeError("timeline events are recorded in a write session (SessionFactories.write)")
    return session.hooks.timeline_observers


async def record(
    session: AsyncSession, incident: ChainHead, actor: Actor | str, kind: EventKind, at: datetime, **data: Any
) -> TimelineEvent:
    """Append one event to `incident`'s timeline, then let every observer react to it."""
    label = actor if isinstance(actor, str) else actor.email
    event = await append_event(session=session, incident=incident, at=at, actor=label, kind=kind, data=data)
    for observe in observers_of(session):
        await observe(session, incident, event)
    return event


async def append_event(
    *, session: AsyncSession, incident: ChainHead, at: datetime, actor: str, kind: str, data: dict[str, Any]
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


async def verify_chain(*, session: AsyncSession, owner: ChainHead) -> tuple[int, BrokenLink | None]:
    """(events checked, the first broken link or None) for one owner's timeline."""
    events = await list_events(session=session, incident_id=owner.id)
    broken = first_broken_link(_entry(e) for e in events)
    if broken is None and (owner.timeline_seq != len(events) or _head(events) != owner.timeline_head):
        broken = BrokenLink(owner.id, len(events), "chain ends before the recorded head (events removed)")
    return len(events), broken


def _head(events: list[TimelineEvent]) -> str:
    return events[-1].hash if events else GENESIS_HASH


async def verify_chains(*, session: AsyncSession, owners: Sequence[ChainHead]) -> AuditReport:
    total = 0
    broken: list[BrokenLink] = []
    for owner in owners:
        count, link = await verify_chain(session=session, owner=owner)
        total += count
        if link is not None:
            broken.append(link)
    return AuditReport(incidents_checked=len(owners), events_checked=total, broken=broken)

"""Incident use cases. Every change writes its timeline event in the same transaction; callers commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.catalog.service import services_by_slug
from warroom.errors import NotFound
from warroom.incidents import access, domain, playbooks
from warroom.incidents.models import Incident, IncidentService, RoleAssignment
from warroom.incidents.schemas import IncidentCreate, IncidentPatch
from warroom.incidents.visibility import Viewer, visible_to
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.domain import GENESIS_HASH
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record


class PublishedCheck(Protocol):
    """Whether an incident's review is published (reviews.service.is_published, handed down by callers)."""

    async def __call__(self, *, session: AsyncSession, incident_id: int) -> bool: ...


def refresh_update_due(loaded: LoadedProcedure, incident: Incident) -> None:
    """Keep `next_update_due_at` right after anything that moves it: declaration, severity, status, update."""
    due = domain.next_update_due(
        loaded.procedure, severity=incident.severity, status=incident.status,
        declared_at=incident.declared_at, last_update_at=incident.last_update_at,
    )  # fmt: skip
    if due != incident.next_update_due_at:
        incident.next_update_due_at, incident.update_reminded_at = due, None


async def declare_incident(
    *, session: AsyncSession, loaded: LoadedProcedure, actor: User | str, data: IncidentCreate, now: datetime
) -> Incident:
    """Declare an incident; `actor` is a user, or a label like "rule: db alerts" when warroom declares it."""
    procedure = loaded.procedure
    domain.check_severity(procedure, data.severity)
    incident_type = domain.check_type(procedure, data.type or procedure.type_ids()[0])
    domain.check_milestone_order(
        impact_started_at=data.impact_started_at, detected_at=data.detected_at, declared_at=now
    )
    services = await services_by_slug(session=session, slugs=data.services, field="services")
    initial = procedure.phase(procedure.initial_phase)
    restricted = procedure.incident_type(incident_type).restricted or bool(data.restricted)
    incident = Incident(
        title=data.title,
        summary=data.summary,
        customer_impact=data.customer_impact,
        severity=data.severity,
        type=incident_type,
        phase=initial.id,
        status=initial.status,
        procedure_hash=loaded.version_hash,
        declared_by_id=actor.id if isinstance(actor, User) else None,
        declared_at=now,
        detected_at=data.detected_at or now,
        impact_started_at=data.impact_started_at,
        drill=data.drill,
        restricted=restricted,
        updated_at=now,
        timeline_seq=0,
        timeline_head=GENESIS_HASH,
    )
    refresh_update_due(loaded, incident)
    session.add(incident)
    await session.flush()
    session.add_all(IncidentService(incident_id=incident.id, service_id=s.id) for s in services)
    await _record_declaration(session, loaded, incident, actor, [s.slug for s in services])
    return incident


async def _record_declaration(
    session: AsyncSession, loaded: LoadedProcedure, incident: Incident, actor: User | str, services: list[str]
) -> None:
    """The milestones known at declaration, then the declaration itself with the playbook it started."""
    tasks = playbooks.step_tasks(loaded.procedure, incident)
    if incident.impact_started_at:
        await record(session, incident, actor, EventKind.impact_started, incident.impact_started_at)
    await record(session, incident, actor, EventKind.detected, incident.detected_at or incident.declared_at)
    await record(
        session,
        incident,
        actor,
        EventKind.declared,
        incident.declared_at,
        title=incident.title,
        severity=incident.severity,
        type=incident.type,
        phase=incident.phase,
        services=services,
        procedure_version=loaded.version_hash,
        playbook=incident.playbook,
        steps=[task.title for task in tasks],
        **({"drill": True} if incident.drill else {}),
        **({"restricted": True} if incident.restricted else {}),
    )
    session.add_all(tasks)
    await session.flush()


async def get_incident(
    *, session: AsyncSession, ref: str, viewer: Viewer, for_update: bool = False
) -> Incident:
    """The incident `viewer` may see; one it may not see is reported exactly like one that does not exist."""
    incident_id = domain.parse_ref(ref)
    if incident_id is None:
        raise NotFound(f"no incident {ref!r} (use an id or a ref like INC-42)")
    query = select(Incident).where(Incident.id == incident_id, visible_to(viewer))
    if for_update:
        query = (
            query.with_for_update()
        )  # PostgreSQL row lock; SQLite writers are serialised by BEGIN IMMEDIATE
    incident = await session.scalar(query)
    if incident is None:
        raise NotFound(f"no incident {domain.incident_ref(incident_id)}")
    return incident


@dataclass(frozen=True)
class IncidentFilter:
    status: Sequence[str] = ()
    severity: Sequence[str] = ()
    service: str | None = None
    text: str | None = None
    declared_after: datetime | None = None
    declared_before: datetime | None = None


def _filtered(query: Select[Any], f: IncidentFilter) -> Select[Any]:
    if f.status:
        query = query.where(Incident.status.in_(f.status))
    if f.severity:
        query = query.where(Incident.severity.in_(f.severity))
    if f.service:
        query = query.where(
            Incident.id.in_(
                select(IncidentService.incident_id)
                .join(Service, Service.id == IncidentService.service_id)
                .where(Service.slug == f.service)
            )
        )
    if f.text:
        pattern = f"%{f.text.lower()}%"
        query = query.where(
            or_(func.lower(Incident.title).like(pattern), func.lower(Incident.summary).like(pattern))
        )
    if f.declared_after:
        query = query.where(Incident.declared_at >= f.declared_after)
    if f.declared_before:
        query = query.where(Incident.declared_at < f.declared_before)
    return query


def needs_attention(severities: Sequence[str]) -> list[ColumnElement[Any]]:
    """The order of "what needs someone first": open incidents before the rest; among them, those nobody
    has acknowledged, then the most severe (the procedure's order), then the oldest (nearest its target);
    the rest newest first."""
    active = Incident.status == "active"
    rank = case({s: i for i, s in enumerate(severities)}, value=Incident.severity, else_=len(severities))
    return [
        case((active, 0), else_=1),
        case((and_(active, Incident.acknowledged_at.is_(None)), 0), else_=1),
        case((active, rank), else_=0),
        case((active, Incident.declared_at), else_=None).asc().nulls_last(),
        Incident.declared_at.desc(),
        Incident.id.desc(),
    ]


async def list_incidents(
    *,
    session: AsyncSession,
    viewer: Viewer,
    filters: IncidentFilter,
    limit: int,
    offset: int,
    attention: Sequence[str] | None = None,
) -> tuple[list[Incident], int]:
    """Newest first; given `attention` (the procedure's severity ids, most severe first): needs_attention."""
    seen = visible_to(viewer)
    total = await session.scalar(_filtered(select(func.count(Incident.id)).where(seen), filters))
    order = (
        needs_attention(attention)
        if attention is not None
        else [Incident.declared_at.desc(), Incident.id.desc()]
    )
    query = _filtered(select(Incident).where(seen), filters).order_by(*order)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return list(rows.all()), int(total or 0)


async def update_incident(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    patch: IncidentPatch,
    now: datetime,
) -> Incident:
    procedure = loaded.procedure
    if patch.severity is not None:
        domain.check_severity_change(
            procedure, current=incident.severity, new=patch.severity, reason=patch.severity_reason
        )
    if patch.type is not None:
        domain.check_type(procedure, patch.type)
    services = None
    if patch.services is not None:
        services = await services_by_slug(session=session, slugs=patch.services, field="services")
    restricted = await access.restriction_after(
        session=session, procedure=procedure, actor=actor, incident=incident, patch=patch
    )
    await _apply_fields(session, incident, patch, actor, now)
    if restricted != incident.restricted:
        await access.set_restricted(
            session=session, incident=incident, actor=actor, restricted=restricted, now=now
        )
    if services is not None:
        await _replace_services(session, incident, services, actor, now)
    if patch.severity is not None:
        old, incident.severity = incident.severity, patch.severity
        await record(
            session,
            incident,
            actor,
            EventKind.severity_changed,
            now,
            old=old,
            new=patch.severity,
            reason=(patch.severity_reason or "").strip(),
        )
        refresh_update_due(loaded, incident)
    incident.updated_at = now
    await session.flush()
    return incident


async def _apply_fields(
    session: AsyncSession, incident: Incident, patch: IncidentPatch, actor: User, now: datetime
) -> None:
    changes = {
        name: value
        for name in ("title", "summary", "customer_impact", "type")
        if (value := getattr(patch, name)) is not None and value != getattr(incident, name)
    }
    for name, value in changes.items():
        setattr(incident, name, value)
    if changes:
        await record(session, incident, actor, EventKind.updated, now, changes=changes)


async def service_slugs(*, session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(IncidentService.incident_id, Service.slug)
        .join(Service, Service.id == IncidentService.service_id)
        .where(IncidentService.incident_id.in_(incident_ids))
        .order_by(Service.slug)
    )
    found: dict[int, list[str]] = {i: [] for i in incident_ids}
    for incident_id, slug in rows.all():
        found[incident_id].append(slug)
    return found


async def _replace_services(
    session: AsyncSession, incident: Incident, services: list[Service], actor: User, now: datetime
) -> None:
    before = (await service_slugs(session=session, incident_ids=[incident.id]))[incident.id]
    after = sorted(s.slug for s in services)
    if before == after:
        return
    await session.execute(delete(IncidentService).where(IncidentService.incident_id == incident.id))
    session.add_all(IncidentService(incident_id=incident.id, service_id=s.id) for s in services)
    await record(session, incident, actor, EventKind.services_changed, now, old=before, new=after)


async def held_roles(*, session: AsyncSession, incident_id: int) -> list[RoleAssignment]:
    query = select(RoleAssignment).where(
        RoleAssignment.incident_id == incident_id, RoleAssignment.unassigned_at.is_(None)
    )
    return list((await session.scalars(query.order_by(RoleAssignment.id))).all())


async def waived_roles_of(*, session: AsyncSession, incident_ids: Sequence[int]) -> dict[int, list[str]]:
    """Required roles the commander waived on each incident (the timeline is their only record)."""
    query = select(TimelineEvent.incident_id, TimelineEvent.data).where(
        TimelineEvent.incident_id.in_(incident_ids), TimelineEvent.kind == EventKind.roles_waived
    )
    found: dict[int, list[str]] = {i: [] for i in incident_ids}
    for incident_id, data in (await session.execute(query.order_by(TimelineEvent.seq))).all():
        found[incident_id] += [r for r in data.get("roles", []) if r not in found[incident_id]]
    return found


async def waived_roles(*, session: AsyncSession, incident_id: int) -> list[str]:
    return (await waived_roles_of(session=session, incident_ids=[incident_id]))[incident_id]


async def move_phase(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    target: str,
    reason: str,
    now: datetime,
    review_published: PublishedCheck,
) -> Incident:
    """Move to `target` if the procedure allows it from here; a review is drafted on resolving (an
    observer of the `resolved` milestone). Reviews sit above incidents, so their guard is passed in."""
    holders = {a.role for a in await held_roles(session=session, incident_id=incident.id)}
    move = domain.check_phase_move(
        loaded.procedure,
        current=incident.phase,
        target=target,
        severity=incident.severity,
        held_roles=holders,
        review_published=await review_published(session=session, incident_id=incident.id),
        waived_roles=await waived_roles(session=session, incident_id=incident.id),
    )
    unticked = await playbooks.check_move(session, loaded.procedure, incident, target=target, reason=reason)
    old = incident.phase
    incident.phase, incident.status, incident.updated_at = move.target.id, move.target.status, now
    refresh_update_due(loaded, incident)
    if move.reopens:
        incident.resolved_at = incident.closed_at = None
        await record(session, incident, actor, EventKind.reopened, now, phase=old, reason=reason)
    await record(
        session,
        incident,
        actor,
        EventKind.phase_changed,
        now,
        old=old,
        new=move.target.id,
        reason=reason,
        **({"unticked": unticked} if unticked else {}),
    )
    for milestone in move.milestones:
        if getattr(incident, f"{milestone}_at") is None:
            setattr(incident, f"{milestone}_at", now)
            await record(session, incident, actor, EventKind(milestone), now)
    await session.flush()
    return incident


async def acknowledge(
    *, session: AsyncSession, actor: User | str, incident: Incident, now: datetime, via: str = ""
) -> bool:
    """First acknowledgement stops the response-target clock; later ones change nothing. `via` says how,
    when not directly ("alert #12": acknowledging the alert that opened it owns the incident too)."""
    if incident.acknowledged_at is not None:
        return False
    incident.acknowledged_at = incident.updated_at = now
    await record(session, incident, actor, EventKind.acknowledged, now, **({"via": via} if via else {}))
    await session.flush()
    return True

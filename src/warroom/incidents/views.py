"""Build response shapes from rows, loading related rows for a whole page at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.incidents import domain
from warroom.incidents.collaboration import list_links
from warroom.incidents.models import (
    Incident,
    IncidentLink,
    IncidentParticipant,
    RoleAssignment,
    StatusUpdate,
    Task,
)
from warroom.incidents.schemas import (
    IncidentOut,
    LinkOut,
    ParticipantOut,
    RoleHolding,
    TargetClock,
    TaskOut,
    UpdateOut,
    UserRef,
)
from warroom.incidents.service import service_slugs, waived_roles_of
from warroom.procedure.domain import clock_state, target_status
from warroom.procedure.loader import LoadedProcedure


def user_ref(user: User | None) -> UserRef | None:
    return UserRef(id=user.id, email=user.email, name=user.name) if user else None


async def users_by_id(session: AsyncSession, ids: Sequence[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(wanted)))).all()}


def holding_out(holding: RoleAssignment, user: User) -> RoleHolding:
    return RoleHolding(
        role=holding.role,
        user=UserRef(id=user.id, email=user.email, name=user.name),
        assigned_at=holding.assigned_at,
        unassigned_at=holding.unassigned_at,
    )


ClockShown = Literal["ok", "warn", "urgent", "overdue", "met", "missed"]


def target_clock(loaded: LoadedProcedure, incident: Incident, now: datetime) -> TargetClock:
    status = target_status(
        loaded.procedure, incident.severity, incident.declared_at, incident.acknowledged_at, now
    )
    if status.acknowledged_at is not None:
        state: ClockShown = "met" if status.met else "missed"
    else:
        state = clock_state(incident.declared_at, status.deadline, now)
    return TargetClock(
        target=loaded.procedure.severity(incident.severity).response_target,
        started_at=incident.declared_at,
        deadline=status.deadline,
        acknowledged_at=status.acknowledged_at,
        met=status.met,
        overdue=status.overdue,
        remaining_seconds=status.remaining_seconds,
        state=state,
    )


async def incidents_out(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    incidents: Sequence[Incident],
    now: datetime,
    show_roles: bool,
) -> list[IncidentOut]:
    ids = [i.id for i in incidents]
    slugs = await service_slugs(session=session, incident_ids=ids)
    waived = await waived_roles_of(session=session, incident_ids=ids)
    holdings = (
        await session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.incident_id.in_(ids), RoleAssignment.unassigned_at.is_(None))
            .order_by(RoleAssignment.id)
        )
    ).all()
    users = await users_by_id(session, [h.user_id for h in holdings] + [i.declared_by_id for i in incidents])
    by_incident: dict[int, list[RoleAssignment]] = {}
    for holding in holdings:
        by_incident.setdefault(holding.incident_id, []).append(holding)
    shown = [
        _incident_out(loaded, i, by_incident.get(i.id, []), now, show_roles, users, slugs, waived[i.id])
        for i in incidents
    ]
    if show_roles:  # links, like roles, are for responders and viewers, not stakeholders
        await _add_links(session, shown)
    return shown


async def _add_links(session: AsyncSession, shown: list[IncidentOut]) -> None:
    links = await list_links(session=session, incident_ids=[i.id for i in shown])
    by_incident: dict[int, list[LinkOut]] = {i.id: [] for i in shown}
    for link, out in zip(links, await links_out(session, links), strict=True):
        by_incident[link.incident_id].append(out)
    for incident in shown:
        incident.links = by_incident[incident.id]


def _incident_out(
    loaded: LoadedProcedure,
    incident: Incident,
    current: list[RoleAssignment],
    now: datetime,
    roles: bool,
    users: dict[int, User],
    slugs: dict[int, list[str]],
    waived: list[str],
) -> IncidentOut:
    held = {h.role for h in current}
    missing = domain.missing_roles(
        loaded.procedure, severity=incident.severity, held_roles=held, waived_roles=waived
    )
    return IncidentOut(
        id=incident.id,
        ref=domain.incident_ref(incident.id),
        title=incident.title,
        severity=incident.severity,
        type=incident.type,
        phase=incident.phase,
        status=incident.status,
        summary=incident.summary,
        customer_impact=incident.customer_impact,
        services=slugs[incident.id],
        procedure_version=incident.procedure_hash,
        declared_at=incident.declared_at,
        declared_by=user_ref(users.get(incident.declared_by_id or 0)),
        detected_at=incident.detected_at,
        impact_started_at=incident.impact_started_at,
        acknowledged_at=incident.acknowledged_at,
        contained_at=incident.contained_at,
        mitigated_at=incident.mitigated_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        compromised_at=incident.compromised_at,
        eradicated_at=incident.eradicated_at,
        recovered_at=incident.recovered_at,
        notified_at=incident.notified_at,
        drill=incident.drill,
        restricted=incident.restricted,
        next_update_due_at=incident.next_update_due_at,
        update_overdue=incident.next_update_due_at is not None and incident.next_update_due_at <= now,
        updated_at=incident.updated_at,
        roles=[holding_out(h, users[h.user_id]) for h in current] if roles else None,
        missing_roles=missing,
        response_target=target_clock(loaded, incident, now),
    )


async def tasks_out(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskOut]:
    users = await users_by_id(
        session, [i for t in tasks for i in (t.assignee_id, t.done_by_id, t.waived_by_id) if i is not None]
    )
    return [
        TaskOut(
            id=t.id,
            title=t.title,
            assignee=user_ref(users.get(t.assignee_id or 0)),
            due_at=t.due_at,
            done=t.done,
            done_at=t.done_at,
            created_at=t.created_at,
            step_id=t.step_id,
            phase=t.phase,
            role=t.role,
            mandatory=t.mandatory,
            gate=t.gate,
            action=t.action,
            evidence_prompt=t.evidence_prompt,
            links=t.links or [],
            started_at=t.started_at,
            done_by=user_ref(users.get(t.done_by_id or 0)),
            done_note=t.done_note,
            waived_at=t.waived_at,
            waived_by=user_ref(users.get(t.waived_by_id or 0)),
            waived_reason=t.waived_reason,
        )
        for t in tasks
    ]


async def updates_out(session: AsyncSession, updates: Sequence[StatusUpdate]) -> list[UpdateOut]:
    users = await users_by_id(session, [u.author_id for u in updates])
    return [
        UpdateOut(
            id=u.id,
            audience=u.audience,
            body=u.body,
            author=user_ref(users.get(u.author_id or 0)),
            posted_at=u.posted_at,
        )
        for u in updates
    ]


async def links_out(session: AsyncSession, links: Sequence[IncidentLink]) -> list[LinkOut]:
    users = await users_by_id(session, [link.added_by_id for link in links])
    return [
        LinkOut(
            id=link.id,
            title=link.title,
            url=link.url,
            added_by=user_ref(users.get(link.added_by_id or 0)),
            added_at=link.added_at,
        )
        for link in links
    ]


async def participants_out(
    session: AsyncSession, participants: Sequence[IncidentParticipant]
) -> list[ParticipantOut]:
    users = await users_by_id(
        session, [p.user_id for p in participants] + [p.added_by_id for p in participants]
    )
    return [
        ParticipantOut(
            user=UserRef(id=users[p.user_id].id, email=users[p.user_id].email, name=users[p.user_id].name),
            added_by=user_ref(users.get(p.added_by_id or 0)),
            added_at=p.added_at,
        )
        for p in participants
    ]

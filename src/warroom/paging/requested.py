"""A responder pages someone into an incident, or escalates to its commander, by hand.

Each request becomes one escalation row keyed by (incident, "req:<request key>:<target>"), so a retried
request (same key) pages once, while a new request for the same person pages again. The row and its first
step job commit with the request, so the page is as durable as the declaration's (paging.declared).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, User
from warroom.catalog.models import Service
from warroom.errors import invalid
from warroom.incidents.models import Incident, IncidentParticipant, RoleAssignment
from warroom.incidents.visibility import COMMANDER_ROLE
from warroom.oncall.models import EscalationPolicy, Schedule
from warroom.paging.declared import Planned, _start
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

KINDS = ("user", "schedule", "team", "service")


def _request_key(incident: Incident, actor: User, key: str) -> str:
    return hashlib.sha256(f"{incident.id}:{actor.id}:{key}".encode()).hexdigest()[:16]


async def commander_of(session: AsyncSession, incident: Incident) -> User | None:
    query = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.incident_id == incident.id,
            RoleAssignment.role == COMMANDER_ROLE,
            RoleAssignment.unassigned_at.is_(None),
        )
    )
    return (await session.scalars(query.order_by(RoleAssignment.id.desc()))).first()


async def _resolve(session: AsyncSession, kind: str, ref: str) -> Planned:
    """The walk one named target asks for; a clear 422 when nothing by that name exists."""
    if kind == "service":
        row = (
            await session.execute(
                select(EscalationPolicy.id, EscalationPolicy.slug)
                .join(Service, Service.escalation_policy_id == EscalationPolicy.id)
                .where(Service.slug == ref)
            )
        ).first()
        if row is None:
            raise invalid("target", f"no service {ref!r} with an escalation policy")
        return Planned(f"policy:{row[1]}", "", policy_id=row[0])
    model: Any = {"schedule": Schedule, "team": Team, "user": User}[kind]
    column = model.email if kind == "user" else model.slug
    found = await session.scalar(select(model.id).where(column == ref))
    if found is None:
        raise invalid("target", f"no {kind} {ref!r}")
    return Planned(f"{kind}:{ref}", "", targets=[{"type": kind, "id": found}])


async def _join(session: AsyncSession, incident: Incident, actor: User, ref: str, now: datetime) -> None:
    """Paging a user into a restricted incident makes them a participant, so the page they get opens."""
    user = await session.scalar(select(User).where(User.email == ref))
    if user is None or not incident.restricted:
        return
    taken = select(IncidentParticipant.id).where(
        IncidentParticipant.incident_id == incident.id, IncidentParticipant.user_id == user.id
    )
    if await session.scalar(taken) is None:
        session.add(IncidentParticipant(incident_id=incident.id, user_id=user.id, added_by_id=actor.id,
                                        added_at=now))  # fmt: skip
        await record(session, incident, actor, EventKind.participant_added, now, user=user.email)


async def page_into(
    *, session: AsyncSession, incident: Incident, actor: User, kind: str, ref: str, reason: str,
    key: str, now: datetime,
) -> str:  # fmt: skip
    """Page `kind:ref` into the incident with the reason; returns the escalation's target label."""
    if incident.status != "active":
        raise invalid("incident", "only an active incident pages anyone")
    if kind not in KINDS:
        raise invalid("kind", f"kind must be one of {', '.join(KINDS)}")
    reason = " ".join(reason.split())[:250]
    if not reason:
        raise invalid("reason", "say why you are paging")
    planned = await _resolve(session, kind, ref.strip())
    label = planned.target
    planned.target = f"req:{_request_key(incident, actor, key)}:{label}"[:200]
    planned.reason = f"{actor.email} asked: {reason}"
    if kind == "user":
        await _join(session, incident, actor, ref.strip(), now)
    await record(session, incident, actor, EventKind.page_requested, now, target=label, reason=reason)
    await _start(session, incident, [planned], now)
    return label


async def escalate_to_commander(
    *, session: AsyncSession, incident: Incident, actor: User, reason: str, key: str, now: datetime
) -> str:
    commander = await commander_of(session, incident)
    if commander is None:
        raise invalid("incident", "this incident has no commander to escalate to")
    return await page_into(session=session, incident=incident, actor=actor, kind="user",
                           ref=commander.email, reason=reason, key=key, now=now)  # fmt: skip

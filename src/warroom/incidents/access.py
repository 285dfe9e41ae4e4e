"""Who may change who sees a restricted incident, the participants it was opened to, and the access log of
who read it. Each change lands on the timeline; callers commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import Role
from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.db import SessionFactories
from warroom.errors import Conflict, NotFound, PermissionDenied, invalid
from warroom.incidents.models import Incident, IncidentParticipant, RoleAssignment
from warroom.incidents.visibility import COMMANDER_ROLE
from warroom.procedure.schemas import Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record

if TYPE_CHECKING:
    from warroom.incidents.schemas import IncidentOut, IncidentPatch

# A read of a restricted incident is logged at most once per reader per window, so a page left open (or
# polled) does not flood the timeline.
READ_LOG_WINDOW = timedelta(minutes=15)


async def manages_access(*, session: AsyncSession, actor: User, incident: Incident) -> bool:
    """Admins and the incident's current commander may restrict it, lift it, and add participants."""
    if actor.role == Role.admin:
        return True
    query = select(RoleAssignment.id).where(
        RoleAssignment.incident_id == incident.id,
        RoleAssignment.user_id == actor.id,
        RoleAssignment.role == COMMANDER_ROLE,
        RoleAssignment.unassigned_at.is_(None),
    )
    return await session.scalar(query.limit(1)) is not None


async def restriction_after(
    *, session: AsyncSession, procedure: Procedure, actor: User, incident: Incident, patch: IncidentPatch
) -> bool:
    """Whether the incident is restricted once `patch` applies; refuses what the actor may not change."""
    new_type = patch.type if patch.type is not None else incident.type
    type_restricted = new_type in procedure.type_ids() and procedure.incident_type(new_type).restricted
    if patch.restricted is None or patch.restricted == incident.restricted:
        return incident.restricted or type_restricted
    if not await manages_access(session=session, actor=actor, incident=incident):
        raise PermissionDenied("only the incident commander or an admin may change who sees this incident")
    if type_restricted and not patch.restricted:
        raise invalid("restricted", f"incidents of type {new_type!r} are always restricted (the procedure)")
    return patch.restricted


async def set_restricted(
    *, session: AsyncSession, incident: Incident, actor: User, restricted: bool, now: datetime
) -> None:
    incident.restricted = restricted
    await record(session, incident, actor, EventKind.restriction_changed, now, restricted=restricted)


async def add_participant(
    *, session: AsyncSession, actor: User, incident: Incident, user_ref: str, now: datetime
) -> IncidentParticipant:
    if not await manages_access(session=session, actor=actor, incident=incident):
        raise PermissionDenied("only the incident commander or an admin may add participants")
    try:
        user = await resolve_user(session=session, ref=user_ref)
    except NotFound as error:
        raise invalid("user", error.detail) from None
    taken = select(IncidentParticipant.id).where(
        IncidentParticipant.incident_id == incident.id, IncidentParticipant.user_id == user.id
    )
    if await session.scalar(taken) is not None:
        raise Conflict(f"{user.email} is already a participant")
    added = IncidentParticipant(incident_id=incident.id, user_id=user.id, added_by_id=actor.id, added_at=now)
    session.add(added)
    await record(session, incident, actor, EventKind.participant_added, now, user=user.email)
    await session.flush()
    return added


async def list_participants(*, session: AsyncSession, incident_id: int) -> list[IncidentParticipant]:
    query = select(IncidentParticipant).where(IncidentParticipant.incident_id == incident_id)
    return list((await session.scalars(query.order_by(IncidentParticipant.id))).all())


async def note_read(
    *, session: AsyncSession, incident: Incident, reader: User, via: str, now: datetime
) -> bool:
    """Log that `reader` opened a restricted incident, unless they were logged within the window.
    The caller holds the incident row for update (the timeline chain) and commits."""
    if not incident.restricted:
        return False
    recent = exists().where(
        TimelineEvent.incident_id == incident.id,
        TimelineEvent.kind == EventKind.accessed,
        TimelineEvent.actor == reader.email,
        TimelineEvent.at > now - READ_LOG_WINDOW,
    )
    if await session.scalar(select(recent)):
        return False
    await record(session, incident, reader, EventKind.accessed, now, user=reader.email, via=via)
    return True


async def log_read(
    *, db: SessionFactories, incident: Incident | IncidentOut, reader: User, via: str, now: datetime
) -> None:
    """After a read of a restricted incident: the access log entry, in its own short write transaction
    (reads run in read sessions). Unrestricted incidents cost nothing here."""
    if not incident.restricted:
        return
    async with db.write_turn, db.write() as session:
        locked = await session.scalar(select(Incident).where(Incident.id == incident.id).with_for_update())
        if locked is not None and await note_read(
            session=session, incident=locked, reader=reader, via=via, now=now
        ):
            await session.commit()

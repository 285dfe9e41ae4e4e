"""Ending a drill (issue #17): one action that stops every page it started, resolves its alerts and closes
the incident as a drill, keeping everything it recorded for the drill's report and review.

The phase rules (required roles, a published review) are for real incidents; a drill ends when its
commander says so, whatever it reached, and the timeline says where that was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert, AlertEvent
from warroom.auth.models import User
from warroom.errors import Conflict, PermissionDenied
from warroom.incidents.access import manages_access
from warroom.incidents.models import Incident
from warroom.paging.engine import stop_incident_paging, stop_paging
from warroom.procedure.schemas import Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record


async def end_drill(
    *, session: AsyncSession, procedure: Procedure, actor: User, incident: Incident, now: datetime
) -> int:
    """Stop paging, resolve its open alerts, close it; returns how many alerts were resolved. 409 for an
    incident that is not a drill or is closed already; 403 unless the actor declared it, commands it or is
    an admin."""
    if not incident.drill:
        raise Conflict(f"INC-{incident.id} is not a drill: end a real incident by resolving it")
    if incident.status == "closed":
        raise Conflict(f"INC-{incident.id}'s drill has ended already")
    runs_it = incident.declared_by_id == actor.id  # whoever started the drill (its facilitator)
    if not runs_it and not await manages_access(session=session, actor=actor, incident=incident):
        raise PermissionDenied(
            "only whoever declared the drill, its incident commander or an admin may end it"
        )
    await stop_incident_paging(
        session=session, incident_id=incident.id, state="resolved", actor=actor.email, now=now
    )
    resolved = await _resolve_alerts(session, incident.id, actor.email, now)
    closed = next(p for p in procedure.phases if p.status == "closed")
    old = incident.phase
    incident.phase, incident.status, incident.updated_at = closed.id, "closed", now
    incident.next_update_due_at = None
    await record(session, incident, actor, EventKind.drill_ended, now, phase=old, alerts_resolved=resolved)
    for milestone in ("resolved", "closed"):
        if getattr(incident, f"{milestone}_at") is None:
            setattr(incident, f"{milestone}_at", now)
            await record(session, incident, actor, EventKind(milestone), now)
    await session.flush()
    return resolved


async def _resolve_alerts(session: AsyncSession, incident_id: int, actor: str, now: datetime) -> int:
    found = select(Alert.id).where(Alert.incident_id == incident_id, Alert.status != "resolved")
    ids = list((await session.scalars(found.with_for_update())).all())
    if not ids:
        return 0
    await session.execute(
        update(Alert).where(Alert.id.in_(ids)).values(status="resolved", resolved_at=now, resolved_by=actor)
    )
    session.add_all(
        AlertEvent(
            alert_id=i, request_id=None, at=now, action="resolved", actor=actor, data={"drill_ended": True}
        )
        for i in ids
    )
    await stop_paging(session=session, alert_ids=ids, state="resolved", actor=actor, now=now)
    return len(ids)

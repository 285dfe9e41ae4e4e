"""Watching for recurrence (the procedure's `recurrence_watch`): for a while after an incident recovers, a new
alert on one of its services links to it and pages its commander, instead of an unrelated incident being
opened in silence. The alert still pages its service's on-call as usual: a recurrence is never quieter
than a first occurrence; what changes is that a rule that would declare a new incident does not, and the
commander who knows the story decides (reopen, or declare anew).

The link is an alert event (`recurrence`) and a line on the recovered incident's timeline; the commander is
paged once per incident (an escalation keyed by the incident and "recurrence:user:<email>"). Drills are
never watched: a drill's recovery says nothing about production."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import AlertEvent
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident, IncidentService
from warroom.paging.declared import Planned, _start
from warroom.paging.requested import commander_of
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

ACTOR = "warroom: recurrence watch"


# Built once (triage reads it once per service, while the configuration is unchanged: jobs.config_cache,
# migration 0039): building it per call cost more CPU than running it.
_LAST_RECOVERY = (
    select(Incident.id, Incident.resolved_at)
    .join(IncidentService, IncidentService.incident_id == Incident.id)
    .where(
        IncidentService.service_id == bindparam("b_service"),
        Incident.status != "active",
        Incident.drill.is_(False),
        Incident.resolved_at.is_not(None),
    )
    .order_by(Incident.resolved_at.desc(), Incident.id.desc())
    .limit(1)
)


class Recovery(NamedTuple):
    """The incident that recovered last on a service, and when."""

    incident_id: int
    resolved_at: datetime


async def last_recovery(session: AsyncSession, service_id: int) -> Recovery | None:
    """The incident on this service that recovered most recently (not a drill), whenever that was: it
    depends on nothing but incidents' status, resolution and services, so it can be cached with the
    configuration; whether it is recent enough is the caller's to judge."""
    found = (await session.execute(_LAST_RECOVERY, {"b_service": service_id})).first()
    if found is None or found[1] is None:  # (not None: the query asks for a resolution)
        return None
    return Recovery(found[0], found[1])


def recurs(recovery: Recovery | None, first_seen_at: datetime, watch: timedelta) -> bool:
    """Whether an alert first seen at `first_seen_at` came within `watch` after the recovery."""
    return recovery is not None and first_seen_at - watch < recovery.resolved_at <= first_seen_at


class Seen(Protocol):
    """What the watch reads of a new alert (an Alert row, or what triage read of one)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def first_seen_at(self) -> datetime: ...


async def link_recurrence(
    session: AsyncSession, alert: Seen, recovered: Recovery, service: str, now: datetime
) -> None:
    """Link the alert to the incident it may be a recurrence of, and page that incident's commander."""
    locked = await session.get(Incident, recovered.incident_id, with_for_update=True)
    if locked is None:  # deleted since the recovery was read (that changed the token: the next group knows)
        return
    resolved_at = locked.resolved_at or now
    since = int((alert.first_seen_at - resolved_at).total_seconds() // 60)
    commander = await commander_of(session, locked)
    ref = incident_ref(locked.id)
    session.add(AlertEvent(alert_id=alert.id, request_id=None, at=now, action="recurrence", actor=ACTOR,
                           data={"incident": ref, "minutes_after_recovery": since}))  # fmt: skip
    await record(
        session, locked, ACTOR, EventKind.recurrence, now, alert_id=alert.id, title=alert.title,
        service=service, minutes_after_recovery=since, paged=commander.email if commander else None,
    )  # fmt: skip
    if commander is not None:
        why = f"alert #{alert.id} on {service}, {since} min after {ref} recovered: a recurrence?"
        target = f"recurrence:user:{commander.email}"[:200]
        await _start(
            session, locked, [Planned(target, why, targets=[{"type": "user", "id": commander.id}])], now
        )

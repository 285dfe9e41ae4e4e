"""Milestones recorded by hand: the security ones (first malicious activity, eradicated, recovered,
notified) and containment if no phase has recorded it yet. Callers commit.

Phases record milestones when entered (service.move_phase). What no phase can know, such as when the attacker
first got in, a responder records with the time it happened. That estimate may be revised (the newest
stands, and metrics read it so); every other milestone keeps its first time, as metrics do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, invalid
from warroom.incidents.models import Incident
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

ByHand = Literal["compromised", "contained", "eradicated", "recovered", "notified"]
REVISABLE = frozenset({"compromised"})
# Each of these cannot come before the incident was detected.
AFTER_DETECTION = frozenset({"contained", "eradicated", "recovered", "notified"})


def check_milestone(incident: Incident, milestone: str, at: datetime, now: datetime) -> None:
    """Raise InvalidInput (422) for an impossible time, Conflict (409) for a milestone already recorded."""
    if at > now:
        raise invalid("at", "is in the future")
    if milestone not in REVISABLE and getattr(incident, f"{milestone}_at") is not None:
        raise Conflict(f"{milestone} is already recorded for INC-{incident.id}; it keeps its first time")
    detected = incident.detected_at or incident.declared_at  # declaring records detection at the latest
    if milestone == "compromised" and at > detected:
        raise invalid("at", "the first malicious activity comes before detection")
    if milestone in AFTER_DETECTION and at < detected:
        raise invalid("at", f"{milestone} cannot come before detection")


async def record_milestone(
    *,
    session: AsyncSession,
    incident: Incident,
    actor: User,
    milestone: ByHand,
    at: datetime,
    note: str,
    now: datetime,
) -> None:
    check_milestone(incident, milestone, at, now)
    setattr(incident, f"{milestone}_at", at)
    incident.updated_at = now
    data = {"by_hand": True, "note": note} if note else {"by_hand": True}
    await record(session, incident, actor, EventKind(milestone), at, **data)

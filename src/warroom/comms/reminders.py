"""The update cadence, enforced: when a stakeholder update falls due, the communications lead (else the
commander) is reminded through their contact methods, and again every cadence while it stays overdue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.comms import domain
from warroom.context import AppContext
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.service import held_roles
from warroom.incidents.visibility import shown_title
from warroom.notify.models import ContactMethod
from warroom.notify.service import queue_message
from warroom.procedure.domain import parse_duration
from warroom.procedure.schemas import Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

WHO = ("communications_lead", "incident_commander")  # the first role held is reminded
REMINDER_ACTOR = "warroom: update cadence"


def _due(now: datetime) -> Select[Any]:
    return select(Incident).where(Incident.next_update_due_at <= now, Incident.status == "active")


async def who_speaks(session: AsyncSession, incident: Incident) -> User | None:
    """Who speaks for the incident: its communications lead, else its commander."""
    holders = {h.role: h.user_id for h in await held_roles(session=session, incident_id=incident.id)}
    for role in WHO:
        if role in holders:
            return await session.get(User, holders[role])
    return None


async def tell(
    session: AsyncSession, person: User, *, key: str, subject: str, body: str, now: datetime
) -> None:
    """A message to every contact method of the person, once per `key`."""
    methods = await session.scalars(select(ContactMethod).where(ContactMethod.user_id == person.id))
    for method in methods.all():
        await queue_message(
            session=session, method=method, key=f"{key}:{method.id}", subject=subject, body=body, now=now
        )


async def _remind(session: AsyncSession, context: AppContext, incident: Incident, now: datetime) -> None:
    ref = incident_ref(incident.id)
    due = incident.next_update_due_at
    person = await who_speaks(session, incident)
    if person is not None:
        link = f"{context.settings.resolved_base_url()}/incidents/{ref}"
        title = shown_title(incident)  # contact methods (email, SMS) are not private to the incident
        body = f"A stakeholder update on {ref} ({title}) was due at {domain.when(due)}. Post: {link}"
        await tell(
            session, person, key=f"update-due:{incident.id}:{now.isoformat()}",
            subject=f"Stakeholder update due: {ref} {title}", body=body, now=now,
        )  # fmt: skip
    await record(
        session, incident, REMINDER_ACTOR, EventKind.update_reminder, now,
        due_at=due.isoformat() if due else None, reminded=person.email if person else None,
    )  # fmt: skip
    incident.update_reminded_at = now


def _needs_reminder(procedure: Procedure, incident: Incident, now: datetime) -> bool:
    cadence = (
        procedure.severity(incident.severity).update_cadence
        if incident.severity in procedure.severity_ids()
        else None
    )
    return domain.reminder_due(
        due=incident.next_update_due_at, reminded=incident.update_reminded_at, now=now,
        cadence=parse_duration(cadence) if cadence else None,
    )  # fmt: skip


async def remind_due_updates(context: AppContext) -> None:
    """Periodic (on the worker loop): a cheap indexed read first, so a quiet minute costs no write turn."""
    now, procedure = context.clock.now(), context.procedure.procedure
    async with context.db.read() as session:
        due = [i for i in (await session.scalars(_due(now))).all() if _needs_reminder(procedure, i, now)]
    if not due:
        return
    async with context.db.write_turn, context.db.write() as session:
        locked = _due(now).where(Incident.id.in_([i.id for i in due])).with_for_update(skip_locked=True)
        for incident in (await session.scalars(locked.order_by(Incident.id))).all():
            if _needs_reminder(procedure, incident, now):  # another worker may have reminded meanwhile
                await _remind(session, context, incident, now)
        await session.commit()

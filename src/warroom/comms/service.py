"""Stakeholder updates: the lists, rendering an update for each audience, and sending it through notify.

Sending is `notify.queue_to_address` per recipient: a durable `notify.send` job on the channel's own queue,
staged in the same transaction as the update itself, so a posted update is always on its way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.comms import domain
from warroom.comms.domain import Rendered
from warroom.comms.models import StakeholderRecipient
from warroom.errors import Conflict, NotFound, invalid
from warroom.incidents.domain import incident_ref, next_update_due
from warroom.incidents.models import Incident, StatusUpdate
from warroom.incidents.schemas import UpdateCreate
from warroom.incidents.service import held_roles, refresh_update_due, service_slugs
from warroom.incidents.visibility import shown_title
from warroom.notify.service import queue_to_address
from warroom.observables.service import check_outgoing
from warroom.procedure.loader import LoadedProcedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record


async def list_recipients(
    *, session: AsyncSession, audience: str | None = None
) -> list[StakeholderRecipient]:
    query = select(StakeholderRecipient).order_by(StakeholderRecipient.audience, StakeholderRecipient.id)
    if audience is not None:
        query = query.where(StakeholderRecipient.audience == audience)
    return list((await session.scalars(query)).all())


async def recipient_counts(*, session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(StakeholderRecipient.audience, func.count()).group_by(StakeholderRecipient.audience)
    )
    return {audience: count for audience, count in rows.all()}


async def add_recipient(
    *, session: AsyncSession, loaded: LoadedProcedure, audience: str, channel: str, address: str, label: str,
    now: datetime,
) -> StakeholderRecipient:  # fmt: skip
    known = [a.id for a in loaded.procedure.communications.audiences]
    if audience not in known:
        raise invalid("audience", f"unknown audience {audience!r}; the procedure has: {', '.join(known)}")
    address = domain.check_address(channel, address)
    for row in await list_recipients(session=session, audience=audience):
        if (row.channel, row.address) == (channel, address):
            raise Conflict(f"{address} is already on the {audience} list")
    row = StakeholderRecipient(
        audience=audience, channel=channel, address=address, label=label.strip()[:200], created_at=now
    )
    session.add(row)
    await session.flush()
    return row


async def remove_recipient(*, session: AsyncSession, recipient_id: int) -> None:
    row = await session.get(StakeholderRecipient, recipient_id)
    if row is None:
        raise NotFound(f"no stakeholder recipient {recipient_id}")
    await session.delete(row)
    await session.flush()


async def _role_names(session: AsyncSession, incident: Incident) -> dict[str, str]:
    holdings = await held_roles(session=session, incident_id=incident.id)
    found = await session.scalars(select(User).where(User.id.in_([h.user_id for h in holdings])))
    users = {u.id: u for u in found.all()}
    return {h.role: users[h.user_id].name or users[h.user_id].email for h in holdings}


async def incident_facts(
    *, session: AsyncSession, loaded: LoadedProcedure, incident: Incident, base_url: str
) -> domain.IncidentFacts:
    procedure = loaded.procedure
    roles = await _role_names(session, incident)
    ref = incident_ref(incident.id)
    return domain.IncidentFacts(
        ref=ref, title=shown_title(incident), severity=incident.severity,
        severity_name=procedure.severity(incident.severity).name, phase=incident.phase,
        phase_name=procedure.phase(incident.phase).name, status=incident.status,
        customer_impact="" if incident.restricted else incident.customer_impact,
        services=(await service_slugs(session=session, incident_ids=[incident.id])).get(incident.id, []),
        commander=roles.get("incident_commander"), communications_lead=roles.get("communications_lead"),
        declared_at=incident.declared_at, url=f"{base_url}/incidents/{ref}",
    )  # fmt: skip


async def update_number(*, session: AsyncSession, incident_id: int) -> int:
    """How many stakeholder updates the incident has had, counting one about to be posted."""
    query = select(StatusUpdate.id).where(
        StatusUpdate.incident_id == incident_id, StatusUpdate.audience == "stakeholder"
    )
    return len((await session.scalars(query)).all()) + 1


async def render_update(
    *, session: AsyncSession, loaded: LoadedProcedure, base_url: str, incident: Incident, body: str,
    author: User, audiences: list[str] | None, now: datetime, next_update_at: datetime | None,
) -> list[domain.Rendered]:  # fmt: skip
    """What each audience would receive for this update (the preview, and what `distribute` sends)."""
    comms = loaded.procedure.communications
    heard = [a.id for a in comms.audiences_for(incident.severity, drill=incident.drill)]
    facts = await incident_facts(session=session, loaded=loaded, incident=incident, base_url=base_url)
    number = await update_number(session=session, incident_id=incident.id)
    out = []
    for audience_id in domain.check_audiences(audiences, heard):
        template = comms.template_for(audience_id, incident.severity)
        if template is None:  # the procedure check refuses this; a hand-built procedure may not have run it
            raise invalid("audiences", f"the procedure has no {audience_id} template for {incident.severity}")
        values = domain.context(
            facts, number=number, body=body, author=author.name or author.email, posted_at=now,
            next_update_at=next_update_at, status_page_url=f"{base_url}/status",
            internal=comms.audience(audience_id).internal,
        )  # fmt: skip
        rendered = domain.render(audience_id, template, values)
        out.append(domain.as_drill(rendered) if incident.drill else rendered)
    return out


async def distribute(
    *, session: AsyncSession, update: StatusUpdate, rendered: list[domain.Rendered], now: datetime
) -> int:
    """Queue each audience's message to everyone on its list; returns how many messages were queued."""
    queued = 0
    for message in rendered:
        for recipient in await list_recipients(session=session, audience=message.audience):
            await queue_to_address(
                session=session, channel=recipient.channel, address=recipient.address,
                key=f"update:{update.id}:{recipient.id}", subject=message.subject, body=message.body, now=now,
            )  # fmt: skip
            queued += 1
    return queued


def next_due_after_posting(loaded: LoadedProcedure, incident: Incident, now: datetime) -> datetime | None:
    """When the next update would be due if one were posted now (for a preview, which changes nothing)."""
    return next_update_due(
        loaded.procedure, severity=incident.severity, status=incident.status,
        declared_at=incident.declared_at, last_update_at=now,
    )  # fmt: skip


async def post_update(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    data: UpdateCreate,
    now: datetime,
    base_url: str,
) -> StatusUpdate:
    """An internal note, or a stakeholder update: rendered for each audience by the procedure's templates,
    queued to everyone on their lists, and restarting the update cadence."""
    rendered: list[Rendered] = []
    if data.audience == "stakeholder":
        await check_outgoing(session, incident.id, data.body, "a stakeholder update")
        incident.last_update_at = now
        refresh_update_due(loaded, incident)
        rendered = await render_update(
            session=session, loaded=loaded, base_url=base_url, incident=incident, body=data.body,
            author=actor, audiences=data.audiences, now=now, next_update_at=incident.next_update_due_at,
        )  # fmt: skip
    elif data.audiences is not None:
        raise invalid("audiences", "only a stakeholder update goes to audiences")
    update = StatusUpdate(
        incident_id=incident.id, audience=data.audience, body=data.body, author_id=actor.id, posted_at=now
    )
    session.add(update)
    await session.flush()
    if data.audience == "stakeholder":
        queued = await distribute(session=session, update=update, rendered=rendered, now=now)
        sent_to = {"audiences": [r.audience for r in rendered], "messages": queued}
        await record(session, incident, actor, EventKind.stakeholder_update, now, update_id=update.id,
                     body=data.body, **sent_to)  # fmt: skip
    else:
        await record(session, incident, actor, EventKind.note, now, update_id=update.id, body=data.body)
    incident.updated_at = now
    return update

"""The procedure's `status_page: true`, kept: declaring (or raising) an incident to such a severity stages a
draft on the status page for the communications lead to publish, and a page left saying all is well while
the incident is open is flagged to them. Nothing public goes out without a person.

A draft is staged once per incident, only where one of its services has a status-page component, and never
for a drill (drills never reach the public) or a restricted incident (its existence is need-to-know; a
person may still link one by hand). Its public title and first message come from the procedure's first
external audience's template (the customers' update), so the words are the organisation's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.comms import domain as comms_domain
from warroom.comms.service import incident_facts
from warroom.errors import InvalidInput
from warroom.incidents.models import Incident, IncidentService
from warroom.procedure.loader import LoadedProcedure
from warroom.statuspage import domain
from warroom.statuspage.components import all_components
from warroom.statuspage.models import StatusComponent, StatusComponentService, StatusIncident
from warroom.statuspage.schemas import ComponentChange, IncidentCreate
from warroom.statuspage.service import Ctx, create_incident
from warroom.statuspage.views import PageInfo, load
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

DRAFTER = "warroom: status page"
FIRST_WORDS = "We are investigating."  # the update body the customers' template wraps


async def incident_components(session: AsyncSession, incident_id: int) -> list[StatusComponent]:
    """The status-page components that stand for the incident's affected services, in id order."""
    query = (
        select(StatusComponent)
        .join(StatusComponentService, StatusComponentService.component_id == StatusComponent.id)
        .join(IncidentService, IncidentService.service_id == StatusComponentService.service_id)
        .where(IncidentService.incident_id == incident_id, StatusComponent.is_group.is_(False))
        .distinct()
        .order_by(StatusComponent.id)
    )
    return list((await session.scalars(query)).all())


async def linked_status_incidents(session: AsyncSession, incident_id: int) -> list[StatusIncident]:
    query = select(StatusIncident).where(
        StatusIncident.incident_id == incident_id, StatusIncident.kind == "incident"
    )
    return list((await session.scalars(query.order_by(StatusIncident.id))).all())


@dataclass(frozen=True)
class Linked:
    """A status-page incident about this one, as the incident page shows it."""

    id: int
    name: str
    status: str
    impact: str
    published: bool
    message: str  # a draft's first message; a published one's latest
    components: list[str]


async def linked_views(session: AsyncSession, incident_id: int) -> list[Linked]:
    items = await linked_status_incidents(session, incident_id)
    data = await load(session, select(StatusIncident).where(StatusIncident.id.in_([i.id for i in items])))
    names = {c.id: c.name for c in await all_components(session=session)}
    return [
        Linked(
            id=i.id, name=i.name, status=i.status, impact=i.impact, published=i.published_at is not None,
            message=data.updates[i.id][0].body if data.updates[i.id] else "",
            components=[names[c] for c in data.components[i.id] if c in names],
        )
        for i in items
    ]  # fmt: skip


async def _first_words(
    session: AsyncSession, loaded: LoadedProcedure, incident: Incident, page: PageInfo, names: list[str]
) -> tuple[str, str]:
    """(public title, first message): the first external audience's template, else plain words."""
    comms = loaded.procedure.communications
    external = [a for a in comms.audiences if not a.internal]
    template = comms.template_for(external[0].id, incident.severity) if external else None
    if template is None:
        return f"Service disruption: {', '.join(names)}", f"{FIRST_WORDS} {', '.join(names)} may be affected."
    facts = await incident_facts(session=session, loaded=loaded, incident=incident, base_url=page.base_url)
    values = comms_domain.context(
        facts, number=1, body=FIRST_WORDS, author="", posted_at=incident.declared_at, next_update_at=None,
        status_page_url=page.url, internal=False,
    )  # fmt: skip
    rendered = comms_domain.render(external[0].id, template, values)
    return rendered.subject, rendered.body


def wants_draft(loaded: LoadedProcedure, incident: Incident) -> bool:
    procedure = loaded.procedure
    if incident.drill or incident.restricted or incident.severity not in procedure.severity_ids():
        return False
    return procedure.severity(incident.severity).status_page


async def stage_draft(
    *, session: AsyncSession, loaded: LoadedProcedure, incident: Incident, page: PageInfo, now: datetime
) -> StatusIncident | None:
    """The draft for this incident, if its severity asks for one and none is linked yet; on its timeline."""
    if not wants_draft(loaded, incident) or await linked_status_incidents(session, incident.id):
        return None
    components = await incident_components(session, incident.id)
    if not components:
        return None
    names = [c.name for c in components]
    impact, status = domain.draft_impact(loaded.procedure.severity_ids().index(incident.severity))
    name, body = await _first_words(session, loaded, incident, page, names)
    data = IncidentCreate(
        name=name[:300], impact=impact, body=body[:20_000], incident=str(incident.id), publish=False,
        components=[ComponentChange(id=c.id, status=status) for c in components],
    )  # fmt: skip
    ctx = Ctx(actor=DRAFTER, now=now, page=page)
    try:
        item = await create_incident(session=session, data=data, ctx=ctx)
    except InvalidInput:  # the title carries an observable kept inside (TLP): stage plain words instead
        plain = f"{FIRST_WORDS} {', '.join(names)} may be affected."
        data = data.model_copy(update={"name": f"Service disruption: {', '.join(names)}", "body": plain})
        item = await create_incident(session=session, data=data, ctx=ctx)
    await record(
        session, incident, DRAFTER, EventKind.status_page_drafted, now,
        status_incident_id=item.id, components=names, impact=impact,
    )  # fmt: skip
    return item

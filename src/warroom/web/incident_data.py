"""Everything the incident page shows, loaded with a fixed number of queries whatever the incident's size."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions.schemas import ActionRunOut
from warroom.actions.service import list_runs
from warroom.actions.views import runs_out
from warroom.alerts import service as alerts
from warroom.alerts import views as alert_views
from warroom.alerts.blast_radius import Neighbour, blast_radius
from warroom.alerts.incident_changes import recent_changes
from warroom.alerts.models import ServiceChange
from warroom.alerts.schemas import AlertOut
from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.auth.service import list_users
from warroom.comms import service as comms
from warroom.crm.domain import Impact
from warroom.crm.service import customer_impact
from warroom.evidence.api import evidence_out
from warroom.evidence.schemas import EvidenceOut
from warroom.evidence.service import list_for as list_evidence
from warroom.incidents import access, collaboration, service, views
from warroom.incidents.models import Incident
from warroom.incidents.playbook_schemas import PlaybookOut
from warroom.incidents.playbook_views import playbook_out
from warroom.incidents.schemas import IncidentOut, ParticipantOut, RoleHolding, TaskOut, UpdateOut
from warroom.incidents.visibility import SYSTEM, viewer_of
from warroom.observables.schemas import ObservableOut, SurfacesOut
from warroom.observables.service import list_for
from warroom.observables.views import observables_out, surfaces_out
from warroom.procedure.comms_schema import Audience
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.schemas import Phase, Procedure, Role
from warroom.statuspage.drafts import Linked, linked_views
from warroom.timeline.describe import EventView, describe_all
from warroom.timeline.models import TimelineEvent

ATTACHED_ALERTS_SHOWN = 100
TIMELINE_SHOWN = 300  # the newest; a long incident's page stays fast (`?timeline=all` shows every event)


@dataclass(frozen=True)
class RoleRow:
    role: Role
    holders: list[RoleHolding]
    required: bool
    waived: bool = False  # required, unheld, and waived by the commander


@dataclass
class IncidentPage:
    incident: IncidentOut
    severity_rank: int
    phase: Phase
    next_phases: list[Phase]
    roles: list[RoleRow] = field(default_factory=list)
    tasks: list[TaskOut] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    last_seq: int = 0
    older_events: int = 0  # events not shown (only the newest TIMELINE_SHOWN are, unless asked)
    alerts: list[AlertOut] = field(default_factory=list)
    alerts_total: int = 0
    updates: list[UpdateOut] = field(default_factory=list)
    people: list[User] = field(default_factory=list)
    internal: bool = False
    # The audiences a stakeholder update at this severity goes to, with how many are on each list.
    audiences: list[tuple[Audience, int]] = field(default_factory=list)
    participants: list[ParticipantOut] = field(default_factory=list)  # those let into a restricted one
    acknowledged: Acknowledged | None = None
    changes: list[tuple[ServiceChange, str]] = field(default_factory=list)  # (change, service slug)
    guide: PlaybookOut | None = None  # the current phase's owner and checklist, gates, regulatory clocks
    action_runs: list[ActionRunOut] = field(default_factory=list)
    observables: list[ObservableOut] = field(default_factory=list)
    surfaces: SurfacesOut | None = None
    evidence: list[EvidenceOut] = field(default_factory=list)
    blast: tuple[list[Neighbour], list[Neighbour]] = ([], [])  # (upstream in trouble, downstream)
    status_page: list[Linked] = field(default_factory=list)  # drafts staged by the procedure, and published
    customers: Impact | None = None  # from linked HubSpot tickets
    value_property: str = ""


@dataclass(frozen=True)
class Acknowledged:
    """Who owned the incident first, when, and how (directly, or by acknowledging one of its alerts)."""

    who: str
    at: datetime
    via: str


def severity_rank(procedure: Procedure, severity: str) -> int:
    """0 for the most severe level; drives the badge style (4 styles that differ in greyscale too)."""
    ids = procedure.severity_ids()
    return min(ids.index(severity) if severity in ids else len(ids) - 1, 3)


def role_rows(procedure: Procedure, incident: IncidentOut) -> list[RoleRow]:
    required = set(procedure.severity(incident.severity).required_roles)
    holders = incident.roles or []
    rows = [
        RoleRow(role=r, holders=[h for h in holders if h.role == r.id], required=r.id in required)
        for r in procedure.roles
    ]
    # missing_roles leaves out what is held or waived: a required role neither held nor missing is waived.
    return [
        replace(row, waived=row.required and not row.holders and row.role.id not in incident.missing_roles)
        for row in rows
    ]


async def load_incident_page(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    user: User,
    ref: str,
    now: datetime,
    everything: bool = False,
    changes_window: timedelta = timedelta(hours=4),
    value_property: str = "annualrevenue",
) -> IncidentPage:
    incident = await service.get_incident(session=session, ref=ref, viewer=viewer_of(user, loaded.procedure))
    internal = allows(user.role, Permission.incident_internal)
    (shown,) = await views.incidents_out(
        session=session, loaded=loaded, incidents=[incident], now=now, show_roles=internal
    )
    procedure = loaded.procedure
    phase = procedure.phase(incident.phase)
    page = IncidentPage(
        incident=shown,
        severity_rank=severity_rank(procedure, incident.severity),
        phase=phase,
        next_phases=[procedure.phase(p) for p in phase.next],
        internal=internal,
    )
    page.acknowledged = await _acknowledged(session, incident)
    if page.internal:
        await _internal_parts(session, loaded, incident, page, everything)
        await _response_parts(session, loaded, incident, page, user, now)
        page.changes = await recent_changes(
            session=session, incident=incident, window=changes_window, now=now
        )
        page.customers = await customer_impact(session, incident.id, value_property)
        page.value_property = value_property
    else:
        found = await collaboration.list_updates(
            session=session, incident_id=incident.id, audiences=("stakeholder",)
        )
        page.updates = list(reversed(await views.updates_out(session, found)))
    return page


async def _response_parts(
    session: AsyncSession, loaded: LoadedProcedure, incident: Incident, page: IncidentPage, user: User,
    now: datetime,
) -> None:  # fmt: skip
    """The guided phase, playbook actions, observables, evidence, surfaces, blast radius, status page."""
    page.guide = await playbook_out(session=session, loaded=loaded, incident=incident, now=now)
    page.action_runs = await runs_out(session, loaded.procedure, await list_runs(session, incident.id))
    page.observables = await observables_out(session, await list_for(session, incident.id))
    page.surfaces = await surfaces_out(session, incident.id)
    page.evidence = await evidence_out(session, await list_evidence(session, incident.id))
    viewer = viewer_of(user, loaded.procedure)
    page.blast = await blast_radius(session=session, incident=incident, viewer=viewer)
    page.status_page = await linked_views(session, incident.id)


async def _acknowledged(session: AsyncSession, incident: Incident) -> Acknowledged | None:
    if incident.acknowledged_at is None:
        return None
    event = await session.scalar(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == "acknowledged")
        .order_by(TimelineEvent.seq)
        .limit(1)
    )
    if event is None:
        return Acknowledged(who="someone", at=incident.acknowledged_at, via="")
    name = await session.scalar(select(User.name).where(User.email == event.actor))
    return Acknowledged(who=name or event.actor, at=event.at, via=str((event.data or {}).get("via", "")))


async def _internal_parts(
    session: AsyncSession, loaded: LoadedProcedure, incident: Incident, page: IncidentPage, everything: bool
) -> None:
    page.roles = role_rows(loaded.procedure, page.incident)
    page.tasks = await views.tasks_out(
        session, await collaboration.list_tasks(session=session, incident_id=incident.id)
    )
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
    if not everything:
        query = query.where(TimelineEvent.seq > incident.timeline_seq - TIMELINE_SHOWN)
    events = list((await session.scalars(query.order_by(TimelineEvent.seq.desc()))).all())
    page.events = await by_name(session, describe_all(events, loaded.procedure))
    page.older_events = events[-1].seq - 1 if events else 0
    page.last_seq = incident.timeline_seq
    rows, page.alerts_total = await alerts.list_alerts(
        session=session,
        filters=alerts.AlertFilter(incident_id=incident.id),
        limit=ATTACHED_ALERTS_SHOWN,
        offset=0,
        viewer=SYSTEM,  # whoever sees this incident sees its alerts
    )
    page.alerts = await alert_views.alerts_out(session, rows)
    page.people = [u for u in await list_users(session=session) if u.is_active]
    if incident.restricted:
        added = await access.list_participants(session=session, incident_id=incident.id)
        page.participants = await views.participants_out(session, added)
    counts = await comms.recipient_counts(session=session)
    heard = loaded.procedure.communications.audiences_for(incident.severity, drill=incident.drill)
    page.audiences = [(a, counts.get(a.id, 0)) for a in heard]


async def new_events(
    *, session: AsyncSession, loaded: LoadedProcedure, incident_id: int, after: int
) -> list[EventView]:
    """The events after `after`, oldest first: per-incident `seq` has no gaps (the incident row is locked)."""
    query = (
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id, TimelineEvent.seq > after)
        .order_by(TimelineEvent.seq)
    )
    return await by_name(session, describe_all(list((await session.scalars(query)).all()), loaded.procedure))


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


async def by_name(session: AsyncSession, events: list[EventView]) -> list[EventView]:
    """People by their names on the timeline, not their emails (the timeline itself keeps the email: it is
    what the hash chain signed). Addresses of no user, such as a stakeholder list's, stay as they are."""
    found = {m for e in events for m in EMAIL.findall(f"{e.actor} {e.summary}")}
    if not found:
        return events
    rows = await session.execute(select(User.email, User.name).where(User.email.in_(found)))
    names = {email: name for email, name in rows.all() if name}

    def swap(text: str) -> str:
        return EMAIL.sub(lambda m: names.get(m.group(0), m.group(0)), text)

    return [replace(e, actor=swap(e.actor), summary=swap(e.summary)) for e in events]


def page_values(page: IncidentPage) -> dict[str, Any]:
    return {"page": page, "incident": page.incident}

"""The guided view of an incident: its playbook's steps, the current phase's owner and checklist, clocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.incidents import playbook_rules, playbooks
from warroom.incidents.clocks import clocks as severity_clocks
from warroom.incidents.models import Incident
from warroom.incidents.playbook_schemas import (
    CriterionOut,
    DeadlineOut,
    GuidedPhaseOut,
    PlaybookOut,
    ResponsibleOut,
)
from warroom.incidents.service import held_roles
from warroom.incidents.views import tasks_out, user_ref, users_by_id
from warroom.procedure.domain import describe_target
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.schemas import ON_CALL, Procedure
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent


async def _responsible(
    session: AsyncSession, procedure: Procedure, incident: Incident
) -> ResponsibleOut | None:
    role = procedure.phase(incident.phase).responsible
    if role is None:
        return None
    if role == ON_CALL:
        query = select(TimelineEvent.actor).where(
            TimelineEvent.incident_id == incident.id, TimelineEvent.kind == EventKind.acknowledged
        )
        actor = await session.scalar(query.order_by(TimelineEvent.seq).limit(1))
        found = await session.scalar(select(User).where(User.email == actor)) if actor else None
        shown = user_ref(found)
        return ResponsibleOut(role=role, name="On-call engineer", people=[shown] if shown else [])
    holders = [
        h.user_id for h in await held_roles(session=session, incident_id=incident.id) if h.role == role
    ]
    users = await users_by_id(session, holders)
    people = [ref for ref in (user_ref(users.get(i)) for i in holders) if ref is not None]
    return ResponsibleOut(role=role, name=procedure.role(role).name, people=people)


async def _checklist(session: AsyncSession, procedure: Procedure, incident: Incident) -> list[CriterionOut]:
    checks = {
        c.criterion: c for c in await playbooks.checks_of(session, incident.id) if c.phase == incident.phase
    }
    users = await users_by_id(session, [c.ticked_by_id for c in checks.values()])
    return [
        CriterionOut(
            index=index,
            text=text,
            ticked=index in checks,
            ticked_by=user_ref(users.get(checks[index].ticked_by_id or 0)) if index in checks else None,
            ticked_at=checks[index].ticked_at if index in checks else None,
        )
        for index, text in enumerate(procedure.phase(incident.phase).exit_criteria)
    ]


async def playbook_out(
    *, session: AsyncSession, loaded: LoadedProcedure, incident: Incident, now: datetime
) -> PlaybookOut:
    procedure = loaded.procedure
    steps = await playbooks.list_steps(session, incident.id)
    order = procedure.phase_ids()
    upto = set(order[: order.index(incident.phase) + 1])
    gates = [t.id for t in steps if t.gate and not t.done and t.waived_at is None and t.phase in upto]
    phase = procedure.phase(incident.phase)
    guided = GuidedPhaseOut(
        id=phase.id,
        name=phase.name,
        description=phase.description,
        responsible=await _responsible(session, procedure, incident),
        checklist=await _checklist(session, procedure, incident),
        open_gates=gates,
    )
    kind = procedure.incident_type(incident.type) if incident.type in procedure.type_ids() else None
    clocks = playbook_rules.deadline_clocks(
        kind.deadlines if kind else [],
        steps,
        detected_at=incident.detected_at or incident.declared_at,
        declared_at=incident.declared_at,
        notified_at=incident.notified_at,
        now=now,
    )
    playbook = procedure.playbook_for(incident.type) if incident.playbook else None
    return PlaybookOut(
        playbook=incident.playbook,
        name=playbook.name if playbook else None,
        procedure_version=incident.procedure_hash,
        phase=guided,
        steps=await tasks_out(session, steps),
        deadlines=[DeadlineOut(**vars(clock)) for clock in clocks],
        targets=[
            DeadlineOut(
                id=c.name,
                name=f"{c.name.capitalize()} within {describe_target(c.target)}",
                authority="",
                started_at=c.started_at,
                due_at=c.due_at,
                met_at=c.stopped_at,
                state=c.state,
            )
            for c in severity_clocks(
                procedure,
                severity=incident.severity,
                declared_at=incident.declared_at,
                stops={"contained": incident.contained_at, "resolved": incident.resolved_at},
                now=now,
            )
        ],
    )

"""Preparedness facts from the database, per service and per person (domain.py judges them). Read-only."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Integration, RawEvent
from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.comms.models import StakeholderRecipient
from warroom.incidents.models import Incident, IncidentService, RoleAssignment
from warroom.notify.models import ContactMethod, OutgoingMessage
from warroom.oncall import service as oncall
from warroom.oncall.models import EscalationStep, Schedule, ScheduleLayer
from warroom.preparedness.domain import (
    DRILL_WITHIN,
    INTAKE_QUIET,
    SCHEDULE_AHEAD,
    Check,
    Readiness,
    age_check,
    uncovered,
)
from warroom.procedure.schemas import Procedure

RESPONDING_ROLES = ("admin", "responder")  # who is expected to be paged; viewers and stakeholders are not


async def _last_events(session: AsyncSession) -> dict[int, datetime]:
    rows = await session.execute(
        select(Integration.service_id, func.max(RawEvent.received_at))
        .join(RawEvent, RawEvent.integration_id == Integration.id)
        .group_by(Integration.service_id)
    )
    return {service_id: at for service_id, at in rows.all() if at is not None}


async def _schedule_check(session: AsyncSession, policy_id: int | None, now: datetime) -> Check:
    name = "on call for the next 14 days"
    if policy_id is None:
        return Check(name, False, "no policy, so nobody is paged", "give the service an escalation policy")
    steps = await session.scalars(select(EscalationStep).where(EscalationStep.policy_id == policy_id))
    schedule_ids = {t["id"] for s in steps.all() for t in s.targets if t.get("type") == "schedule"}
    gaps = []
    # Someone deactivated (left, or deprovisioned by the identity provider) is paged no more: a gap.
    gone = {str(uid) for uid in await session.scalars(select(User.id).where(User.is_active.is_(False)))}
    for schedule in (await session.scalars(select(Schedule).where(Schedule.id.in_(schedule_ids)))).all():
        spans = await oncall.final_schedule(
            session=session, schedule=schedule, start=now, end=now + SCHEDULE_AHEAD
        )
        covered = [(s.start, s.end, None if s.user in gone else s.user) for s in spans]
        missing = uncovered(covered, now, now + SCHEDULE_AHEAD)
        if missing > timedelta():
            left = " (some shifts are a deactivated person's)" if any(s.user in gone for s in spans) else ""
            gaps.append(f"{schedule.name}: {round(missing.total_seconds() / 3600)} h with nobody{left}")
    if gaps:
        return Check(name, False, "; ".join(gaps), "fill the gaps with a layer or overrides")
    found = f"{len(schedule_ids)} schedule(s) covered" if schedule_ids else "the policy pages people directly"
    return Check(name, True, found)


async def _types_seen(session: AsyncSession, service_id: int) -> set[str]:
    rows = await session.scalars(
        select(Incident.type).join(IncidentService, IncidentService.incident_id == Incident.id)
        .where(IncidentService.service_id == service_id).distinct()
    )  # fmt: skip
    return set(rows.all())


async def _last_drill(session: AsyncSession, service_id: int) -> datetime | None:
    return await session.scalar(
        select(func.max(Incident.declared_at))
        .join(IncidentService, IncidentService.incident_id == Incident.id)
        .where(IncidentService.service_id == service_id, Incident.drill.is_(True))
    )


def _playbook_check(procedure: Procedure, types: set[str]) -> Check:
    likely = sorted(t for t in types if t in procedure.type_ids()) or procedure.type_ids()[:1]
    missing = [t for t in likely if not procedure.incident_type(t).playbook]
    detail = f"likely types: {', '.join(likely)}"
    return Check(
        "a playbook for its likely incidents",
        not missing,
        detail,
        f"write a playbook for {', '.join(missing)}",
    )


async def _lists_check(session: AsyncSession, procedure: Procedure) -> Check:
    rows = await session.execute(
        select(StakeholderRecipient.audience, func.count(StakeholderRecipient.id)).group_by(
            StakeholderRecipient.audience
        )
    )
    counts = dict(rows.all())
    empty = [a.id for a in procedure.communications.audiences if not counts.get(a.id)]
    found = "empty: " + ", ".join(empty) if empty else "every audience has someone"
    return Check(
        "stakeholder lists", not empty, found, "add recipients on the Comms page (warroom stakeholders add)"
    )


async def services_readiness(
    *, session: AsyncSession, procedure: Procedure, now: datetime
) -> list[Readiness]:
    last_events = await _last_events(session)
    lists = await _lists_check(session, procedure)
    found = []
    for service in (await session.scalars(select(Service).order_by(Service.slug))).all():
        checks = [
            age_check("alerts arriving", last_events.get(service.id), now, INTAKE_QUIET,
                      "point a monitoring sender at one of its integrations (Services page)", "event"),
            await _schedule_check(session, service.escalation_policy_id, now),
            _playbook_check(procedure, await _types_seen(session, service.id)),
            age_check(f"drilled in the last {procedure.drill_every_days} days",
                      await _last_drill(session, service.id), now, timedelta(days=procedure.drill_every_days),
                      "run a drill (declare one with --drill)", "drill"),
            lists,
        ]  # fmt: skip
        found.append(Readiness("service", service.slug, service.name, checks))
    return found


async def _on_rotation(session: AsyncSession) -> set[int]:
    layers = await session.scalars(select(ScheduleLayer.participant_ids))
    return {user_id for ids in layers.all() for user_id in ids}


async def _verified(session: AsyncSession) -> set[int]:
    """Users with a contact method a test message reached (sent without error)."""
    rows = await session.scalars(
        select(ContactMethod.user_id)
        .join(OutgoingMessage, OutgoingMessage.contact_method_id == ContactMethod.id)
        .where(OutgoingMessage.idempotency_key.like("test:%"), OutgoingMessage.state == "sent")
        .distinct()
    )
    return set(rows.all())


async def _roles_held(session: AsyncSession, since: datetime) -> tuple[dict[int, set[str]], set[int]]:
    """Roles each user held on incidents since `since`, and who held any on a drill."""
    rows = await session.execute(
        select(RoleAssignment.user_id, RoleAssignment.role, Incident.drill)
        .join(Incident, Incident.id == RoleAssignment.incident_id)
        .where(RoleAssignment.assigned_at >= since)
    )
    held: dict[int, set[str]] = defaultdict(set)
    drilled = set()
    for user_id, role, drill in rows.all():
        held[user_id].add(role)
        if drill:
            drilled.add(user_id)
    return held, drilled


async def people_readiness(*, session: AsyncSession, now: datetime) -> list[Readiness]:
    rotation, verified = await _on_rotation(session), await _verified(session)
    held, drilled = await _roles_held(session, now - DRILL_WITHIN)
    users = await session.scalars(
        select(User).where(User.is_active.is_(True), User.role.in_(RESPONDING_ROLES)).order_by(User.name)
    )
    found = []
    for user in users.all():
        roles = ", ".join(sorted(held.get(user.id, ()))) or "none"
        on = user.id in rotation
        checks = [
            Check("on a rotation", on, "on a schedule layer" if on else "on no schedule",
                  "add them to a schedule layer"),
            Check("a contact method that works", user.id in verified,
                  "a test message reached them" if user.id in verified else "no test message delivered yet",
                  "send a test message from My notifications"),
            Check("drilled in the last quarter", user.id in drilled, f"roles held in 90 days: {roles}",
                  "give them a role in the next drill"),
        ]  # fmt: skip
        found.append(Readiness("person", user.email, user.name, checks))
    return found

"""Drill cadence (issue #17): every team is drilled at least as often as the procedure's `drill_every_days`
(90 by default: quarterly); a team whose services have had no drill for longer is told, through its members'
contact methods, at most once a week."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import Team, TeamMember
from warroom.catalog.models import Service
from warroom.context import AppContext
from warroom.incidents.models import Incident, IncidentService
from warroom.jobs.periodic import AtMostEvery
from warroom.notify.models import ContactMethod, OutgoingMessage
from warroom.notify.service import queue_message


async def overdue_teams(
    session: AsyncSession, now: datetime, every: timedelta
) -> list[tuple[Team, datetime | None]]:
    """Teams owning a service whose last drill (on any of their services) is older than `every`, or never."""
    last = (
        select(Service.team_id, func.max(Incident.declared_at).label("at"))
        .join(IncidentService, IncidentService.service_id == Service.id)
        .join(Incident, Incident.id == IncidentService.incident_id)
        .where(Incident.drill.is_(True))
        .group_by(Service.team_id)
        .subquery()
    )
    owning = select(Service.team_id).where(Service.team_id.is_not(None))
    rows = await session.execute(
        select(Team, last.c.at)
        .outerjoin(last, last.c.team_id == Team.id)
        .where(Team.id.in_(owning))
        .order_by(Team.id)
    )
    return [(team, at) for team, at in rows.all() if at is None or now - at > every]


def week_key(team_id: int, now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"drill-due:{team_id}:{year}-W{week:02d}"


async def remind_team(
    session: AsyncSession, context: AppContext, team: Team, last: datetime | None, now: datetime
) -> int:
    """Tell the team's members, once this week; returns how many messages were queued."""
    key = week_key(team.id, now)
    told = select(OutgoingMessage.id).where(OutgoingMessage.idempotency_key.like(f"{key}:%")).limit(1)
    if await session.scalar(told) is not None:
        return 0
    since = "has never been drilled" if last is None else f"was last drilled on {last:%Y-%m-%d}"
    link = f"{context.settings.resolved_base_url()}/preparedness"
    body = f"{team.name} {since}: run a drill (warroom drill, or declare one with --drill). {link}"
    methods = await session.scalars(
        select(ContactMethod)
        .join(TeamMember, TeamMember.user_id == ContactMethod.user_id)
        .where(TeamMember.team_id == team.id)
        .order_by(ContactMethod.id)
    )
    queued = 0
    for method in methods.all():
        subject = f"Drill overdue for {team.name}"
        await queue_message(
            session=session, method=method, key=f"{key}:{method.id}", subject=subject, body=body, now=now
        )
        queued += 1
    return queued


class DrillReminders(AtMostEvery):
    """Periodic, at most once an hour per worker process: remind teams whose drill is overdue."""

    __name__ = "remind_overdue_drills"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(hours=1)

    async def run(self, context: AppContext, now: datetime) -> None:
        every = timedelta(days=context.procedure.procedure.drill_every_days)
        async with context.db.read() as session:
            due = await overdue_teams(session, now, every)
        if not due:
            return
        async with context.db.write_turn, context.db.write() as session:
            for team, last in due:
                await remind_team(session, context, team, last, now)
            await session.commit()

"""Letting someone go (SCIM deprovisioning, or signing in with no mapped group left): the account is
deactivated at once, its sessions and API tokens revoked, and every schedule, rotation and escalation
policy that names them is flagged to the admins, since paging would otherwise silently skip them."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import ApiToken, User
from warroom.auth.sessions import revoke_user_sessions
from warroom.comms.reminders import tell
from warroom.oncall.models import EscalationPolicy, EscalationStep, Schedule, ScheduleLayer, ScheduleOverride

log = structlog.get_logger("warroom.identity")


async def where_they_are_on_call(session: AsyncSession, user_id: int, now: datetime) -> list[str]:
    """Every rotation (current or future), future override and escalation step naming the person."""
    found = []
    layers = await session.execute(
        select(Schedule.name, ScheduleLayer.name, ScheduleLayer.participant_ids)
        .join(ScheduleLayer, ScheduleLayer.schedule_id == Schedule.id)
        .where(or_(ScheduleLayer.end.is_(None), ScheduleLayer.end > now))
    )
    found += [f"schedule {s}, rotation {layer}" for s, layer, ids in layers if user_id in (ids or [])]
    overrides = await session.execute(
        select(Schedule.name, ScheduleOverride.starts_at)
        .join(ScheduleOverride, ScheduleOverride.schedule_id == Schedule.id)
        .where(ScheduleOverride.user_id == user_id, ScheduleOverride.ends_at > now)
    )
    found += [f"schedule {s}, override from {at:%Y-%m-%d %H:%M} UTC" for s, at in overrides]
    steps = await session.execute(
        select(EscalationPolicy.name, EscalationStep.position, EscalationStep.targets).join(
            EscalationStep, EscalationStep.policy_id == EscalationPolicy.id
        )
    )
    found += [
        f"escalation policy {name}, step {position + 1}"
        for name, position, targets in steps
        if any(t.get("type") == "user" and t.get("id") == user_id for t in targets or [])
    ]
    return found


async def _tell_admins(session: AsyncSession, user: User, flags: list[str], why: str, now: datetime) -> None:
    admins = await session.scalars(
        select(User).where(User.role == "admin", User.is_active.is_(True), User.id != user.id)
    )
    subject = f"{user.name} ({user.email}) was deactivated: {len(flags)} on-call place(s) to fill"
    body = "\n".join([f"Why: {why}.", "Nobody is paged in their place until you fill these:", *flags])
    for admin in admins.all():
        await tell(
            session, admin, key=f"leaver:{user.id}:{now:%Y%m%d%H%M%S}", subject=subject, body=body, now=now
        )


async def deprovision(*, session: AsyncSession, user: User, now: datetime, why: str) -> list[str]:
    """Deactivate, revoke every session and token, and flag where they were on call; returns the flags."""
    user.is_active = False
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended = await revoke_user_sessions(session=session, user_id=user.id, now=now)
    flags = await where_they_are_on_call(session, user.id, now)
    if flags:
        await _tell_admins(session, user, flags, why, now)
    log.warning("identity.deprovisioned", user_id=user.id, why=why, sessions=ended, on_call=len(flags))
    await session.flush()
    return flags

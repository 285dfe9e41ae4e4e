"""Who in a team is told what threat intel finds."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import TeamMember, User


async def team_members(session: AsyncSession, team_id: int) -> list[User]:
    """The team's active members, to be told something through their contact methods."""
    found = await session.scalars(
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id, User.is_active.is_(True))
    )
    return list(found.all())

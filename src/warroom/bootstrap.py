"""First run: an admin with a password and a token, printed once. Used by `warroom run`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth import service as auth
from warroom.auth.domain import Role, new_password


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    password: str
    token: str


async def create_first_admin(*, session: AsyncSession, email: str, now: datetime) -> FirstAdmin | None:
    """Only on an empty user table: a fresh install gets exactly one generated admin."""
    if await auth.count_users(session=session) > 0:
        return None
    password = new_password()
    user = await auth.create_user(
        session=session, email=email, name="Administrator", role=Role.admin.value, password=password, now=now
    )
    user.break_glass = True  # the way back in if single sign-on breaks (warroom.identity)
    issued = await auth.create_token(session=session, user=user, name="first-run", now=now)
    return FirstAdmin(email=user.email, password=password, token=issued.secret)

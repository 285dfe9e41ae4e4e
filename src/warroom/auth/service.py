"""Users, teams and tokens. Functions flush; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import (
    Role,
    email_problem,
    hash_token,
    new_token,
    normalise_email,
    password_problem,
    self_change_problem,
    token_display_prefix,
)
from warroom.auth.models import ApiToken, Team, TeamMember, User
from warroom.errors import Conflict, FieldProblem, NotAuthenticated, NotFound, invalid
from warroom.inbound import is_digits, primary_key

_hasher = PasswordHasher()


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise invalid("role", f"unknown role {role!r}; allowed: {allowed}") from None


async def find_user(*, session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def get_user(*, session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


async def resolve_user(*, session: AsyncSession, ref: str | int) -> User:
    """A user by id, email or exact name (the pickers offer names), as typed in the UI, API and CLI."""
    if isinstance(ref, int):
        return await get_user(session=session, user_id=ref)
    if is_digits(ref):
        return await get_user(session=session, user_id=primary_key(ref) or 0)
    if "@" not in ref and ref.strip():
        return await _by_name(session, ref.strip())
    user = await find_user(session=session, email=ref)
    if user is None:
        raise NotFound(f"no user with email {ref!r}")
    return user


async def _by_name(session: AsyncSession, name: str) -> User:
    """The one active person with this name (any case), as the pickers offer them; else say what to type."""
    found = list(
        await session.scalars(
            select(User).where(func.lower(User.name) == name.lower()[:200], User.is_active.is_(True)).limit(3)
        )
    )
    if len(found) == 1:
        return found[0]
    if found:
        raise NotFound(f"{len(found)} people are called {name!r}: use an email")
    raise NotFound(f"no one called {name!r} (give a name or an email)")


async def create_user(
    *, session: AsyncSession, email: str, name: str, role: str, now: datetime, password: str | None = None
) -> User:
    email = normalise_email(email)
    problem = email_problem(email)
    if problem:
        raise invalid("email", problem)
    checked_role = _check_role(role)
    if await find_user(session=session, email=email) is not None:
        message = f"a user with email {email} already exists"
        raise Conflict(message, [FieldProblem("email", "is already used by another user")])
    user = User(
        email=email, name=name.strip() or email, role=checked_role.value, is_active=True, created_at=now
    )
    if password is not None:
        _set_password(user, password)
    session.add(user)
    await session.flush()
    return user


def _set_password(user: User, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise invalid("password", problem)
    user.password_hash = _hasher.hash(password)


async def set_password(*, session: AsyncSession, user: User, password: str) -> None:
    _set_password(user, password)
    await session.flush()


async def set_role(*, session: AsyncSession, user: User, role: str, actor: User | None = None) -> None:
    """Change a user's role; with `actor`, the admin making the change may not demote themselves."""
    checked = _check_role(role).value
    if actor is not None:
        problem = self_change_problem(actor_id=actor.id, target_id=user.id, role=checked)
        if problem:
            raise Conflict(problem, [FieldProblem("role", problem)])
    user.role = checked
    await session.flush()


async def set_active(
    *, session: AsyncSession, user: User, active: bool, actor: User | None = None, now: datetime | None = None
) -> None:
    """Deactivate (no sign-in, no token works) or reactivate a user; nobody deactivates themselves. With
    `now`, deactivating also revokes every token, so reactivating does not bring them back."""
    if actor is not None:
        problem = self_change_problem(actor_id=actor.id, target_id=user.id, active=active)
        if problem:
            raise Conflict(problem)
    user.is_active = active
    if not active and now is not None:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    await session.flush()


def verify_password(user: User, password: str) -> bool:
    if not user.password_hash or not user.is_active:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def list_users(*, session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.id))).all())


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


async def create_token(*, session: AsyncSession, user: User, name: str, now: datetime) -> IssuedToken:
    secret = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token_display_prefix(secret),
        token_hash=hash_token(secret),
        created_at=now,
    )
    session.add(token)
    await session.flush()
    return IssuedToken(token=token, secret=secret)


async def authenticate_token(*, session: AsyncSession, secret: str) -> User:
    row = await session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(secret))
    )
    found = row.first()
    if found is None:
        raise NotAuthenticated("the token is not valid")
    token, user = found
    if token.revoked_at is not None:
        raise NotAuthenticated("the token has been revoked")
    if not user.is_active:
        raise NotAuthenticated("the user is deactivated")
    return user


async def list_tokens(*, session: AsyncSession, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list((await session.scalars(query)).all())


async def revoke_token(
    *, session: AsyncSession, token_id: int, now: datetime, owner_id: int | None = None
) -> None:
    """Revoke a token; with `owner_id`, only one of that user's own (another's is "not found")."""
    token = await session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound(f"no token with id {token_id}")
    token.revoked_at = now
    await session.flush()


async def count_users(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def create_team(*, session: AsyncSession, slug: str, name: str, now: datetime) -> Team:
    if await session.scalar(select(Team).where(Team.slug == slug)) is not None:
        message = f"a team with slug {slug!r} already exists"
        raise Conflict(message, [FieldProblem("slug", "is already used by another team")])
    team = Team(slug=slug, name=name, created_at=now)
    session.add(team)
    await session.flush()
    return team


async def get_team(*, session: AsyncSession, slug: str) -> Team:
    team = await session.scalar(select(Team).where(Team.slug == slug))
    if team is None:
        raise NotFound(f"no team {slug!r}")
    return team


async def add_team_member(*, session: AsyncSession, team: Team, user: User) -> None:
    exists = await session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    if exists is None:
        session.add(TeamMember(team_id=team.id, user_id=user.id))
        await session.flush()


async def remove_team_member(*, session: AsyncSession, team: Team, user: User) -> None:
    found = await session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    if found is None:
        raise NotFound(f"{user.email} is not a member of {team.name}")
    await session.delete(found)
    await session.flush()


async def team_ids_of(*, session: AsyncSession, user_id: int) -> frozenset[int]:
    """The teams a person belongs to."""
    rows = await session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
    return frozenset(rows.all())


async def list_teams(*, session: AsyncSession) -> list[tuple[Team, list[User]]]:
    teams = (await session.scalars(select(Team).order_by(Team.slug))).all()
    rows = (
        await session.execute(
            select(TeamMember.team_id, User).join(User, User.id == TeamMember.user_id).order_by(User.email)
        )
    ).all()
    members: dict[int, list[User]] = {}
    for team_id, user in rows:
        members.setdefault(team_id, []).append(user)
    return [(team, members.get(team.id, [])) for team in teams]

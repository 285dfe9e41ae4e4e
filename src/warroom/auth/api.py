"""Who am I, users, API tokens and teams."""

from __future__ import annotations

from fastapi import APIRouter

from warroom.auth import service, sessions
from warroom.auth.models import User
from warroom.auth.schemas import (
    SessionsRevoked,
    TeamCreate,
    TeamOut,
    TokenCreate,
    TokenOut,
    UserCreate,
    UserOut,
)
from warroom.deps import (
    CatalogReader,
    CatalogWriter,
    ContextDep,
    CurrentUser,
    InternalReader,
    ReadSession,
    UserManager,
    WriteSession,
)

router = APIRouter(prefix="/api/v1", tags=["users"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        is_active=user.is_active,
        created_at=user.created_at,
    )


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.post("/me/tokens", status_code=201, response_model=TokenOut)
async def create_my_token(
    body: TokenCreate, user: CurrentUser, session: WriteSession, context: ContextDep
) -> TokenOut:
    issued = await service.create_token(session=session, user=user, name=body.name, now=context.clock.now())
    token = issued.token
    return TokenOut(
        id=token.id, name=token.name, prefix=token.prefix, created_at=token.created_at, token=issued.secret
    )


@router.post("/me/sessions/revoke", response_model=SessionsRevoked)
async def sign_me_out_everywhere(
    user: CurrentUser, session: WriteSession, context: ContextDep
) -> SessionsRevoked:
    """End every web session of mine (API tokens keep working: revoke those one by one)."""
    ended = await sessions.revoke_user_sessions(session=session, user_id=user.id, now=context.clock.now())
    return SessionsRevoked(revoked=ended)


@router.post("/users/{user_id}/sessions/revoke", response_model=SessionsRevoked)
async def sign_user_out_everywhere(
    user_id: int, _admin: UserManager, session: WriteSession, context: ContextDep
) -> SessionsRevoked:
    """End every web session of this user (admins): after a lost laptop, or before a role change bites."""
    target = await service.get_user(session=session, user_id=user_id)
    ended = await sessions.revoke_user_sessions(session=session, user_id=target.id, now=context.clock.now())
    return SessionsRevoked(revoked=ended)


@router.get("/users", response_model=list[UserOut])
async def list_users(_user: InternalReader, session: ReadSession) -> list[UserOut]:
    return [user_out(u) for u in await service.list_users(session=session)]


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(
    body: UserCreate, _admin: UserManager, session: WriteSession, context: ContextDep
) -> UserOut:
    user = await service.create_user(
        session=session,
        email=body.email,
        name=body.name,
        role=body.role,
        password=body.password,
        now=context.clock.now(),
    )
    return user_out(user)


@router.get("/teams", response_model=list[TeamOut])
async def list_teams(_user: CatalogReader, session: ReadSession) -> list[TeamOut]:
    return [
        TeamOut(id=t.id, slug=t.slug, name=t.name, members=[m.email for m in members])
        for t, members in await service.list_teams(session=session)
    ]


@router.post("/teams", status_code=201, response_model=TeamOut)
async def create_team(
    body: TeamCreate, _admin: CatalogWriter, session: WriteSession, context: ContextDep
) -> TeamOut:
    members = [await service.resolve_user(session=session, ref=ref) for ref in body.members]
    team = await service.create_team(session=session, slug=body.slug, name=body.name, now=context.clock.now())
    for member in members:
        await service.add_team_member(session=session, team=team, user=member)
    return TeamOut(id=team.id, slug=team.slug, name=team.name, members=[m.email for m in members])

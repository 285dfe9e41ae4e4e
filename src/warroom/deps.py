"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.auth.service import authenticate_token
from warroom.clock import Clock
from warroom.context import AppContext
from warroom.errors import NotAuthenticated, PermissionDenied
from warroom.procedure.loader import LoadedProcedure


# Dependencies are `async def` even when they do no I/O: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop on every request (8% of the event loop's time under intake load, py-spy).
async def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.warroom
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def read_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with context.db.read() as session:
        yield session


async def write_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    """The request owns the transaction: commit when the route returns, before the response is sent."""
    async with context.db.write_turn, context.db.write() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]


async def get_procedure(context: ContextDep) -> LoadedProcedure:
    return context.procedure


async def get_clock(context: ContextDep) -> Clock:
    return context.clock


ProcedureDep = Annotated[LoadedProcedure, Depends(get_procedure)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send an API token as 'Authorization: Bearer <token>'")
    return token.strip()


async def current_user(request: Request, context: ContextDep) -> User:
    token = bearer_token(request)
    async with context.db.read() as session:
        return await authenticate_token(session=session, secret=token)


CurrentUser = Annotated[User, Depends(current_user)]


# Every check `require` made: the OpenAPI document (warroom.openapi) lists 403 for the routes using one.
PERMISSION_CHECKS: set[Callable[..., object]] = set()


def require(permission: Permission) -> Callable[[User], Awaitable[User]]:
    async def check(user: CurrentUser) -> User:
        if not allows(user.role, permission):
            raise PermissionDenied(f"the {user.role} role may not do this ({permission.value})")
        return user

    PERMISSION_CHECKS.add(check)
    return check


IncidentReader = Annotated[User, Depends(require(Permission.incident_read))]
InternalReader = Annotated[User, Depends(require(Permission.incident_internal))]
IncidentWriter = Annotated[User, Depends(require(Permission.incident_write))]
CatalogReader = Annotated[User, Depends(require(Permission.catalog_read))]
CatalogWriter = Annotated[User, Depends(require(Permission.catalog_write))]
UserManager = Annotated[User, Depends(require(Permission.users_manage))]
JobsReader = Annotated[User, Depends(require(Permission.jobs_read))]

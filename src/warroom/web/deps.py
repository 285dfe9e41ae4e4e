"""Who is asking, may they, and did the form come from our page (CSRF): dependencies for the web routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth import sessions
from warroom.auth.domain import Permission, allows
from warroom.auth.models import User
from warroom.auth.sessions import SessionLimits
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import PermissionDenied
from warroom.web.render import session_of, web_state
from warroom.web.sessions import CSRF_FIELD, CSRF_HEADER

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in user; answered with a redirect to the sign-in page."""


class CsrfRefused(PermissionDenied):
    title = "Forbidden: the form is stale or did not come from warroom"


def session_limits(context: AppContext) -> SessionLimits:
    settings = context.settings
    return SessionLimits(
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_max_hours),
    )


def client_address(request: Request) -> str:
    """The client's address: the peer's, or the forwarded one when the peer is a trusted proxy (the
    app's proxy middleware has already put it in the scope)."""
    return request.client.host if request.client else "unknown"


async def optional_user(request: Request, context: ContextDep) -> User | None:
    """The signed-in user of a live session (not revoked, not expired, user active), or None."""
    if hasattr(request.state, "web_user"):
        cached: User | None = request.state.web_user
        return cached
    session = session_of(request)
    now = context.clock.now()
    async with context.db.read() as db:
        found = await sessions.find_session(
            session=db, session_id=session.session_id, now=now, limits=session_limits(context)
        )
    if found is not None and found.user is None:
        session.renew()  # the cookie's session has ended: a new anonymous id, so the old one is dropped
    if found is not None and found.needs_touch:
        async with writing(context) as db:
            await sessions.touch_session(session=db, record_id=found.record_id, now=now)
    user = found.user if found is not None else None
    request.state.web_user = user
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def page_user(user: OptionalUser) -> User:
    if user is None:
        raise SignInRequired()
    return user


PageUser = Annotated[User, Depends(page_user)]


def page_permission(permission: Permission) -> Callable[[User], Awaitable[User]]:
    async def check(user: PageUser) -> User:
        if not allows(user.role, permission):
            raise PermissionDenied(f"the {user.role} role may not do this ({permission.value})")
        return user

    return check


PageReader = Annotated[User, Depends(page_permission(Permission.incident_read))]
PageInternal = Annotated[User, Depends(page_permission(Permission.incident_internal))]
PageWriter = Annotated[User, Depends(page_permission(Permission.incident_write))]
PageCatalogWriter = Annotated[User, Depends(page_permission(Permission.catalog_write))]
PageAdmin = Annotated[User, Depends(page_permission(Permission.users_manage))]


async def csrf_checked(request: Request) -> None:
    """Every unsafe request carries the session's CSRF token, in the form or in a header."""
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not web_state(request).codec.csrf_ok(session_of(request), token):
        raise CsrfRefused("the form is stale or did not come from this site: reload the page and try again")


@asynccontextmanager
async def writing(context: AppContext) -> AsyncIterator[AsyncSession]:
    """A write transaction that commits only when the block succeeds.

    Web forms catch domain errors to show them next to the field, so they cannot use the API's WriteSession
    dependency (it would commit whatever the failed service call had flushed): the error leaves this block,
    which rolls back, and is caught outside it.
    """
    async with context.db.write_turn, context.db.write() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def form_data(request: Request) -> dict[str, str | list[str]]:
    """The posted form as plain strings; a repeated field (checkboxes) becomes a list."""
    form = await request.form()
    values: dict[str, str | list[str]] = {}
    for key in form:
        if key == CSRF_FIELD:
            continue
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if len(items) > 1 else (items[0] if items else "")
    return values

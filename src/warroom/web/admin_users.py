"""User administration (admins only): list everyone, add a user with a first password, change a role,
deactivate and reactivate, sign someone out everywhere. An admin cannot deactivate or demote themselves
(auth.domain.self_change_problem).
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth import service as auth
from warroom.auth import sessions
from warroom.auth.domain import Role
from warroom.auth.models import User
from warroom.auth.schemas import UserCreate
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import Conflict, InvalidInput, NotFound
from warroom.web.deps import PageAdmin, csrf_checked, form_data, writing
from warroom.web.forms import FormState, FormValues, parsed, refused, text
from warroom.web.render import redirect, render

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
NEW = "new"
FIELDS = frozenset({"email", "name", "role", "password"})
ROLES = [(r.value, r.value.title()) for r in Role]
log = structlog.get_logger("warroom.auth")


async def _page(
    request: Request,
    context: AppContext,
    user: User,
    *,
    forms: dict[str, FormState] | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        users = await auth.list_users(session=session)
    roles = {f"role-{u.id}": FormState(values={"role": u.role}) for u in users}
    return render(
        request,
        "admin_users.html",
        status=status,
        user=user,
        users=users,
        roles=ROLES,
        forms={**roles, NEW: FormState(values={"role": Role.responder.value}), **(forms or {})},
        title="Users",
    )


@router.get("/admin/users")
async def users(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _page(request, context, user)


def _create_data(values: FormValues) -> UserCreate:
    fields = {name: text(values, name) for name in ("email", "name", "role", "password")}
    return parsed(UserCreate, fields, "the user was not added")


@router.post("/admin/users")
async def create(request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            data = _create_data(values)
            added = await auth.create_user(
                session=session,
                email=data.email,
                name=data.name,
                role=data.role,
                password=data.password,
                now=context.clock.now(),
            )
    except (InvalidInput, Conflict) as error:
        state = refused({**values, "password": ""}, error, fields=FIELDS)
        return await _page(request, context, user, forms={NEW: state}, status=error.status)
    return redirect(request, f"/admin/users#user-{added.id}", flash=f"User {added.email} added")


@router.post("/admin/users/{user_id}/role")
async def change_role(user_id: int, request: Request, user: PageAdmin, context: ContextDep) -> Response:
    values = await form_data(request)
    try:
        async with writing(context) as session:
            target = await auth.get_user(session=session, user_id=user_id)
            await auth.set_role(session=session, user=target, role=text(values, "role"), actor=user)
    except (InvalidInput, Conflict) as error:
        state = refused(values, error, fields=frozenset({"role"}))
        return await _page(request, context, user, forms={f"role-{user_id}": state}, status=error.status)
    except NotFound as error:
        return redirect(request, "/admin/users", flash=error.detail, tone="error")
    return redirect(request, f"/admin/users#user-{user_id}", flash=f"{target.email} is now {target.role}")


async def _set_active(
    request: Request, context: AppContext, user: User, user_id: int, *, active: bool
) -> Response:
    try:
        async with writing(context) as session:
            target = await auth.get_user(session=session, user_id=user_id)
            await auth.set_active(
                session=session, user=target, active=active, actor=user, now=context.clock.now()
            )
    except Conflict as error:
        state = FormState(message=error.detail)
        return await _page(request, context, user, forms={f"active-{user_id}": state}, status=error.status)
    except NotFound as error:
        return redirect(request, "/admin/users", flash=error.detail, tone="error")
    done = "reactivated" if active else "deactivated: they can no longer sign in or use a token"
    return redirect(request, f"/admin/users#user-{user_id}", flash=f"{target.email} {done}")


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate(user_id: int, request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _set_active(request, context, user, user_id, active=False)


@router.post("/admin/users/{user_id}/reactivate")
async def reactivate(user_id: int, request: Request, user: PageAdmin, context: ContextDep) -> Response:
    return await _set_active(request, context, user, user_id, active=True)


@router.post("/admin/users/{user_id}/sessions/revoke")
async def sign_out_everywhere(
    user_id: int, request: Request, user: PageAdmin, context: ContextDep
) -> Response:
    try:
        async with writing(context) as session:
            target = await auth.get_user(session=session, user_id=user_id)
            ended = await sessions.revoke_user_sessions(
                session=session, user_id=target.id, now=context.clock.now()
            )
    except NotFound as error:
        return redirect(request, "/admin/users", flash=error.detail, tone="error")
    log.info("sessions.revoked", user_id=target.id, by=user.id, count=ended)
    flash = f"{target.email} is signed out everywhere ({ended} session(s) ended)"
    return redirect(request, f"/admin/users#user-{user_id}", flash=flash)

"""Sign in and out, change my password, my API tokens."""

from __future__ import annotations

import asyncio
import secrets
from functools import cache

from argon2 import PasswordHasher
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import InvalidInput, NotFound, invalid
from warroom.web.deps import OptionalUser, PageUser, csrf_checked, form_data, writing
from warroom.web.forms import FormState, refused, text
from warroom.web.render import redirect, render, safe_next, session_of, web_state
from warroom.web.sessions import sign_in, sign_out

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
BAD_SIGN_IN = "That email and password do not match an active account."


@cache
def _stand_in() -> User:
    """Checked when the email is unknown, so a wrong email takes as long as a wrong password."""
    return User(id=0, password_hash=PasswordHasher().hash(secrets.token_urlsafe(16)), is_active=True)


@router.get("/login")
async def login_page(request: Request, user: OptionalUser) -> Response:
    target = safe_next(request.query_params.get("next"))
    if user is not None:
        return redirect(request, target)
    return render(request, "login.html", form=FormState(values={"next": target}), title="Sign in")


@router.post("/login")
async def login(request: Request, context: ContextDep) -> Response:
    values = await form_data(request)
    email, password = text(values, "email"), str(values.get("password", ""))
    target = safe_next(text(values, "next"))
    async with context.db.read() as session:
        user = await auth.find_user(session=session, email=email) if email else None
    ok = await asyncio.to_thread(auth.verify_password, user or _stand_in(), password)
    if user is None or not ok:
        form = FormState(values={"email": email, "next": target}, message=BAD_SIGN_IN)
        if not email:
            form.errors["email"] = "is required"
        return render(request, "login.html", status=401, form=form, title="Sign in")
    sign_in(web_state(request).codec, session_of(request), user)
    return redirect(request, target, flash=f"Signed in as {user.email}")


@router.post("/logout")
async def logout(request: Request) -> Response:
    sign_out(session_of(request))
    return redirect(request, "/login", flash="Signed out")


async def _account(
    request: Request,
    context: AppContext,
    user: User,
    *,
    password: FormState | None = None,
    token: FormState | None = None,
    new_secret: str | None = None,
    status: int = 200,
) -> Response:
    async with context.db.read() as session:
        tokens = await auth.list_tokens(session=session, user_id=user.id)
    return render(
        request,
        "account.html",
        status=status,
        user=user,
        tokens=tokens,
        password_form=password or FormState(),
        token_form=token or FormState(),
        new_secret=new_secret,
        title="My account",
    )


@router.get("/account")
async def account(request: Request, user: PageUser, context: ContextDep) -> Response:
    return await _account(request, context, user)


@router.post("/account/password")
async def change_password(request: Request, user: PageUser, context: ContextDep) -> Response:
    values = await form_data(request)
    current, new = str(values.get("current_password", "")), str(values.get("password", ""))
    try:
        if not await asyncio.to_thread(auth.verify_password, user, current):
            raise invalid("current_password", "is not your current password")
        if new != values.get("password_confirm", ""):
            raise invalid("password_confirm", "does not match the new password")
        async with writing(context) as session:
            fresh = await auth.get_user(session=session, user_id=user.id)
            await auth.set_password(session=session, user=fresh, password=new)
    except InvalidInput as error:
        kept = {k: v for k, v in values.items() if "password" not in k}  # never echo a password back
        return await _account(request, context, user, password=refused(kept, error), status=422)
    sign_in(web_state(request).codec, session_of(request), fresh)  # this session stays; the others end
    return redirect(request, "/account", flash="Password changed; other sessions are signed out")


@router.post("/account/tokens")
async def create_token(request: Request, user: PageUser, context: ContextDep) -> Response:
    values = await form_data(request)
    name = text(values, "name")
    try:
        if not name:
            raise invalid("name", "is required")
        if len(name) > 200:
            raise invalid("name", "is longer than 200 characters")
        async with writing(context) as session:
            issued = await auth.create_token(session=session, user=user, name=name, now=context.clock.now())
    except InvalidInput as error:
        return await _account(request, context, user, token=refused(values, error), status=422)
    return await _account(request, context, user, new_secret=issued.secret, status=201)


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, request: Request, user: PageUser, context: ContextDep) -> Response:
    try:
        async with writing(context) as session:
            await auth.revoke_token(
                session=session, token_id=token_id, now=context.clock.now(), owner_id=user.id
            )
    except NotFound:
        return redirect(request, "/account", flash="No such token of yours", tone="error")
    return redirect(request, "/account", flash="Token revoked")

"""Sign in and out, change my password, my API tokens."""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import timedelta
from functools import cache

import structlog
from argon2 import PasswordHasher
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from warroom.auth import service as auth
from warroom.auth import sessions, throttle
from warroom.auth.models import User
from warroom.context import AppContext
from warroom.deps import ContextDep
from warroom.errors import InvalidInput, NotFound, invalid
from warroom.identity import service as sso
from warroom.web.deps import (
    OptionalUser,
    PageUser,
    client_address,
    csrf_checked,
    form_data,
    session_limits,
    writing,
)
from warroom.web.forms import FormState, refused, text
from warroom.web.render import redirect, render, safe_next, session_of

router = APIRouter(dependencies=[Depends(csrf_checked)], include_in_schema=False)
log = structlog.get_logger("warroom.auth")
BAD_SIGN_IN = "That email and password do not match an active account."


@cache
def _stand_in() -> User:
    """Checked when the email is unknown, so a wrong email takes as long as a wrong password."""
    return User(id=0, password_hash=PasswordHasher().hash(secrets.token_urlsafe(16)), is_active=True)


async def login_form(request: Request, context: AppContext, form: FormState, status: int = 200) -> Response:
    """The sign-in page: a "Sign in with ..." button per provider, the password form unless passwords are
    off (break-glass admins still find it under "Local account")."""
    async with context.db.read() as session:
        providers = await sso.providers(session=session, settings=context.settings)
    return render(request, "login.html", status=status, form=form, title="Sign in", providers=providers,
                  passwords_off=context.settings.local_passwords == "break_glass_only",
                  own_refusal=True)  # fmt: skip


@router.get("/login")
async def login_page(request: Request, user: OptionalUser, context: ContextDep) -> Response:
    target = safe_next(request.query_params.get("next"))
    if user is not None:
        return redirect(request, target)
    return await login_form(request, context, FormState(values={"next": target}))


@router.post("/login")
async def login(request: Request, context: ContextDep) -> Response:
    values = await form_data(request)
    email, password = text(values, "email"), str(values.get("password", ""))
    target = safe_next(text(values, "next"))
    address, now = client_address(request), context.clock.now()
    async with context.db.read() as session:
        wait = await throttle.refused_for(session=session, email=email, address=address, now=now)
        user = await auth.find_user(session=session, email=email) if email and not wait else None
    if wait:
        return await _throttled(request, context, email=email, address=address, target=target, wait=wait)
    ok = await asyncio.to_thread(auth.verify_password, user or _stand_in(), password)
    if user is None or not ok:
        async with writing(context) as session:
            await throttle.record_failure(session=session, email=email, address=address, now=now)
        log.warning("sign_in.failed", email=email[:320], address=address, known_account=user is not None)
        form = FormState(values={"email": email, "next": target}, message=BAD_SIGN_IN)
        if not email:
            form.errors["email"] = "is required"
        return await login_form(request, context, form, 401)
    if context.settings.local_passwords == "break_glass_only" and not user.break_glass:
        log.warning("sign_in.password_off", user_id=user.id, address=address)
        message = "Passwords are switched off here: use single sign-on below."
        return await login_form(request, context, FormState(values={"next": target}, message=message), 403)
    await start_session(request, context, user, address=address)
    return redirect(request, target, flash=f"Signed in as {user.email}")


async def start_session(request: Request, context: AppContext, user: User, *, address: str) -> None:
    """A new session id (the pre-sign-in one may have been planted: session fixation), stored with the
    user; the account's failure count starts again."""
    web_session = session_of(request)
    web_session.renew()
    async with writing(context) as session:
        await throttle.forget_account_failures(session=session, email=user.email)
        await sessions.start_session(
            session=session,
            user=user,
            session_id=web_session.session_id,
            now=context.clock.now(),
            limits=session_limits(context),
            address=address,
            user_agent=request.headers.get("user-agent", ""),
        )
    log.info("sign_in.ok", user_id=user.id, address=address)


async def _throttled(
    request: Request, context: AppContext, *, email: str, address: str, target: str, wait: timedelta
) -> Response:
    seconds = max(1, math.ceil(wait.total_seconds()))
    log.warning("sign_in.refused", email=email[:320], address=address, retry_after=seconds)
    message = f"Too many failed sign-ins. Try again in {_readable(seconds)}."
    form = FormState(values={"email": email, "next": target}, message=message)
    response = await login_form(request, context, form, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _readable(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@router.post("/logout")
async def logout(request: Request, context: ContextDep) -> Response:
    old = session_of(request).renew()
    async with writing(context) as session:
        await sessions.revoke_session(session=session, session_id=old, now=context.clock.now())
    return redirect(request, "/login", flash="Signed out")


@router.post("/account/sessions/revoke")
async def sign_out_everywhere(request: Request, user: PageUser, context: ContextDep) -> Response:
    session_of(request).renew()
    async with writing(context) as session:
        ended = await sessions.revoke_user_sessions(session=session, user_id=user.id, now=context.clock.now())
    log.info("sessions.revoked", user_id=user.id, by=user.id, count=ended)
    return redirect(request, "/login", flash=f"Signed out everywhere ({ended} session(s))")


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
        web_sessions = await sessions.list_live_sessions(
            session=session, user_id=user.id, now=context.clock.now(), limits=session_limits(context)
        )
    return render(
        request,
        "account.html",
        status=status,
        user=user,
        tokens=tokens,
        web_sessions=web_sessions,
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
            await sessions.revoke_user_sessions(  # this session stays; the others end
                session=session,
                user_id=user.id,
                now=context.clock.now(),
                keep_session_id=session_of(request).session_id,
            )
    except InvalidInput as error:
        kept = {k: v for k, v in values.items() if "password" not in k}  # never echo a password back
        return await _account(request, context, user, password=refused(kept, error), status=422)
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

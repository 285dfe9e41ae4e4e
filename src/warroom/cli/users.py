"""`warroom user ...` and `warroom token create`: users and API tokens, admin commands on the database."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from warroom.auth import service as auth
from warroom.auth.domain import Role
from warroom.auth.sessions import revoke_user_sessions
from warroom.cli.common import out, runtime_of, with_context
from warroom.config import Settings
from warroom.context import AppContext
from warroom.errors import InvalidInput

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="The user's email (their login).")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[
        str | None,
        typer.Option(
            help="admin, responder, viewer or stakeholder. New users: responder; existing: unchanged."
        ),
    ] = None,
    password: Annotated[str | None, typer.Option(help="Default: prompt for it.")] = None,
) -> None:
    """Create a user with a password, or set the password (and, if given, the role) of an existing one."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            user = await auth.find_user(session=session, email=email)
            if user is None:
                user = await auth.create_user(
                    session=session,
                    email=email,
                    name=name,
                    role=role or Role.responder.value,
                    password=secret,
                    now=context.clock.now(),
                )
                verb = "created"
            else:
                await auth.set_password(session=session, user=user, password=secret)
                # A reset password ends every web session: whoever knew the old one is signed out too.
                await revoke_user_sessions(session=session, user_id=user.id, now=context.clock.now())
                if role is not None:
                    await auth.set_role(session=session, user=user, role=role)
                verb = "updated"
            await session.commit()
            return f"user {user.email} ({user.role}) {verb}"

    out.print(with_context(runtime_of(ctx), Settings(), work))


@user_app.command("list")
def user_list(ctx: typer.Context) -> None:
    """List users and their roles."""

    async def work(context: AppContext) -> list[str]:
        async with context.db.read() as session:
            return [f"{u.id}\t{u.email}\t{u.role}\t{u.name}" for u in await auth.list_users(session=session)]

    for line in with_context(runtime_of(ctx), Settings(), work):
        out.print(line, highlight=False)


@user_app.command("break-glass")
def user_break_glass(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="An admin's email.")],
    off: Annotated[bool, typer.Option("--off", help="Take break-glass away instead.")] = False,
) -> None:
    """Mark an admin as break-glass: they keep a password when local passwords are off
    (WARROOM_LOCAL_PASSWORDS=break_glass_only), and single sign-on and SCIM never change them."""

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            user = await auth.resolve_user(session=session, ref=email)
            if not off and user.role != Role.admin.value:
                raise InvalidInput(f"{user.email} is a {user.role}: only an admin can be break-glass")
            user.break_glass = not off
            await session.commit()
            return f"{user.email}: break-glass {'off' if off else 'on'}"

    out.print(with_context(runtime_of(ctx), Settings(), work), highlight=False)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(help="Whose token; the user is created if missing.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    role: Annotated[
        str, typer.Option(help="Role for a user created here (an existing user keeps theirs).")
    ] = Role.responder.value,
) -> None:
    """Print a new API token (shown once; only its hash is stored)."""

    async def work(context: AppContext) -> str:
        now = context.clock.now()
        async with context.db.write() as session:
            user = await auth.find_user(session=session, email=email)
            if user is None:
                user = await auth.create_user(session=session, email=email, name="", role=role, now=now)
            issued = await auth.create_token(session=session, user=user, name=name, now=now)
            await session.commit()
            return issued.secret

    sys.stdout.write(with_context(runtime_of(ctx), Settings(), work) + "\n")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")

"""The `warroom` command: admin commands run services on the database; operator commands use the API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import click
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from warroom import __version__, alerts_cli, oncall_cli, operator_cli
from warroom.auth import service as auth
from warroom.auth.domain import Role
from warroom.bootstrap import create_first_admin
from warroom.clock import SystemClock
from warroom.comms import cli as comms_cli
from warroom.config import Settings
from warroom.db import SessionFactories
from warroom.demo import load_demo
from warroom.errors import DomainError
from warroom.incidents.audit import verify_all
from warroom.metrics import cli as metrics_cli
from warroom.migrate import upgrade
from warroom.procedure.loader import (
    LoadedProcedure,
    ProcedureInvalid,
    load_default_procedure,
    load_procedure_file,
)
from warroom.procedure.render import render_markdown
from warroom.procedure.service import register_version
from warroom.reviews import cli as reviews_cli

T = TypeVar("T")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

app = typer.Typer(help="warroom: incident response, run end to end.", no_args_is_help=True)
procedure_app = typer.Typer(
    help="Check and render the incident procedure (procedure.yaml).", no_args_is_help=True
)
audit_app = typer.Typer(help="Prove the timeline was not rewritten.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(procedure_app, name="procedure")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
operator_cli.register(app)
metrics_cli.register(app)
reviews_cli.register(app)
comms_cli.register(app)
alerts_cli.register(app)
oncall_cli.register(app)


class CommandFailed(Exception):
    """A failure already phrased for the person at the terminal."""


def with_db(settings: Settings, work: Callable[[SessionFactories], Awaitable[T]]) -> T:
    async def run() -> T:
        from warroom.wiring import build_context  # interim: the cli package takes a runtime instead

        factories = build_context(settings).db
        try:
            return await work(factories)
        finally:
            await factories.engine.dispose()

    return asyncio.run(run())


def _procedure(settings: Settings) -> LoadedProcedure:
    return load_procedure_file(settings.procedure) if settings.procedure else load_default_procedure()


@app.command()
def version() -> None:
    """Print warroom's version."""
    out.print(__version__)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL, from WARROOM_DATABASE_URL)."""
    settings = Settings()
    upgrade(settings.resolved_database_url())
    out.print("database is up to date")


@app.command()
def demo() -> None:
    """Load the demo organisation (teams, people, services, one closed incident). Idempotent."""
    settings = Settings()
    loaded = _procedure(settings)

    async def work(db: SessionFactories) -> str:
        async with db.write() as session:
            await register_version(session=session, loaded=loaded, now=SystemClock().now())
            incident = await load_demo(
                session=session, loaded=loaded, now=SystemClock().now(), base_url=settings.resolved_base_url()
            )
            await session.commit()
        return f"demo loaded: INC-{incident.id}" if incident else "demo data is already loaded"

    out.print(with_db(settings, work))


def prepare(settings: Settings, *, with_demo: bool) -> LoadedProcedure:
    """Everything `run` does before it serves: procedure check, migrations, first admin, demo data."""
    loaded = _procedure(settings)  # a broken procedure stops here, before anything is served
    settings.ensure_secret_key()
    upgrade(settings.resolved_database_url())

    async def work(db: SessionFactories) -> None:
        now = SystemClock().now()
        async with db.write() as session:
            await register_version(session=session, loaded=loaded, now=now)
            admin = await create_first_admin(session=session, email=settings.admin_email, now=now)
            incident = (
                await load_demo(
                    session=session, loaded=loaded, now=now, base_url=settings.resolved_base_url()
                )
                if with_demo
                else None
            )
            await session.commit()
        if admin:
            out.print("[bold green]First run: an admin was created. This is shown once.[/]")
            out.print(f"  email:    {admin.email}\n  password: {admin.password}\n  token:    {admin.token}")
            out.print(f"  try:      WARROOM_TOKEN={admin.token} warroom incidents")
        if incident:
            out.print(f"demo organisation loaded (closed incident INC-{incident.id})")
            await _print_integrations(db, settings)

    with_db(settings, work)
    return loaded


async def _print_integrations(db: SessionFactories, settings: Settings) -> None:
    from warroom.alerts.integrations import intake_url, list_integrations

    async with db.read() as session:
        for integration, slug, _ in await list_integrations(session=session):
            how_to = intake_url(settings.resolved_base_url(), integration.kind, integration.key)[1]
            out.print(f"  {integration.kind} -> {slug}: {how_to}", highlight=False)


@app.command()
def run(
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the demo organisation.")] = True,
) -> None:
    """Migrate, create the first admin and demo data, then serve (API and UI) in one process."""
    settings = Settings()
    loaded = prepare(settings, with_demo=demo_data)
    _serve(settings, loaded, run_worker=True)


@app.command()
def serve(
    processes: Annotated[
        int,
        typer.Option("--processes", min=1, max=64, help="Server processes sharing the port (PostgreSQL)."),
    ] = 1,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Run the job worker in this process too (the way for SQLite, which admits one writer).",
        ),
    ] = False,
) -> None:
    """Serve the API and UI (expects a migrated database). Run `warroom worker` beside it for jobs."""
    if with_worker and processes > 1:
        raise typer.BadParameter("--with-worker needs --processes 1; run `warroom worker` beside them")
    settings = Settings()
    settings.ensure_secret_key()  # before any process forks: they must all sign with one key
    _serve(settings, _procedure(settings), processes=processes, run_worker=with_worker)


def _serve(
    settings: Settings, loaded: LoadedProcedure, *, run_worker: bool = False, processes: int = 1
) -> None:
    import uvicorn

    from warroom.app import create_app
    from warroom.logging import configure_logging

    configure_logging(settings.log_level)
    out.print(f"warroom {__version__} serving on {settings.resolved_base_url()} ({processes} process(es))")
    common = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
    }
    if processes > 1:
        # Each process builds its app from the environment; every one of them answers on the same port.
        uvicorn.run("warroom.app:app_from_environment", factory=True, workers=processes, **common)  # type: ignore[arg-type]
        return
    uvicorn.run(create_app(settings, procedure=loaded, run_worker=run_worker), **common)  # type: ignore[arg-type]


@procedure_app.command("check")
def procedure_check(file: Annotated[Path, typer.Argument(help="The procedure.yaml to validate.")]) -> None:
    """Validate a procedure file; print every problem with its line, and exit non-zero if any."""
    loaded = load_procedure_file(file)
    p = loaded.procedure
    out.print(
        f"{file}: ok ({p.name} {p.version}, version {loaded.version_hash[:12]}; "
        f"{len(p.severities)} severities, {len(p.roles)} roles, {len(p.phases)} phases)"
    )


@procedure_app.command("render")
def procedure_render(
    file: Annotated[
        Path | None, typer.Argument(help="Default: WARROOM_PROCEDURE or the shipped one.")
    ] = None,
) -> None:
    """Print the procedure as a readable Markdown SOP."""
    loaded = load_procedure_file(file) if file else _procedure(Settings())
    sys.stdout.write(render_markdown(loaded))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every incident's hash chain; name the first broken link of each broken chain."""

    async def work(db: SessionFactories) -> tuple[int, int, list[str]]:
        async with db.read() as session:
            report = await verify_all(session=session)
        return report.incidents_checked, report.events_checked, [str(b) for b in report.broken]

    incidents, events, broken = with_db(Settings(), work)
    if broken:
        for line in broken:
            err.print(f"[red]broken:[/] {line}")
        raise CommandFailed(f"audit failed: {len(broken)} of {incidents} timelines do not verify")
    out.print(f"audit ok: {incidents} incidents, {events} timeline events, every chain verifies")


@user_app.command("create")
def user_create(
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

    async def work(db: SessionFactories) -> str:
        async with db.write() as session:
            user = await auth.find_user(session=session, email=email)
            if user is None:
                user = await auth.create_user(
                    session=session,
                    email=email,
                    name=name,
                    role=role or Role.responder.value,
                    password=secret,
                    now=SystemClock().now(),
                )
                verb = "created"
            else:
                await auth.set_password(session=session, user=user, password=secret)
                if role is not None:
                    await auth.set_role(session=session, user=user, role=role)
                verb = "updated"
            await session.commit()
            return f"user {user.email} ({user.role}) {verb}"

    out.print(with_db(Settings(), work))


@user_app.command("list")
def user_list() -> None:
    """List users and their roles."""

    async def work(db: SessionFactories) -> list[str]:
        async with db.read() as session:
            return [f"{u.id}\t{u.email}\t{u.role}\t{u.name}" for u in await auth.list_users(session=session)]

    for line in with_db(Settings(), work):
        out.print(line, highlight=False)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="Whose token; the user is created if missing.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    role: Annotated[
        str, typer.Option(help="Role for a user created here (an existing user keeps theirs).")
    ] = Role.responder.value,
) -> None:
    """Print a new API token (shown once; only its hash is stored)."""

    async def work(db: SessionFactories) -> str:
        now = SystemClock().now()
        async with db.write() as session:
            user = await auth.find_user(session=session, email=email)
            if user is None:
                user = await auth.create_user(session=session, email=email, name="", role=role, now=now)
            issued = await auth.create_token(session=session, user=user, name=name, now=now)
            await session.commit()
            return issued.secret

    sys.stdout.write(with_db(Settings(), work) + "\n")


def main() -> None:
    """Entry point: every known failure is one readable line on stderr and a non-zero exit."""
    try:
        code = app(standalone_mode=False)
    except ProcedureInvalid as error:
        for problem in error.problems:
            err.print(str(problem), highlight=False, markup=False)
        err.print(f"error: the procedure has {len(error.problems)} problem(s)", highlight=False)
        sys.exit(1)
    except (DomainError, CommandFailed, operator_cli.ApiFailure) as error:
        err.print(f"error: {error}", highlight=False, markup=False)
        sys.exit(1)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except SQLAlchemyError as error:
        hint = (
            " (is the database migrated? run `warroom migrate`)"
            if isinstance(error, OperationalError)
            else ""
        )
        err.print(f"error: database: {str(error).splitlines()[0]}{hint}", markup=False, highlight=False)
        sys.exit(1)
    except ValidationError as error:
        for bad in error.errors():
            name = "WARROOM_" + "_".join(str(p) for p in bad["loc"]).upper()
            err.print(f"error: setting {name}: {bad['msg']}", markup=False, highlight=False)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)

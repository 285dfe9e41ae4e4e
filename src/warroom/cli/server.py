"""The commands that install and run warroom: version, migrate, demo, run, serve and worker."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Annotated, Any

import typer

from warroom import __version__
from warroom.bootstrap import create_first_admin
from warroom.cli.common import configured_procedure, out, runtime_of, with_context, wrapping_out
from warroom.cli.runtime import Runtime
from warroom.config import Settings
from warroom.context import AppContext
from warroom.logging import configure_logging
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.service import register_version


def migrate() -> None:
    """Bring the database schema up to date (SQLite or PostgreSQL, from WARROOM_DATABASE_URL)."""
    from warroom.migrate import upgrade  # here, as in prepare: Alembic is for these two only

    settings = Settings()
    upgrade(settings.resolved_database_url())
    out.print("database is up to date")


def demo(ctx: typer.Context) -> None:
    """Load the demo organisation (teams, people, services, one closed incident). Idempotent."""
    from warroom.demo import load_demo  # here, as in _first_run: it loads nearly every domain

    settings = Settings()
    loaded = configured_procedure(settings)

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            await register_version(session=session, loaded=loaded, now=context.clock.now())
            incident = await load_demo(
                session=session, loaded=loaded, now=context.clock.now(), base_url=settings.resolved_base_url()
            )
            await session.commit()
        return f"demo loaded: INC-{incident.id}" if incident else "demo data is already loaded"

    out.print(with_context(runtime_of(ctx), settings, work, procedure=loaded))


def prepare(runtime: Runtime, settings: Settings, *, with_demo: bool) -> LoadedProcedure:
    """Everything `run` does before it serves: procedure check, migrations, first admin, demo data."""
    from warroom.migrate import upgrade

    loaded = configured_procedure(settings)  # a broken procedure stops here, before anything is served
    settings.ensure_secret_key()
    upgrade(settings.resolved_database_url())

    async def work(context: AppContext) -> None:
        await _first_run(context, with_demo=with_demo)

    with_context(runtime, settings, work, procedure=loaded)
    return loaded


async def _first_run(context: AppContext, *, with_demo: bool) -> None:
    from warroom.demo import load_demo

    settings, loaded, now = context.settings, context.procedure, context.clock.now()
    async with context.db.write() as session:
        await register_version(session=session, loaded=loaded, now=now)
        admin = await create_first_admin(session=session, email=settings.admin_email, now=now)
        incident = (
            await load_demo(session=session, loaded=loaded, now=now, base_url=settings.resolved_base_url())
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
        await _print_integrations(context)


async def _print_integrations(context: AppContext) -> None:
    from warroom.alerts.integrations import intake_url, list_integrations

    async with context.db.read() as session:
        for row in await list_integrations(session=session):
            i = row.integration
            how_to = intake_url(context.settings.resolved_base_url(), i.kind, i.key)[1]
            out.print(f"  {i.kind} -> {row.service}: {how_to}", highlight=False)


def run(
    ctx: typer.Context,
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the demo organisation.")] = True,
) -> None:
    """Migrate, create the first admin and demo data, then serve (API and UI) in one process."""
    runtime = runtime_of(ctx)
    settings = Settings()
    loaded = prepare(runtime, settings, with_demo=demo_data)
    _serve(runtime, settings, loaded, run_worker=True)


def serve(
    ctx: typer.Context,
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
    if processes > 1 and settings.resolved_database_url().startswith("sqlite"):
        raise typer.BadParameter(
            "--processes needs PostgreSQL: SQLite admits one writer, so one server process (docs/deploy.md)"
        )
    settings.ensure_secret_key()  # before any process forks: they must all sign with one key
    loaded = configured_procedure(settings)
    _serve(runtime_of(ctx), settings, loaded, processes=processes, run_worker=with_worker)


def _serve(
    runtime: Runtime,
    settings: Settings,
    loaded: LoadedProcedure,
    *,
    run_worker: bool = False,
    processes: int = 1,
) -> None:
    import uvicorn

    configure_logging(settings.log_level)
    out.print(f"warroom {__version__} serving on {settings.resolved_base_url()} ({processes} process(es))")
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        # Forwarded headers are the app's to judge (WARROOM_TRUSTED_PROXIES, warroom.http_security);
        # uvicorn's default would trust them from 127.0.0.1 whatever the setting says.
        "proxy_headers": False,
        "http": one_write_protocol(),
    }
    if processes > 1:
        # Each process builds its app from the environment; every one of them answers on the same port.
        uvicorn.run(runtime.app_factory, factory=True, workers=processes, **common)
        return
    uvicorn.run(runtime.create_app(settings, procedure=loaded, run_worker=run_worker), **common)


def one_write_protocol() -> Any:
    """uvicorn's httptools protocol writing a response's head and body together (warroom.http_writes), or
    uvicorn's own choice where httptools is not installed."""
    try:
        from warroom.http_writes import OneWriteHttpToolsProtocol
    except ImportError:  # httptools (uvicorn[standard]) missing: uvicorn picks h11
        return "auto"
    return OneWriteHttpToolsProtocol


def worker(ctx: typer.Context) -> None:
    """Run the job worker (triage, escalation steps, deliveries, chat, status notices, periodic checks)
    until stopped."""
    runtime = runtime_of(ctx)
    settings = Settings()
    settings.ensure_secret_key()  # ack links and webhook signatures must match the server's
    configure_logging(settings.log_level)

    async def run() -> None:
        context = runtime.context(settings)
        runtime.freeze_startup_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await runtime.run_worker(context, stop)
        finally:
            await context.db.engine.dispose()

    wrapping_out.print("warroom worker running (Ctrl-C to stop)")
    with asyncio.Runner(loop_factory=fast_event_loop()) as runner:
        runner.run(run())


def fast_event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (uvicorn[standard] brings it on Linux and macOS), as the
    server runs on. The worker waits on the database for every statement; on uvloop, at 500 alerts/s on
    PostgreSQL, intake-to-page inside the server went from p50 575-597 / p99 881-947 ms to 462-478 /
    819-829 ms (two runs each), for the same CPU."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def register(app: typer.Typer) -> None:
    # In this order, worker first, as `warroom --help` has always listed them.
    for command in (worker, migrate, demo, run, serve):
        app.command()(command)

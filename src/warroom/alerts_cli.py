"""CLI for integrations (admin, on the database), alerts (operator, through the API) and the worker."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from warroom.alerts.intake.replay import replay
from warroom.alerts.integrations import create_integration, intake_url, list_integrations, rotate_key
from warroom.alerts.integrations import get_integration as find_integration
from warroom.alerts.schemas import INTEGRATION_KINDS, IntegrationCreate
from warroom.clock import SystemClock
from warroom.config import Settings
from warroom.db import SessionFactories
from warroom.errors import invalid
from warroom.operator_cli import call

out = Console()
integration_app = typer.Typer(help="Manage alert integrations (intake URLs and keys).", no_args_is_help=True)
alerts_app = typer.Typer(help="List alerts (through the API), or replay them from raw requests.")


def _describe(kind: str, key: str, settings: Settings) -> str:
    url, how_to = intake_url(settings.resolved_base_url(), kind, key)
    return f"intake URL: {url}\nkey:        {key}\nhow to:     {how_to}"


def integration_create(
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(INTEGRATION_KINDS)}.")],
    service: Annotated[str, typer.Option(help="The default service's slug.")],
    name: Annotated[str, typer.Option(help="A name people recognise.")] = "",
    signing_secret: Annotated[str | None, typer.Option(help="Grafana: verify its signature.")] = None,
) -> None:
    """Create an integration and print its intake URL and key."""
    from warroom.cli import with_db

    if kind not in INTEGRATION_KINDS:
        raise invalid("kind", f"unknown kind {kind!r}; allowed: {', '.join(INTEGRATION_KINDS)}")
    data = IntegrationCreate(kind=kind, service=service, name=name, signing_secret=signing_secret)
    settings = Settings()

    async def work(db: SessionFactories) -> str:
        async with db.write() as session:
            created = await create_integration(session=session, data=data, now=SystemClock().now())
            await session.commit()
            return f"integration {created.id} ({created.kind}) created\n" + _describe(
                created.kind, created.key, settings
            )

    out.print(with_db(settings, work), highlight=False)


def integration_list() -> None:
    """List integrations with their intake URLs and when each last received something."""
    from warroom.cli import with_db

    settings = Settings()

    async def work(db: SessionFactories) -> list[tuple[Any, ...]]:
        async with db.read() as session:
            return [
                (i.id, i.kind, i.name, slug, intake_url(settings.resolved_base_url(), i.kind, i.key)[0], last)
                for i, slug, last in await list_integrations(session=session)
            ]

    table = Table()
    for column in ("Id", "Kind", "Name", "Service", "Intake URL", "Last event"):
        table.add_column(column)
    for row in with_db(settings, work):
        table.add_row(*(str(v) if v is not None else "-" for v in row))
    out.print(table)


def integration_rotate(integration_id: Annotated[int, typer.Argument(help="The integration's id.")]) -> None:
    """Give an integration a new key (the old one stops working) and print it."""
    from warroom.cli import with_db

    settings = Settings()

    async def work(db: SessionFactories) -> str:
        async with db.write() as session:
            row = await find_integration(session=session, integration_id=integration_id)
            key = await rotate_key(session=session, integration=row, now=SystemClock().now())
            await session.commit()
            return _describe(row.kind, key, settings)

    out.print(with_db(settings, work), highlight=False)


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option(help="triggered, acknowledged, resolved (repeatable).")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Service slug.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List alerts as a table, most recent first."""
    if ctx.invoked_subcommand is not None:
        return
    params: dict[str, Any] = {"status": status or [], "limit": limit}
    if service:
        params["service"] = service
    page = call("GET", "/api/v1/alerts", params=params)
    table = Table(title=f"{page['total']} alert(s)")
    for column in ("#", "Status", "Sev", "Service", "Title", "Count", "Last seen", "Key", "Incident"):
        table.add_column(column)
    for a in page["items"]:
        table.add_row(
            str(a["id"]),
            a["status"],
            a["severity"],
            a["service"] or "-",
            a["title"][:60],
            str(a["count"]),
            a["last_seen_at"][:19].replace("T", " "),
            a["dedup_key"][:24],
            a["incident"] or "-",
        )
    out.print(table)


@alerts_app.command("replay")
def alerts_replay(
    integration: Annotated[
        list[int] | None, typer.Option(help="Only these integration ids (repeatable).")
    ] = None,
) -> None:
    """Re-derive alerts from the stored raw requests (admin, on the database)."""
    from warroom.cli import with_db

    async def work(db: SessionFactories) -> str:
        async with db.write() as session:
            report = await replay(session=session, integration_ids=integration or None)
            await session.commit()
        return (
            f"replayed {report.requests} request(s) into {report.alerts} alert(s); {report.rejected} rejected"
        )

    out.print(with_db(Settings(), work))


def ack(ref: Annotated[str, typer.Argument(help="The alert's number, uid or dedup key.")]) -> None:
    """Acknowledge an alert."""
    alert = call("POST", f"/api/v1/alerts/{ref}/acknowledge")
    out.print(f"alert {alert['id']} ({alert['dedup_key']}) is {alert['status']}", highlight=False)


def unack(ref: Annotated[str, typer.Argument(help="The alert's number, uid or dedup key.")]) -> None:
    """Unacknowledge an alert: it is triggered again and paging restarts from the first step."""
    alert = call("POST", f"/api/v1/alerts/{ref}/unacknowledge")
    out.print(f"alert {alert['id']} ({alert['dedup_key']}) is {alert['status']}", highlight=False)


def worker() -> None:
    """Run the job worker (triage, escalation steps, deliveries, chat, status notices, periodic checks)
    until stopped."""
    from warroom.app import freeze_startup_heap
    from warroom.logging import configure_logging
    from warroom.wiring import build_context, new_worker

    settings = Settings()
    settings.ensure_secret_key()  # ack links and webhook signatures must match the server's
    configure_logging(settings.log_level)

    async def run() -> None:
        context = build_context(settings, None, None)
        freeze_startup_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await new_worker(context).run_forever(stop)
        finally:
            await context.db.engine.dispose()

    out.print("warroom worker running (Ctrl-C to stop)")
    asyncio.run(run())


def register(app: typer.Typer) -> None:
    integration_app.command("create")(integration_create)
    integration_app.command("list")(integration_list)
    integration_app.command("rotate")(integration_rotate)
    app.add_typer(integration_app, name="integration")
    app.add_typer(
        alerts_app, name="alerts", rich_help_panel="Operator (talk to a server: WARROOM_URL, WARROOM_TOKEN)"
    )
    for command in (ack, unack):
        app.command(rich_help_panel="Operator (talk to a server: WARROOM_URL, WARROOM_TOKEN)")(command)
    app.command()(worker)

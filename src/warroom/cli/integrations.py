"""`warroom integration ...`: alert integrations (intake URLs and keys), admin commands on the database.

They print keys: whoever runs them holds the database's credentials (and so every key) already, which
makes them admins. A person without those reads integrations through the API, which hides keys from
all but admins and the owning team's responders."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from warroom.alerts.integrations import create_integration, intake_url, list_integrations, rotate_key
from warroom.alerts.integrations import get_integration as find_integration
from warroom.alerts.schemas import INTEGRATION_KINDS, IntegrationCreate
from warroom.cli.common import runtime_of, with_context
from warroom.cli.common import wrapping_out as out
from warroom.config import Settings
from warroom.context import AppContext
from warroom.errors import invalid

integration_app = typer.Typer(help="Manage alert integrations (intake URLs and keys).", no_args_is_help=True)


def _describe(kind: str, key: str, settings: Settings) -> str:
    url, how_to = intake_url(settings.resolved_base_url(), kind, key)
    return f"intake URL: {url}\nkey:        {key}\nhow to:     {how_to}"


@integration_app.command("create")
def integration_create(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(INTEGRATION_KINDS)}.")],
    service: Annotated[str, typer.Option(help="The default service's slug.")],
    name: Annotated[str, typer.Option(help="A name people recognise.")] = "",
    signing_secret: Annotated[str | None, typer.Option(help="Grafana: verify its signature.")] = None,
) -> None:
    """Create an integration and print its intake URL and key."""
    if kind not in INTEGRATION_KINDS:
        raise invalid("kind", f"unknown kind {kind!r}; allowed: {', '.join(INTEGRATION_KINDS)}")
    data = IntegrationCreate(kind=kind, service=service, name=name, signing_secret=signing_secret)
    settings = Settings()

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            created = await create_integration(session=session, data=data, now=context.clock.now())
            await session.commit()
            return f"integration {created.id} ({created.kind}) created\n" + _describe(
                created.kind, created.key, settings
            )

    out.print(with_context(runtime_of(ctx), settings, work), highlight=False)


@integration_app.command("list")
def integration_list(ctx: typer.Context) -> None:
    """List integrations with their intake URLs and when each last received something."""
    settings = Settings()
    base = settings.resolved_base_url()

    async def work(context: AppContext) -> list[tuple[Any, ...]]:
        async with context.db.read() as session:
            return [
                (i.id, i.kind, i.name, row.service, intake_url(base, i.kind, i.key)[0], row.last_event_at)
                for row in await list_integrations(session=session)
                for i in (row.integration,)
            ]

    table = Table()
    for column in ("Id", "Kind", "Name", "Service", "Intake URL", "Last event"):
        table.add_column(column)
    for row in with_context(runtime_of(ctx), settings, work):
        table.add_row(*(str(v) if v is not None else "-" for v in row))
    out.print(table)


@integration_app.command("rotate")
def integration_rotate(
    ctx: typer.Context, integration_id: Annotated[int, typer.Argument(help="The integration's id.")]
) -> None:
    """Give an integration a new key (the old one stops working) and print it."""
    settings = Settings()

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            row = await find_integration(session=session, integration_id=integration_id)
            key = await rotate_key(session=session, integration=row, now=context.clock.now())
            await session.commit()
            return _describe(row.kind, key, settings)

    out.print(with_context(runtime_of(ctx), settings, work), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(integration_app, name="integration")

"""`warroom alerts`, `ack`, `unack` (operator, through the API); `alerts replay` (admin, on the database)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

if TYPE_CHECKING:
    from warroom.context import AppContext

alerts_app = typer.Typer(help="List alerts (through the API), or replay them from raw requests.")


@alerts_app.callback(invoke_without_command=True)
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        list[str] | None, typer.Option(help="triggered, acknowledged, resolved (repeatable).")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Service slug.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List alerts as a table, most recent first."""
    if ctx.invoked_subcommand is not None:
        return
    params: dict[str, Any] = {"status": status or [], "limit": limit}
    if service:
        params["service"] = service
    page = call("GET", "/api/v1/alerts", params=params)
    if as_json:
        return print_json(page)
    more = "" if page.get("total_exact", True) else "+"  # past 10,000 the count is a lower bound
    table = Table(title=f"{page['total']:,}{more} alert(s)")
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
    ctx: typer.Context,
    integration: Annotated[
        list[int] | None, typer.Option(help="Only these integration ids (repeatable).")
    ] = None,
) -> None:
    """Re-derive alerts from the stored raw requests (admin, on the database)."""
    from warroom.alerts.intake.replay import replay  # here: it loads every intake format and domain
    from warroom.cli.common import runtime_of, with_context  # and these, the settings and the database
    from warroom.config import Settings

    async def work(context: AppContext) -> str:
        async with context.db.write() as session:
            report = await replay(session=session, integration_ids=integration or None)
            await session.commit()
        return (
            f"replayed {report.requests} request(s) into {report.alerts} alert(s); {report.rejected} rejected"
        )

    out.print(with_context(runtime_of(ctx), Settings(), work))


def ack(ref: Annotated[str, typer.Argument(help="The alert's number, uid or dedup key.")]) -> None:
    """Acknowledge an alert."""
    alert = call("POST", f"/api/v1/alerts/{ref}/acknowledge")
    out.print(f"alert {alert['id']} ({alert['dedup_key']}) is {alert['status']}", highlight=False)


def unack(ref: Annotated[str, typer.Argument(help="The alert's number, uid or dedup key.")]) -> None:
    """Unacknowledge an alert: it is triggered again and paging restarts from the first step."""
    alert = call("POST", f"/api/v1/alerts/{ref}/unacknowledge")
    out.print(f"alert {alert['id']} ({alert['dedup_key']}) is {alert['status']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts", rich_help_panel=OPERATOR_PANEL)
    for command in (ack, unack):
        app.command(rich_help_panel=OPERATOR_PANEL)(command)

"""`warroom stakeholders ...`: the stakeholder lists, as a thin HTTP client of /api/v1/stakeholders."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

stakeholders_app = typer.Typer(help="Who gets each audience's stakeholder updates.", no_args_is_help=True)


@stakeholders_app.command("list")
def list_recipients(
    audience: Annotated[str | None, typer.Option(help="Only this audience.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Everyone on the stakeholder lists, by audience."""
    rows = call("GET", "/api/v1/stakeholders", params={"audience": audience} if audience else {})
    if as_json:
        return print_json(rows)
    table = Table(title=f"{len(rows)} stakeholder recipient(s)")
    for column in ("id", "audience", "channel", "address", "label"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["id"]), row["audience"], row["channel"], row["address"], row["label"])
    out.print(table)


@stakeholders_app.command("add")
def add_recipient(
    audience: Annotated[str, typer.Argument(help="An audience id from the procedure, e.g. executives.")],
    address: Annotated[str, typer.Argument(help="Email address, webhook URL or Apprise URL.")],
    channel: Annotated[str, typer.Option(help="email, webhook, apprise or log.")] = "email",
    label: Annotated[str, typer.Option(help="A name for the list entry.")] = "",
) -> None:
    """Put an address on an audience's list."""
    body = {"audience": audience, "channel": channel, "address": address, "label": label}
    row = call("POST", "/api/v1/stakeholders", json=body)
    out.print(f"added {row['address']} to {row['audience']} (id {row['id']})", highlight=False)


@stakeholders_app.command("remove")
def remove_recipient(recipient_id: Annotated[int, typer.Argument(help="The id `list` shows.")]) -> None:
    """Take an entry off its list."""
    call("DELETE", f"/api/v1/stakeholders/{recipient_id}")
    out.print(f"removed {recipient_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(stakeholders_app, name="stakeholders", rich_help_panel=OPERATOR_PANEL)

"""`warroom preparedness` (operator, through the API): each service's and responder's score, what to fix."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL
from warroom.cli.output import wrapping_out as out


def _table(title: str, items: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    table.add_column("who", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("to fix")
    for item in sorted(items, key=lambda i: (i["score"], i["ref"])):
        table.add_row(item["ref"], f"{item['score']}%", "; ".join(item["to_fix"]) or "-")
    return table


def preparedness(
    as_json: Annotated[bool, typer.Option("--json", help="The API's answer, for scripts.")] = False,
) -> None:
    """How ready each service and responder is for the next incident, least ready first, and what to fix."""
    body = call("GET", "/api/v1/preparedness")
    if as_json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    out.print(_table("Services", body["services"]))
    out.print(_table("Responders", body["people"]))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=OPERATOR_PANEL)(preparedness)

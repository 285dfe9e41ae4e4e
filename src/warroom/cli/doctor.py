"""`warroom doctor`: every configured integration checked by the server, now, without side effects (admins,
through the API); exits 1 when any check fails."""

from __future__ import annotations

import typer
from rich.table import Table

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

MARKS = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}


def doctor(as_json: JsonOption = False) -> None:
    """Check Slack, Teams, Mattermost, SMTP, Apprise URLs, webhooks, Jira and feeds; say what to fix."""
    found = call("POST", "/api/v1/doctor/run")
    failing = [f for f in found if f["status"] == "fail"]
    if as_json:
        print_json(found)
    else:
        table = Table("check", "", "detail", "how to fix it")
        for finding in found:
            table.add_row(finding["check"], MARKS[finding["status"]], finding["detail"], finding["fix"])
        out.print(table)
        out.print(
            f"{len(found)} checks: {len(found) - len(failing)} passing, {len(failing)} failing",
            highlight=False,
        )
    if failing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=OPERATOR_PANEL)(doctor)

"""`warroom drill end` (operator, through the API): end a drill: paging stops, alerts resolved, closed."""

from __future__ import annotations

from typing import Annotated

import typer

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL
from warroom.cli.output import wrapping_out as out

drill_app = typer.Typer(help="Drills: exercises run through the real pipeline.", no_args_is_help=True)


@drill_app.command("end")
def drill_end(ref: Annotated[str, typer.Argument(help="The drill's incident, e.g. INC-42.")]) -> None:
    """End a drill: every page it started stops, its alerts are resolved, it is closed as a drill."""
    alerts = call("POST", f"/api/v1/incidents/{ref}/drill/end")
    out.print(f"{ref}: drill ended; {alerts['total']} alert(s) on it, all resolved", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill", rich_help_panel=OPERATOR_PANEL)

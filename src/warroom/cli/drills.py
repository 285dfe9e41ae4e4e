"""`warroom drill start|list|report|end` (operator, through the API): run drills and read their reports."""

from __future__ import annotations

from typing import Annotated

import typer

from warroom.cli.api_client import call, when
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

drill_app = typer.Typer(help="Drills: exercises run through the real pipeline.", no_args_is_help=True)


@drill_app.command("end")
def drill_end(ref: Annotated[str, typer.Argument(help="The drill's incident, e.g. INC-42.")]) -> None:
    """End a drill: every page it started stops, its alerts are resolved, it is closed as a drill."""
    alerts = call("POST", f"/api/v1/incidents/{ref}/drill/end")
    out.print(f"{ref}: drill ended; {alerts['total']} alert(s) on it, all resolved", highlight=False)


@drill_app.command("start")
def drill_start(
    scenario: Annotated[str, typer.Argument(help="A shipped scenario id, e.g. database-failover.")],
    at: Annotated[str, typer.Option(help="Game day: when (ISO 8601). Unannounced: the window's start.")],
    until: Annotated[
        str | None, typer.Option(help="Unannounced: the window's end (a random time inside).")
    ] = None,
    team: Annotated[
        str | None, typer.Option(help="The team drilled (slug); else the service's team.")
    ] = None,
) -> None:
    """Schedule a drill: a game day at --at, or unannounced somewhere in --at..--until."""
    body = {"scenario": scenario, "mode": "unannounced" if until else "game_day", "starts_at": at}
    if until:
        body["ends_at"] = until
    if team:
        body["team"] = team
    run = call("POST", "/api/v1/drills", json=body)
    out.print(f"drill {run['id']}: {run['title']} ({run['mode']}, window {when(run['window_start'])} .. "
              f"{when(run['window_end'])})", highlight=False)  # fmt: skip


@drill_app.command("list")
def drill_list(as_json: JsonOption = False) -> None:
    """Every drill with its window; an unannounced drill's chosen time is never shown."""
    runs = call("GET", "/api/v1/drills")
    if as_json:
        return print_json(runs)
    for run in runs:
        state = (
            f"incident {run['incident_id']}"
            if run["incident_id"]
            else ("fired" if run["fired"] else "waiting")
        )
        window = f"{when(run['window_start'])} .. {when(run['window_end'])}"
        out.print(
            f"{run['id']:>4}  {run['mode']:<11} {run['scenario_id']:<28} {window}  {state}", highlight=False
        )
    return None


def _minutes(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds // 60}m{seconds % 60:02d}s"


@drill_app.command("report")
def drill_report(
    drill_id: Annotated[int, typer.Argument(help="The drill's number.")], as_json: JsonOption = False
) -> None:
    """Each measure beside the procedure's target and the gap; findings marked with '!'."""
    report = call("GET", f"/api/v1/drills/{drill_id}/report")
    if as_json:
        return print_json(report)
    if not report["measures"]:
        out.print(
            f"drill {drill_id}: nothing to measure yet (not fired, or no incident yet)", highlight=False
        )
    for m in report["measures"]:
        mark = "!" if m["finding"] else " "
        out.print(f"{mark} {m['name']:<40} took {_minutes(m['took_seconds']):>8}  target "
                  f"{_minutes(m['target_seconds']):>8}  gap {_minutes(m['gap_seconds']):>8}  {m['note']}",
                  highlight=False, markup=False)  # fmt: skip
    return None


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill", rich_help_panel=OPERATOR_PANEL)

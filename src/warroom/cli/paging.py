"""`warroom page`, `warroom escalate` and `warroom problem` (operator, through the API): page someone into
an incident, escalate to its commander, report a problem."""

from __future__ import annotations

from typing import Annotated

import typer

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out


def page(
    ref: Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")],
    target: Annotated[
        str, typer.Argument(help="user:<email>, schedule:<slug>, team:<slug> or service:<slug>.")
    ],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why you page them.")],
) -> None:
    """Page a user, schedule, team or service's on-call into an incident."""
    kind, _, name = target.partition(":")
    answer = call("POST", f"/api/v1/incidents/{ref}/page", json={"kind": kind, "ref": name, "reason": reason})
    out.print(f"{ref}: paged {answer['paged']}", highlight=False)


def escalate(
    ref: Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the commander is needed.")],
) -> None:
    """Page the incident's current commander with the reason."""
    answer = call("POST", f"/api/v1/incidents/{ref}/escalate", json={"reason": reason})
    out.print(f"{ref}: paged {answer['paged']}", highlight=False)


def problem(
    what: Annotated[str, typer.Argument(help="What is wrong, e.g. 'the site is down'.")],
    service: Annotated[str, typer.Option("--service", "-s", help="The affected service's slug.")],
    seeing: Annotated[str, typer.Option("--seeing", help="What you see.")] = "",
) -> None:
    """Report a problem: opens a triage incident and pages the service's on-call."""
    answer = call("POST", "/api/v1/reports", json={"what": what, "service": service, "seeing": seeing})
    out.print(f"{answer['ref']} opened at {answer['severity']}; {answer['next']}", highlight=False)


def blast(
    ref: Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")], as_json: JsonOption = False
) -> None:
    """Its blast radius: upstream services in trouble (likely cause), downstream ones (likely affected)."""
    found = call("GET", f"/api/v1/incidents/{ref}/blast-radius")
    if as_json:
        return print_json(found)
    for side, label in (("upstream", "upstream, in trouble"), ("downstream", "downstream")):
        for n in found[side]:
            trouble = f" {n['open_alerts']} open alert(s)" if n["open_alerts"] else ""
            named = f" {', '.join(n['incidents'])}" if n["incidents"] else ""
            out.print(f"{label:<22} {n['service']:<20} depth {n['depth']}{trouble}{named}", highlight=False)
    if not found["upstream"] and not found["downstream"]:
        out.print(f"{ref}: nothing upstream in trouble, nothing downstream", highlight=False)
    return None


def register(app: typer.Typer) -> None:
    for command in (page, escalate, problem, blast):
        app.command(rich_help_panel=OPERATOR_PANEL)(command)

"""`warroom observable add|list` and `warroom asset add|list` (operator, through the API)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

observable_app = typer.Typer(help="Observables (indicators) on an incident.", no_args_is_help=True)
asset_app = typer.Typer(help="Assets (hosts, accounts, cloud resources) and their attack surfaces.",
                        no_args_is_help=True)  # fmt: skip
Ref = Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")]


@observable_app.command("add")
def observable_add(
    ref: Ref,
    values: Annotated[
        list[str] | None, typer.Argument(help="Values; `-` reads one per line from stdin.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--type", help="Their type; guessed when left out.")] = None,
    tlp: Annotated[str | None, typer.Option(help="clear, green, amber, amber+strict or red.")] = None,
    ioc: Annotated[bool, typer.Option("--ioc", help="Mark them as indicators of compromise.")] = False,
) -> None:
    """Add observables: each validated and normalised for its type (refanged), merged if already there."""
    lines = sys.stdin.read().splitlines() if values == ["-"] else list(values or [])
    text = "\n".join(f"{kind}: {v}" if kind else v for v in lines)
    answer = call("POST", f"/api/v1/incidents/{ref}/observables", json={"text": text, "tlp": tlp, "ioc": ioc})
    out.print(f"{ref}: {len(answer['added'])} added, {len(answer['merged'])} already there, "
              f"{len(answer['refused'])} refused", highlight=False)  # fmt: skip
    for refused in answer["refused"]:
        out.print(f"  line {refused['line']}: {refused['problem']}", highlight=False, markup=False)


@observable_app.command("list")
def observable_list(ref: Ref, as_json: JsonOption = False) -> None:
    """The incident's observables with their TLP."""
    found = call("GET", f"/api/v1/incidents/{ref}/observables")
    if as_json:
        return print_json(found)
    for o in found:
        flags = " ioc" if o["ioc"] else ""
        out.print(f"{o['id']:>5}  TLP:{o['tlp'].upper():<12} {o['type']:<12} {o['value']}{flags}",
                  highlight=False, markup=False)  # fmt: skip
    return None


@asset_app.command("add")
def asset_add(
    ref: Ref,
    name: Annotated[str, typer.Argument(help="e.g. fs-01, svc-backup, arn:aws:s3:::bucket")],
    kind: Annotated[
        str, typer.Option(help="host, account, cloud_resource, service, mailbox, network, other")
    ],
    surface: Annotated[str, typer.Option(help="endpoint, cloud, network, identity, email, application")],
) -> None:
    """Link an asset (made if new) to the incident; prints the surfaces involved."""
    answer = call("POST", f"/api/v1/incidents/{ref}/assets",
                  json={"new": {"kind": kind, "name": name, "surface": surface}})  # fmt: skip
    multi = " (multi-vector)" if answer["multi_vector"] else ""
    out.print(f"{ref}: surfaces {', '.join(answer['surfaces'])}{multi}", highlight=False)


@asset_app.command("list")
def asset_list(as_json: JsonOption = False) -> None:
    """Every known asset."""
    found = call("GET", "/api/v1/assets")
    if as_json:
        return print_json(found)
    for a in found:
        out.print(
            f"{a['id']:>5}  {a['kind']:<15} {a['surface']:<12} {a['name']}", highlight=False, markup=False
        )
    return None


def register(app: typer.Typer) -> None:
    app.add_typer(observable_app, name="observable", rich_help_panel=OPERATOR_PANEL)
    app.add_typer(asset_app, name="asset", rich_help_panel=OPERATOR_PANEL)

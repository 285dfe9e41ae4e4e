"""`warroom intel feeds|add|poll|indicators|sightings|hunt` (through the API): threat-intel feeds and what
they found."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from warroom.cli.api_client import call, when
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out

intel_app = typer.Typer(help="Threat intel: feeds, indicators, sightings, hunting.", no_args_is_help=True)
SAMPLE = Path(__file__).resolve().parent.parent / "intel" / "samples" / "known-bad.stix.json"


@intel_app.command("feeds")
def feeds(as_json: JsonOption = False) -> None:
    """Every feed with its state: indicators, last success, last error, what the last poll did."""
    found = call("GET", "/api/v1/intel/feeds")
    if as_json:
        print_json(found)
        return
    table = Table("feed", "kind", "indicators", "last success", "last poll", "problem")
    for f in found:
        counts = f["last_counts"]
        did = (
            f"+{counts.get('added', 0)} ~{counts.get('updated', 0)} x{counts.get('rejected', 0)}"
            if counts
            else "-"
        )
        table.add_row(
            f["slug"], f["kind"], str(f["indicators"]), when(f["last_success_at"]), did, f["last_error"] or ""
        )
    out.print(table)


@intel_app.command("add")
def add(
    slug: Annotated[str, typer.Argument(help="Its name in URLs and commands.")],
    kind: Annotated[str, typer.Option(help="stix, taxii, misp, misp-api, csv, text or cve.")] = "stix",
    url: Annotated[
        str | None, typer.Option(help="http(s):// or file:// (TAXII: the collection's URL).")
    ] = None,
    sample: Annotated[bool, typer.Option("--sample", help="The bundled sample STIX feed (offline).")] = False,
    name: Annotated[str | None, typer.Option(help="Shown name; default the slug.")] = None,
    raise_to: Annotated[str | None, typer.Option(help="Raise a matching alert's severity to this.")] = None,
    declare_type: Annotated[str | None, typer.Option(help="Open (or join) an incident of this type.")] = None,
    declare_severity: Annotated[str | None, typer.Option(help="That incident's severity.")] = None,
    team: Annotated[str | None, typer.Option(help="Team told of what a retro-hunt finds.")] = None,
) -> None:
    """Add a feed; the worker polls it at once, then hourly."""
    source = SAMPLE.as_uri() if sample else url
    if not source:
        raise typer.BadParameter("give --url or --sample")
    body = {"slug": slug, "name": name or slug, "kind": kind, "url": source, "raise_to": raise_to,
            "declare_type": declare_type, "declare_severity": declare_severity, "team": team}  # fmt: skip
    made = call("POST", "/api/v1/intel/feeds", json={k: v for k, v in body.items() if v is not None})
    out.print(f"feed {made['slug']} added ({made['kind']}): the worker polls it now", highlight=False)


@intel_app.command("poll")
def poll(slug: Annotated[str, typer.Argument(help="The feed.")]) -> None:
    """Poll a feed now (the worker runs it); `warroom intel feeds` shows how it went."""
    call("POST", f"/api/v1/intel/feeds/{slug}/poll")
    out.print(f"feed {slug}: poll queued", highlight=False)


@intel_app.command("indicators")
def indicators(
    feed: Annotated[str | None, typer.Option(help="Only this feed's.")] = None, as_json: JsonOption = False
) -> None:
    found = call("GET", "/api/v1/intel/indicators", params={"feed": feed} if feed else {})
    if as_json:
        print_json(found)
        return
    table = Table("feed", "type", "value or pattern", "name", "tlp")
    for i in found:
        table.add_row(i["feed"], i["type"] or "pattern", i["value"] or i["pattern"], i["name"], i["tlp"])
    out.print(table)


@intel_app.command("sightings")
def sightings(as_json: JsonOption = False) -> None:
    """Where indicators were seen: alerts and incidents, on arrival or by a retro-hunt."""
    found = call("GET", "/api/v1/intel/sightings")
    if as_json:
        print_json(found)
        return
    table = Table("when", "value", "indicator", "where", "how")
    for s in found:
        where = " on ".join(
            x for x in (f"alert #{s['alert_id']}" if s["alert_id"] else "", s["incident"] or "") if x
        )
        table.add_row(when(s["last_seen"]), s["matched"], s["indicator"]["name"], where, s["via"])
    out.print(table)


@intel_app.command("hunt")
def hunt(
    value: Annotated[str, typer.Argument(help="An IP, domain, URL, hash, email ...")],
    days: Annotated[int, typer.Option(help="How far back.")] = 90,
    as_json: JsonOption = False,
) -> None:
    """Where a value was seen in alerts and incidents, by surface (endpoint, network, identity, email ...)."""
    found = call("POST", "/api/v1/intel/hunt", json={"value": value, "days": days})
    if as_json:
        print_json(found)
        return
    total = sum(len(rows) for rows in found["by_surface"].values())
    out.print(f"{found['type']} {found['value']}: seen {total} time(s) in {days} days", highlight=False)
    for surface, rows in sorted(found["by_surface"].items()):
        out.print(f"  {surface}: " + ", ".join(r["where"] for r in rows), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(intel_app, name="intel", rich_help_panel=OPERATOR_PANEL)

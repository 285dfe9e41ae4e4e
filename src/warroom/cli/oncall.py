"""On-call commands, through the API (WARROOM_URL, WARROOM_TOKEN): schedules, overrides, policies, and my
contact methods and notification rules. Creating and updating take a YAML or JSON file shaped like the API's
body (for an update, only the fields to change)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from warroom.cli.api_client import ApiFailure, call, when
from warroom.cli.output import OPERATOR_PANEL, JsonOption, out, print_json

schedule_app = typer.Typer(
    help="Schedules: list, create or update from a file, show who is on call when.", no_args_is_help=True
)
policy_app = typer.Typer(
    help="Escalation policies: list, create or update from a file.", no_args_is_help=True
)
contact_app = typer.Typer(help="My contact methods and notification rules.", no_args_is_help=True)


def _load(file: Path) -> Any:
    try:
        return YAML(typ="safe").load(file.read_text())
    except (OSError, YAMLError) as error:
        raise ApiFailure(f"cannot read {file}: {error}") from None


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) if v is not None else "-" for v in row))
    out.print(table)


@schedule_app.command("list")
def schedule_list(as_json: JsonOption = False) -> None:
    """Schedules and their layers."""
    schedules = call("GET", "/api/v1/schedules")
    if as_json:
        return print_json(schedules)
    rows = [
        (
            s["slug"],
            s["name"],
            ", ".join(
                f"#{layer['id']} {layer['name']}: {' > '.join(layer['participants'])}"
                for layer in s["layers"]
            ),
        )
        for s in schedules
    ]
    _table("Schedules", ("Slug", "Name", "Layers"), rows)


@schedule_app.command("create")
def schedule_create(
    file: Annotated[Path, typer.Argument(help="YAML/JSON: slug, name, layers[...].")],
) -> None:
    """Create a schedule from a file."""
    created = call("POST", "/api/v1/schedules", json=_load(file))
    out.print(f"schedule {created['slug']} created; iCal feed: {created['ical_url']}", highlight=False)


@schedule_app.command("update")
def schedule_update(
    slug: Annotated[str, typer.Argument(help="The schedule.")],
    file: Annotated[Path, typer.Argument(help="YAML/JSON: the fields to change.")],
    layer: Annotated[
        int | None, typer.Option(help="Change this layer (its id, from `schedule list`) instead.")
    ] = None,
) -> None:
    """Change a schedule (name, slug, time_zone) or, with --layer, one of its layers."""
    path = f"/api/v1/schedules/{slug}" + (f"/layers/{layer}" if layer is not None else "")
    changed = call("PATCH", path, json=_load(file))
    what = (
        f"layer {layer} of schedule {changed['slug']}" if layer is not None else f"schedule {changed['slug']}"
    )
    out.print(f"{what} updated", highlight=False)


@schedule_app.command("show")
def schedule_show(
    slug: Annotated[str, typer.Argument(help="The schedule.")],
    days: Annotated[int, typer.Option(min=1, max=92, help="How far ahead.")] = 14,
    as_json: JsonOption = False,
) -> None:
    """Who is on call over the next days, gaps included."""
    spans = call("GET", f"/api/v1/schedules/{slug}/final", params={"days": days})
    if as_json:
        return print_json(spans)
    rows = [(when(s["start"]), when(s["end"]), s["user"] or "NOBODY (gap)", s["source"]) for s in spans]
    _table(f"{slug}: next {days} days", ("From", "Until", "Who", "Source"), rows)


@schedule_app.command("override")
def schedule_override(
    slug: Annotated[str, typer.Argument(help="The schedule.")],
    user: Annotated[str, typer.Argument(help="Who covers (email or id).")],
    start: Annotated[str, typer.Option(help="e.g. 2026-12-24T18:00+01:00")],
    end: Annotated[str, typer.Option(help="e.g. 2026-12-26T09:00+01:00")],
) -> None:
    """Someone covers a window."""
    body = {"user": user, "starts_at": start.replace("Z", "+00:00"), "ends_at": end.replace("Z", "+00:00")}
    span = call("POST", f"/api/v1/schedules/{slug}/overrides", json=body)
    out.print(
        f"{span['user']} covers {slug} from {when(span['start'])} to {when(span['end'])}", highlight=False
    )


@policy_app.command("list")
def policy_list(as_json: JsonOption = False) -> None:
    """Escalation policies, their steps and services."""
    policies = call("GET", "/api/v1/escalation-policies")
    if as_json:
        return print_json(policies)
    rows = [(p["slug"], p["name"], len(p["steps"]), p["repeat"], ", ".join(p["services"])) for p in policies]
    _table("Escalation policies", ("Slug", "Name", "Steps", "Repeat", "Services"), rows)


@policy_app.command("create")
def policy_create(
    file: Annotated[Path, typer.Argument(help="YAML/JSON: slug, name, steps[...], services.")],
) -> None:
    """Create an escalation policy from a file."""
    created = call("POST", "/api/v1/escalation-policies", json=_load(file))
    out.print(f"policy {created['slug']} created with {len(created['steps'])} step(s)", highlight=False)


@policy_app.command("update")
def policy_update(
    slug: Annotated[str, typer.Argument(help="The policy.")],
    file: Annotated[Path, typer.Argument(help="YAML/JSON: the fields to change; steps replace all steps.")],
) -> None:
    """Change an escalation policy; alerts being paged walk the new steps from where they are."""
    changed = call("PATCH", f"/api/v1/escalation-policies/{slug}", json=_load(file))
    out.print(f"policy {changed['slug']} updated: {len(changed['steps'])} step(s)", highlight=False)


@contact_app.command("add")
def contact_add(
    kind: Annotated[str, typer.Option(help="email, webhook, apprise or log.")],
    address: Annotated[str, typer.Option(help="An email, an https URL, or an Apprise URL (slack://...).")],
    label: Annotated[str, typer.Option(help="A name for it.")] = "",
) -> None:
    """Add one of my contact methods."""
    method = call(
        "POST", "/api/v1/me/contact-methods", json={"kind": kind, "address": address, "label": label}
    )
    out.print(f"contact method {method['id']} ({method['kind']}) added", highlight=False)


@contact_app.command("rule")
def contact_rule(
    method: Annotated[int, typer.Option(help="The contact method's id.")],
    delay: Annotated[int, typer.Option(min=0, help="Seconds after the page.")] = 0,
    urgency: Annotated[str, typer.Option(help="high or low.")] = "high",
) -> None:
    """Use a contact method after a delay, for high- or low-urgency pages."""
    rule = call(
        "POST",
        "/api/v1/me/notification-rules",
        json={"contact_method": method, "delay_seconds": delay, "urgency": urgency},
    )
    out.print(f"rule {rule['id']}: method {method} after {delay} s for {urgency} urgency", highlight=False)


@contact_app.command("list")
def contact_list(as_json: JsonOption = False) -> None:
    """My contact methods and rules."""
    methods = call("GET", "/api/v1/me/contact-methods")
    if as_json:
        return print_json({"methods": methods, "rules": call("GET", "/api/v1/me/notification-rules")})
    _table(
        "Contact methods",
        ("Id", "Kind", "Address", "Label"),
        [(m["id"], m["kind"], m["address"], m["label"]) for m in methods],
    )
    rules = call("GET", "/api/v1/me/notification-rules")
    _table(
        "Rules",
        ("Id", "Method", "Delay (s)", "Urgency"),
        [(r["id"], r["contact_method"], r["delay_seconds"], r["urgency"]) for r in rules],
    )


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule", rich_help_panel=OPERATOR_PANEL)
    app.add_typer(policy_app, name="policy", rich_help_panel=OPERATOR_PANEL)
    app.add_typer(contact_app, name="contact", rich_help_panel=OPERATOR_PANEL)

"""Operator incident commands: declare, list, show, assign, waive, phase, update, resolve, and who is on
call."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from warroom.cli.api_client import ApiFailure, call, when
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out
from warroom.timeline.describe import messages_sent


def _clock(target: dict[str, Any]) -> str:
    if target["met"] is True:
        return "met"
    minutes = abs(target["remaining_seconds"]) / 60
    if target["overdue"]:
        return f"[red]overdue {minutes:.0f}m[/]"
    return f"{minutes:.0f}m left"


def declare(
    title: Annotated[str, typer.Argument(help="What is wrong, in a few words.")],
    severity: Annotated[str, typer.Option("--severity", "-s", help="P1..P4 (see the procedure).")],
    type_: Annotated[
        str | None, typer.Option("--type", help="Incident type; default: the procedure's first.")
    ] = None,
    summary: Annotated[str, typer.Option(help="What is known so far.")] = "",
    impact: Annotated[str, typer.Option(help="Customer impact.")] = "",
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Affected service slug (repeatable).")
    ] = None,
    drill: Annotated[bool, typer.Option("--drill", help="A drill: left out of metrics by default.")] = False,
    restricted: Annotated[
        bool, typer.Option("--restricted", help="Only participants, the security team and admins see it.")
    ] = False,
) -> None:
    """Declare an incident and print its ref."""
    body: dict[str, Any] = {
        "title": title,
        "severity": severity,
        "summary": summary,
        "customer_impact": impact,
        "services": service or [],
        "drill": drill,
        "restricted": restricted,
    }
    if type_:
        body["type"] = type_
    incident = call("POST", "/api/v1/incidents", json=body)
    out.print(
        f"{incident['ref']} declared: {incident['title']} ({incident['severity']}, {incident['phase']})",
        highlight=False,
    )


def incidents(
    status: Annotated[list[str] | None, typer.Option(help="active, resolved or closed (repeatable).")] = None,
    severity: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
    service: Annotated[str | None, typer.Option(help="Service slug.")] = None,
    search: Annotated[str | None, typer.Option(help="Text in the title or summary.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List incidents as a table, newest first."""
    params: dict[str, Any] = {"status": status or [], "severity": severity or [], "limit": limit}
    if service:
        params["service"] = service
    if search:
        params["q"] = search
    page = call("GET", "/api/v1/incidents", params=params)
    if as_json:
        return print_json(page)
    table = Table(title=f"{page['total']} incident(s)")
    for column in ("Ref", "Sev", "Status", "Phase", "Title", "Declared", "Target"):
        table.add_column(column)
    for item in page["items"]:
        table.add_row(
            item["ref"],
            item["severity"],
            item["status"],
            item["phase"],
            item["title"],
            when(item["declared_at"]),
            _clock(item["response_target"]),
        )
    out.print(table)


def show(ref: Annotated[str, typer.Argument(help="INC-42 or 42.")], as_json: JsonOption = False) -> None:
    """Show an incident: state, roles, tasks and its timeline."""
    incident = call("GET", f"/api/v1/incidents/{ref}")
    if as_json:
        tasks = call("GET", f"/api/v1/incidents/{ref}/tasks")
        return print_json(
            {**incident, "tasks": tasks, "timeline": call("GET", f"/api/v1/incidents/{ref}/timeline")}
        )
    out.print(f"[bold]{incident['ref']}[/] {incident['title']}", highlight=False)
    out.print(
        f"severity {incident['severity']} | {incident['status']} | phase {incident['phase']} | "
        f"target {_clock(incident['response_target'])}",
        highlight=False,
    )
    for holding in incident.get("roles") or []:
        out.print(
            f"  {holding['role']}: {holding['user']['name']} <{holding['user']['email']}>", highlight=False
        )
    if incident["missing_roles"]:
        out.print(f"  [yellow]missing roles:[/] {', '.join(incident['missing_roles'])}")
    for task in call("GET", f"/api/v1/incidents/{ref}/tasks"):
        out.print(f"  [{'x' if task['done'] else ' '}] {task['title']}", highlight=False, markup=False)
    table = Table(title="Timeline")
    for column in ("#", "At", "Who", "What", "Details"):
        table.add_column(column)
    for event in call("GET", f"/api/v1/incidents/{ref}/timeline"):
        details = ", ".join(f"{k}={v}" for k, v in event["data"].items() if v not in (None, "", []))
        table.add_row(str(event["seq"]), when(event["at"]), event["actor"], event["kind"], details[:80])
    out.print(table)


def assign(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    role: Annotated[str, typer.Argument(help="e.g. incident_commander.")],
    user: Annotated[str, typer.Argument(help="Email or user id.")],
    unassign: Annotated[bool, typer.Option("--unassign", help="Take the role away instead.")] = False,
) -> None:
    """Give someone a role on an incident (or take it away)."""
    action = "unassign" if unassign else "assign"
    roles = call(
        "POST", f"/api/v1/incidents/{ref}/roles", json={"role": role, "user": user, "action": action}
    )
    holders = ", ".join(f"{h['role']}={h['user']['email']}" for h in roles["current"]) or "none"
    out.print(f"{ref}: {action}ed {role} ({user}); roles now: {holders}", highlight=False)


def waive(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    roles: Annotated[list[str], typer.Argument(help="Required role ids to do without.")],
    reason: Annotated[str, typer.Option(help="Why the incident can do without them.")],
) -> None:
    """As the incident commander, let an incident resolve without some of its required roles."""
    answer = call("POST", f"/api/v1/incidents/{ref}/roles/waive", json={"roles": roles, "reason": reason})
    missing = ", ".join(answer["missing"]) or "none"
    out.print(f"{ref}: waived {', '.join(answer['waived'])}; still missing: {missing}", highlight=False)


def milestone(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    name: Annotated[str, typer.Argument(help="compromised, contained, eradicated, recovered or notified.")],
    at: Annotated[
        str | None, typer.Option(help="When it happened (ISO 8601 with zone); default now.")
    ] = None,
    note: Annotated[str, typer.Option(help="How you know (log, EDR, ...).")] = "",
) -> None:
    """Record a milestone no phase records; the first malicious activity (compromised) is an estimate that
    may be recorded again."""
    body = {"milestone": name, "note": note, **({"at": at} if at else {})}
    incident = call("POST", f"/api/v1/incidents/{ref}/milestones", json=body)
    out.print(f"{incident['ref']}: {name} at {incident[f'{name}_at']}", highlight=False)


def phase(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    target: Annotated[str, typer.Argument(help="The phase to move to.")],
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
) -> None:
    """Move an incident to another phase."""
    incident = call("POST", f"/api/v1/incidents/{ref}/phase", json={"phase": target, "reason": reason})
    out.print(f"{incident['ref']} is now in {incident['phase']} ({incident['status']})", highlight=False)


def restrict(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    add: Annotated[
        list[str] | None, typer.Option("--add", help="Let this user (email or id) see it (repeatable).")
    ] = None,
    lift: Annotated[bool, typer.Option("--lift", help="Make it visible to everyone again.")] = False,
) -> None:
    """Restrict an incident to its participants (the commander or an admin), or add participants."""
    incident = call("PATCH", f"/api/v1/incidents/{ref}", json={"restricted": not lift})
    for user in add or []:
        call("POST", f"/api/v1/incidents/{ref}/participants", json={"user": user})
    shown = "restricted to its participants" if incident["restricted"] else "visible to everyone"
    added = f"; added {', '.join(add)}" if add else ""
    out.print(f"{incident['ref']} is {shown}{added}", highlight=False)


def update(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    body: Annotated[str, typer.Argument(help="The text.")],
    stakeholder: Annotated[
        bool, typer.Option("--stakeholder", help="A stakeholder update, sent out.")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Only these audiences (repeatable; default: all that hear of it)."),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show what each audience gets; send nothing.")
    ] = False,
) -> None:
    """Post an internal note, or with --stakeholder an update rendered and sent to each audience's list."""
    if (to or preview) and not stakeholder:
        raise ApiFailure("--to and --preview are for stakeholder updates: add --stakeholder")
    if preview:
        for message in call(
            "POST", f"/api/v1/incidents/{ref}/updates/preview", json={"body": body, "audiences": to}
        ):
            out.rule(f"{message['audience']}: {message['recipients']} recipient(s)")
            out.print(f"Subject: {message['subject']}\n\n{message['body']}", highlight=False, markup=False)
        return
    payload: dict[str, Any] = {"audience": "stakeholder" if stakeholder else "internal", "body": body}
    if to:
        payload["audiences"] = to
    posted = call("POST", f"/api/v1/incidents/{ref}/updates", json=payload)
    sent = _sent(ref, posted["id"]) if stakeholder else ""
    out.print(f"{ref}: {payload['audience']} update posted{sent}", highlight=False)


def _sent(ref: str, update_id: int) -> str:
    """Where a stakeholder update went, as its timeline event recorded it."""
    events = call("GET", f"/api/v1/incidents/{ref}/timeline")
    data = next(e["data"] for e in reversed(events) if e["data"].get("update_id") == update_id)
    audiences = ", ".join(data.get("audiences", []))
    if not audiences:
        return ": to no audience (timeline only)"
    return f": {messages_sent(int(data.get('messages', 0)))} to {audiences}"


def resolve(
    ref: Annotated[str, typer.Argument(help="INC-42 or 42.")],
    reason: Annotated[str, typer.Option(help="Why, for the timeline.")] = "",
) -> None:
    """Resolve an incident (moves it to the procedure's resolving phase)."""
    incident = call("POST", f"/api/v1/incidents/{ref}/resolve", json={"reason": reason})
    out.print(
        f"{incident['ref']} resolved: now in {incident['phase']} ({incident['status']})", highlight=False
    )


def oncall(
    at: Annotated[str | None, typer.Option(help="An instant, e.g. 2026-12-24T03:00Z (default: now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who is on call now (or at --at) for each schedule, and until when."""
    params = {"at": at.replace("Z", "+00:00")} if at else {}
    rows = call("GET", "/api/v1/oncall", params=params)
    if as_json:
        return print_json(rows)
    table = Table(title=f"On call {'at ' + at if at else 'now'}")
    for column in ("Schedule", "Who", "From", "Until"):
        table.add_column(column)
    for row in rows:
        who = row["user"] or "[red]nobody (gap)[/]"
        table.add_row(row["schedule"], who, row["source"], when(row["until"]))
    out.print(table)


def register(app: typer.Typer) -> None:
    for command in (
        declare,
        incidents,
        show,
        assign,
        waive,
        milestone,
        phase,
        restrict,
        update,
        resolve,
        oncall,
    ):
        app.command(rich_help_panel=OPERATOR_PANEL)(command)

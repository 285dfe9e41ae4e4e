"""`warroom actions` and `warroom review ...`: operator commands, thin HTTP clients of the review API."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from warroom.cli.api_client import ApiFailure, call, client
from warroom.cli.output import OPERATOR_PANEL, JsonOption, print_json
from warroom.cli.output import wrapping_out as out


class ExportFormat(StrEnum):
    md = "md"
    html = "html"
    pdf = "pdf"


review_app = typer.Typer(help="Post-incident reviews.", no_args_is_help=True)


def actions(
    overdue: Annotated[bool, typer.Option("--overdue", help="Only items past their due date.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only items I own.")] = False,
    owner: Annotated[str | None, typer.Option(help="Only items this email owns.")] = None,
    incident: Annotated[str | None, typer.Option(help="Only this incident's items (INC-n).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List post-incident action items, soonest due first, so none rots unseen."""
    params: dict[str, Any] = {"overdue": str(overdue).lower()}
    if mine:
        owner = call("GET", "/api/v1/me")["email"]
    if owner:
        params["owner"] = owner
    if incident:
        params["incident"] = incident
    items = call("GET", "/api/v1/action-items", params=params)
    if as_json:
        return print_json(items)
    table = Table(title=f"{len(items)} action item(s)" + (" overdue" if overdue else ""))
    for column in ("id", "incident", "title", "type", "owner", "due", "status"):
        table.add_column(column)
    for item in items:
        status = item["status"] + (" (overdue)" if item["overdue"] else "")
        table.add_row(
            str(item["id"]), item["incident"], item["title"], item["type"], item["owner"] or "-",
            item["due_on"] or "-", status,
        )  # fmt: skip
    out.print(table)


def export(
    ref: Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")],
    format_: Annotated[ExportFormat, typer.Option("--format", help="md, html or pdf")] = ExportFormat.md,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export the incident's review as Markdown, a standalone printable HTML page, or a PDF."""
    if format_ is ExportFormat.pdf and output is None and sys.stdout.isatty():
        raise ApiFailure("a PDF is not for the terminal: add -o review.pdf (or pipe it)")
    try:
        with client() as http:
            response = http.get(f"/api/v1/incidents/{ref}/review/export.{format_.value}")
    except httpx.TransportError as error:
        raise ApiFailure(f"cannot reach warroom ({type(error).__name__}: {error})") from None
    if response.is_error:
        raise ApiFailure(f"{response.status_code} {response.json().get('detail', response.reason_phrase)}")
    if output is None:
        sys.stdout.buffer.write(response.content)
        sys.stdout.flush()
    else:
        output.write_bytes(response.content)
        out.print(f"wrote {output}", highlight=False)


def publish(ref: Annotated[str, typer.Argument(help="The incident, e.g. INC-42.")]) -> None:
    """Publish a review that is in review."""
    review = call("POST", f"/api/v1/incidents/{ref}/review/status", json={"status": "published"})
    out.print(f"{review['incident']}: review {review['status']}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=OPERATOR_PANEL)(actions)
    review_app.command("export")(export)
    review_app.command("publish")(publish)
    app.add_typer(review_app, name="review", rich_help_panel=OPERATOR_PANEL)

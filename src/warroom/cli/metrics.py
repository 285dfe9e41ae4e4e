"""`warroom report`: response metrics from a running server, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from warroom.cli.api_client import call
from warroom.cli.output import OPERATOR_PANEL
from warroom.cli.output import wrapping_out as out
from warroom.metrics.domain import GROUPINGS, METRICS
from warroom.metrics.domain import format_duration as duration

STAT_NAMES = ("count", "mean", "p50", "p90")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def rows(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [("all", body["overall"]), *body["groups"].items()]


def _table(body: dict[str, Any]) -> Table:
    table = Table(title=f"Incidents from {body['start'][:10]} to {body['end'][:10]}, by {body['group_by']}")
    # Dwell time only where some incident has an estimated first malicious activity (security ones).
    dwell = body["overall"]["metrics"]["dwell_time"]["count"] > 0
    columns = ("group", "incidents", "in target", "ack p50", "contain p50", "resolve p50", "resolve p90")
    for column in (*columns, "dwell p50") if dwell else columns:
        table.add_column(column)
    for name, summary in rows(body):
        metrics = summary["metrics"]
        cells = [
            name,
            str(summary["incidents"]),
            _percent(summary["target_compliance"]),
            duration(metrics["time_to_acknowledge"]["p50"]),
            duration(metrics["time_to_contain"]["p50"]),
            duration(metrics["time_to_resolve"]["p50"]),
            duration(metrics["time_to_resolve"]["p90"]),
        ]
        table.add_row(*cells, *([duration(metrics["dwell_time"]["p50"])] if dwell else []))
    return table


def _then_now(first: Any, latest: Any, show: Any = str) -> str:
    return show(latest) if first == latest else f"{show(first)} -> {show(latest)}"


def drill_table(groups: list[dict[str, Any]], key: str) -> Table:
    """One row per scenario or team: the first drill's figures beside the latest's."""
    table = Table(title=f"Drills by {key}: first -> latest")
    for column in (key, "drills", "last", "acknowledge", "declare", "findings"):
        table.add_column(column)
    for row in groups:
        first, latest = row["first"], row["latest"]
        table.add_row(
            row[key],
            str(row["drills"]),
            row["last_fired_at"][:10],
            _then_now(first["acknowledge_seconds"], latest["acknowledge_seconds"], duration),
            _then_now(first["declare_seconds"], latest["declare_seconds"], duration),
            _then_now(first["findings"], latest["findings"]),
        )
    return table


def _csv(body: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    stat_columns = [f"{m}_{s}" + ("" if s == "count" else "_seconds") for m in METRICS for s in STAT_NAMES]
    writer.writerow(["group", "incidents", "reopened", "target_met", "target_missed", *stat_columns])
    for name, summary in rows(body):
        stats = [summary["metrics"][m][s] for m in METRICS for s in STAT_NAMES]
        counts = [summary[k] for k in ("incidents", "reopened", "target_met", "target_missed")]
        writer.writerow([name, *counts, *("" if v is None else v for v in stats)])
    return buffer.getvalue()


def report(
    since: Annotated[str, typer.Option(help="How far back from now: 30d, 90d, 12h ...")] = "90d",
    group_by: Annotated[str, typer.Option(help=", ".join(GROUPINGS))] = "severity",
    format_: Annotated[Format, typer.Option("--format", help="table, csv or json")] = Format.table,
    include_drills: Annotated[bool, typer.Option("--include-drills", help="Count drills too.")] = False,
    drills: Annotated[
        bool, typer.Option("--drills", help="Drill trends per scenario and team (admins).")
    ] = False,
) -> None:
    """Response metrics from timeline milestones: detect, acknowledge, contain, resolve, recover; dwell."""
    if drills:
        trends = call("GET", "/api/v1/drills/trends")
        if format_ is Format.table:
            out.print(drill_table(trends["by_scenario"], "scenario"), drill_table(trends["by_team"], "team"))
        else:
            sys.stdout.write(json.dumps(trends, indent=2) + "\n")  # CSV has no place for nested runs
        return
    params = {"since": since, "group_by": group_by, "include_drills": str(include_drills).lower()}
    body = call("GET", "/api/v1/metrics", params=params)
    if format_ is Format.json:
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    elif format_ is Format.csv:
        sys.stdout.write(_csv(body))
    else:
        out.print(_table(body))


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=OPERATOR_PANEL)(report)

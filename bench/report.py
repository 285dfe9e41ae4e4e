"""Rich tables for the terminal and a JSON file for comparing runs."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.load import ScenarioResult
from bench.scenarios import DatabaseRun


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}%"


def _statuses(result: ScenarioResult) -> str:
    return " ".join(f"{code}x{count}" for code, count in result.statuses.items())


def scenario_table(run: DatabaseRun, title: str) -> Table:
    caption = "CPU: percent of one core over the scenario (server process; the load generator itself)"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("scenario")
    headings = (
        "requests",
        "errors",
        "req/s",
        "x baseline",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "server CPU",
        "client CPU",
    )
    for heading in headings:
        table.add_column(heading, justify="right")
    table.add_column("statuses")
    for s in run.scenarios:
        ratio = "-" if s.vs_baseline is None else f"{s.vs_baseline:.2f}"
        errors = f"[red]{s.errors}[/]" if s.errors else "0"
        latency = (_ms(s.p50_ms), _ms(s.p90_ms), _ms(s.p99_ms))
        cpu = (_pct(s.server_cpu_pct), _pct(s.client_cpu_pct))
        row = (str(s.requests), errors, f"{s.rate:.1f}", ratio, *latency, *cpu)
        table.add_row(escape(s.name), *row, _statuses(s))
    return table


def print_run(console: Console, run: DatabaseRun, settings: dict[str, Any]) -> None:
    """One database: the table, the checks, the audit line, and what went wrong if anything did."""
    if run.skipped:
        console.print(f"[yellow]{run.database}: skipped: {escape(run.skipped)}[/]\n")
        return
    if run.failed:
        console.print(f"[red]{run.database}: failed: {escape(run.failed)}[/]")
    else:
        per = f"{settings['seconds']:g} s per scenario, {settings['concurrency']} workers"
        console.print(scenario_table(run, f"{run.database} ({per})"))
    for check in run.checks:
        mark = "[green]matched[/]" if check.matched else "[red]MISMATCH[/]"
        detail = f" ({escape(check.detail)})" if check.detail else ""
        console.print(f"  {mark}: {escape(check.name)}: {check.expected} vs {check.found}{detail}")
    if run.audit:
        colour = "green" if run.audit_ok else "red"
        console.print(f"  audit verify: [{colour}]{escape(run.audit)}[/]")
    for s in run.scenarios:
        for sample in s.error_samples:
            console.print(f"  [red]error sample[/] {escape(s.name)}: {escape(sample)}", soft_wrap=True)
    if run.server_stderr_tail:
        console.print("  server stderr (tail):", style="bold")
        console.print(escape(run.server_stderr_tail), soft_wrap=True, highlight=False)
    console.print()


def _plain(value: Any) -> Any:
    """JSON has no NaN: turn it into null, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def run_json(run: DatabaseRun) -> dict[str, Any]:
    body = dataclasses.asdict(run)
    body["checks"] = [{**dataclasses.asdict(c), "matched": c.matched} for c in run.checks]
    return body


def write_json(path: Path, settings: dict[str, Any], runs: list[DatabaseRun]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"settings": settings, "databases": {run.database: run_json(run) for run in runs}}
    path.write_text(json.dumps(_plain(document), indent=2) + "\n")

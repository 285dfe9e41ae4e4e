"""The intake bench's Rich tables, target verdicts and JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.load import ScenarioResult
from bench.report import _ms, _pct, _plain, _statuses, run_json
from bench.scenarios import DatabaseRun

HEADINGS = (
    "requests",
    "202",
    "errors",
    "accepted/s",
    "x baseline",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "server CPU",
    "client CPU",
)
CAPTION = (
    "accepted/s: 202 answers per second (the baseline row: 200 answers). x baseline: accepted/s over the\n"
    "baseline's requests/s. Open-loop latency counts from when a request was due. CPU: percent of one core\n"
    "over the scenario (server process; the load generator itself). wrk rows: requests/s over wrk's sending\n"
    "phase, latency percentiles from wrk's histogram, x baseline against the no-op server's rate for the\n"
    "same payload, measured just after (bench/noop_app.py), client CPU wrk's (all its threads)"
)


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    goal: float
    met: bool


@dataclass
class IntakeRun(DatabaseRun):
    targets: list[Target] = field(default_factory=list)


def accepted_rate(result: ScenarioResult) -> float:
    return result.ok / result.seconds if result.seconds else 0.0


def _row(s: ScenarioResult) -> tuple[str, ...]:
    ratio = "-" if s.vs_baseline is None else f"{s.vs_baseline:.2f}"
    errors = f"[red]{s.errors}[/]" if s.errors else "0"
    latency = (_ms(s.p50_ms), _ms(s.p90_ms), _ms(s.p99_ms))
    cpu = (_pct(s.server_cpu_pct), _pct(s.client_cpu_pct))
    return (str(s.requests), str(s.ok), errors, f"{accepted_rate(s):.1f}", ratio, *latency, *cpu)


def intake_table(run: IntakeRun, title: str) -> Table:
    table = Table(title=title, title_justify="left", caption=CAPTION, caption_justify="left")
    table.add_column("scenario")
    for heading in HEADINGS:
        table.add_column(heading, justify="right")
    table.add_column("statuses")
    for s in run.scenarios:
        table.add_row(escape(s.name), *_row(s), _statuses(s))
    return table


def _value(value: float) -> str:
    if math.isnan(value):
        return "-"
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if value < 1 else f"{value:,.1f}"  # a ratio to the no-op: 0.41, not 0.4


def _print_verdicts(console: Console, run: IntakeRun) -> None:
    for check in run.checks:
        mark = "[green]MATCH[/]" if check.matched else "[red]MISMATCH[/]"
        detail = f" ({escape(check.detail)})" if check.detail else ""
        console.print(f"  {mark}: {escape(check.name)}: {check.expected} vs {check.found}{detail}")
    for target in run.targets:
        mark = "[green]met[/]" if target.met else "[red]NOT MET[/]"
        goal = _value(target.goal)
        console.print(f"  target {mark}: {escape(target.name)}: {_value(target.value)} (goal {goal})")


def print_intake_run(console: Console, run: IntakeRun, settings: dict[str, Any]) -> None:
    """One database: the table, the checks and targets, error samples and the server's stderr if troubled."""
    if run.skipped:
        console.print(f"[yellow]{run.database}: skipped: {escape(run.skipped)}[/]\n")
        return
    if run.failed:
        console.print(f"[red]{run.database}: failed: {escape(run.failed)}[/]")
    else:
        per = f"{settings['seconds']:g} s per scenario, {settings['senders']} senders"
        console.print(intake_table(run, f"{run.database} intake ({per})"))
    _print_verdicts(console, run)
    for s in run.scenarios:
        for sample in s.error_samples:
            console.print(f"  [red]error sample[/] {escape(s.name)}: {escape(sample)}", soft_wrap=True)
    if run.server_stderr_tail:
        console.print("  server stderr (tail):", style="bold")
        console.print(escape(run.server_stderr_tail), soft_wrap=True, highlight=False)
    console.print()


def write_intake_json(path: Path, settings: dict[str, Any], runs: list[IntakeRun]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    databases = {
        run.database: {
            **run_json(run),
            "accepted_per_second": {s.name: accepted_rate(s) for s in run.scenarios},
            "targets_met": all(t.met for t in run.targets) if run.targets else None,
        }
        for run in runs
    }
    document = {"settings": settings, "databases": databases}
    path.write_text(json.dumps(_plain(document), indent=2) + "\n")

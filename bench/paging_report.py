"""The paging bench's results, Rich tables, target verdicts and JSON file."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.intake_report import Target
from bench.report import _ms, _pct, _plain

LATENCY_CAPTION = (
    "latency: the page's arrival at the local sink minus the moment its alert's POST /intake/webhook/{key}\n"
    "started; each alert pages one person with one webhook contact method. dup: deliveries whose\n"
    "Idempotency-Key had arrived before. tail s: from the last POST to the last page. CPU: percent of one\n"
    "core over the scenario (server process; all workers; PostgreSQL, all its databases; the bench).\n"
    "load: the machine's 1-minute load average at the end (anything above the CPU count is contention).\n"
    "srv p50/p99: inside the server, from intake taking the request (alert first_seen_at) to the page\n"
    "recorded sent (sent_at): the same path without the bench's own sender and sink, which share the CPUs\n"
    "storm rows (bench/paging_storm.py): the same alerts while wrk sends PagerDuty triggers (each a new\n"
    "alert of a service with no policy) at half the no-op server's rate measured in the same run; the\n"
    "verdicts say what intake actually took"
)
DRAIN_CAPTION = (
    "steps s: from the one UPDATE that made the held escalation.step jobs due to the start of the last\n"
    "one's run (jobs.finished_at), i.e. all steps run and their notify.send jobs queued. first s: to the\n"
    "first step's start (wake-up: a step falling due sends no NOTIFY, the workers find it by polling).\n"
    "pages s: to the last page's arrival at the sink (the steps plus the webhook deliveries). triage s:\n"
    "from the first POST of the batch to every alert triaged and its step queued (held). CPU over pages s.\n"
    "conns: PostgreSQL connections at their peak, to the bench's database / to the whole server"
)
# Segments of a page's path inside the server, each from the one moment to the next (bench/paging_procs):
# intake taking the request (alert first_seen_at), the transaction that triaged the alert and queued its
# page beginning (the notify.send job's created_at: a handed-off page's job is written there already
# claimed), the send beginning (the job's finished_at, stamped when its batch begins), the page recorded
# sent (sent_at).
PAGE_PATH = ("to triage", "triage to send", "send to sent")
PATH_CAPTION = (
    "inside the server, per probe page: to triage: from intake taking the request (alert first_seen_at)\n"
    "to the start of the transaction that triaged it and queued its page (the notify.send job's\n"
    "created_at); triage to send: from there to the send's start (the job's finished_at, stamped when its\n"
    "batch begins); send to sent: to the page recorded sent (sent_at)"
)
STAGE_CAPTION = (
    "queue wait: a job's start (jobs.finished_at, stamped when its handler begins) minus when it fell due\n"
    "(the later of created_at and run_at), per job kind; retried: jobs that needed more than one attempt"
)


@dataclass(frozen=True)
class Stage:
    kind: str
    jobs: int
    done: int
    retried: int  # jobs that needed more than one attempt
    failed: int
    wait_p50_ms: float
    wait_p99_ms: float
    wait_max_ms: float


@dataclass
class LatencyResult:
    name: str
    workers: int
    rate: float
    seconds: float
    sent: int = 0
    accepted: int = 0
    delivered: int = 0
    duplicates: int = 0
    double_paged: int = 0  # alerts paged under more than one idempotency key
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    intake_p99_ms: float = math.nan
    sender_lag_max_ms: float = math.nan
    server_p50_ms: float = math.nan  # first_seen_at to sent_at, from the database
    server_p99_ms: float = math.nan
    tail_seconds: float = math.nan
    cpu_pct: dict[str, float] = field(default_factory=dict)
    load_average: float = math.nan  # 1-minute, at the end: other work on the machine shows here
    stages: list[Stage] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    storm_asked: float = math.nan  # the storm scenario: intake asked of wrk (requests/s) and what it got
    storm_served: float = math.nan
    storm_statuses: dict[str, int] = field(default_factory=dict)
    # wrk's paced requests sent over 10 ms after their slot (wrk_intake.lua: no connection was free, or wrk
    # had no CPU), and the latest
    storm_late: int = 0
    storm_late_max_ms: float = math.nan
    # wrk's answer time for the storm's requests (p50, p99, max; ms): a connection answered later than
    # its rate allows (256 connections at ~4,500/s: 57 ms) sends its next request late
    storm_latency_ms: list[float] = field(default_factory=list)
    backlog_seconds: float = math.nan  # from the storm's end until its last triage job had run
    path_ms: dict[str, list[float]] = field(default_factory=dict)  # PAGE_PATH segment: [p50, p99]


@dataclass
class DrainResult:
    name: str
    workers: int
    count: int
    accepted: int = 0
    triage_seconds: float = math.nan
    released: int = 0
    steps_done: int = 0
    first_seconds: float = math.nan
    steps_seconds: float = math.nan
    pages: int = 0
    duplicates: int = 0
    pages_seconds: float = math.nan
    cpu_pct: dict[str, float] = field(default_factory=dict)
    load_average: float = math.nan
    peak_connections: list[int] = field(default_factory=list)  # PostgreSQL: [bench database, whole server]
    stages: list[Stage] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)


@dataclass
class PagingRun:
    database: str
    latency: list[LatencyResult] = field(default_factory=list)
    drain: list[DrainResult] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    skipped: str = ""
    failed: str = ""
    logs_tail: str = ""

    @property
    def troubled(self) -> bool:
        results: list[LatencyResult | DrainResult] = [*self.latency, *self.drain]
        return bool(
            self.failed or any(r.error_samples for r in results) or not all(t.met for t in self.targets)
        )


def _s(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def _cpu(cpu: dict[str, float]) -> tuple[str, ...]:
    return tuple(_pct(cpu.get(key, math.nan)) for key in ("server", "workers", "postgres", "bench"))


def latency_table(run: PagingRun) -> Table:
    table = Table(title=f"{run.database}: intake to sink", title_justify="left", caption=LATENCY_CAPTION)
    headings = ["sent", "202", "paged", "dup", "p50 ms", "p90 ms", "p99 ms", "max ms", "intake p99 ms"]
    headings += ["srv p50", "srv p99", "tail s", "server", "workers", "postgres", "bench", "load"]
    table.add_column("scenario")
    for heading in headings:
        table.add_column(heading, justify="right")
    for r in run.latency:
        paged = str(r.delivered) if r.delivered == r.sent else f"[red]{r.delivered}[/]"
        dup = f"[red]{r.duplicates}[/]" if r.duplicates else "0"
        latency = (_ms(r.p50_ms), _ms(r.p90_ms), _ms(r.p99_ms), _ms(r.max_ms), _ms(r.intake_p99_ms))
        latency = (*latency, _ms(r.server_p50_ms), _ms(r.server_p99_ms))
        row = (str(r.sent), str(r.accepted), paged, dup, *latency, _s(r.tail_seconds), *_cpu(r.cpu_pct))
        row = (*row, _s(r.load_average))
        table.add_row(escape(r.name), *row)
    return table


def drain_table(run: PagingRun) -> Table:
    table = Table(title=f"{run.database}: drain", title_justify="left", caption=DRAIN_CAPTION)
    headings = ["alerts", "triage s", "released", "steps done", "first s", "steps s", "pages", "dup"]
    headings += ["pages s", "pages/s", "server", "workers", "postgres", "bench", "load", "conns"]
    table.add_column("scenario")
    for heading in headings:
        table.add_column(heading, justify="right")
    for r in run.drain:
        rate = r.pages / r.pages_seconds if r.pages_seconds and not math.isnan(r.pages_seconds) else math.nan
        counts = (str(r.accepted), _s(r.triage_seconds), str(r.released), str(r.steps_done))
        pages = (str(r.pages), str(r.duplicates), _s(r.pages_seconds), _s(rate))
        steps = (_s(r.first_seconds), _s(r.steps_seconds))
        conns = "/".join(map(str, r.peak_connections)) or "-"
        table.add_row(escape(r.name), *counts, *steps, *pages, *_cpu(r.cpu_pct), _s(r.load_average), conns)
    return table


def stage_table(run: PagingRun) -> Table:
    table = Table(title=f"{run.database}: where the time goes", title_justify="left", caption=STAGE_CAPTION)
    for heading in (
        "scenario",
        "job kind",
        "jobs",
        "done",
        "retried",
        "failed",
        "p50 ms",
        "p99 ms",
        "max ms",
    ):
        table.add_column(heading, justify="left" if heading in ("scenario", "job kind") else "right")
    results: list[LatencyResult | DrainResult] = [*run.latency, *run.drain]
    for r in results:
        for s in r.stages:
            bad = (f"[red]{s.retried}[/]" if s.retried else "0", f"[red]{s.failed}[/]" if s.failed else "0")
            waits = (_ms(s.wait_p50_ms), _ms(s.wait_p99_ms), _ms(s.wait_max_ms))
            table.add_row(escape(r.name), s.kind, str(s.jobs), str(s.done), *bad, *waits)
    return table


def path_table(run: PagingRun) -> Table:
    table = Table(title=f"{run.database}: a page's path", title_justify="left", caption=PATH_CAPTION)
    table.add_column("scenario", justify="left")
    for segment in PAGE_PATH:
        table.add_column(f"{segment} p50/p99 ms", justify="right")
    for r in run.latency:
        spans = [r.path_ms.get(segment, [math.nan, math.nan]) for segment in PAGE_PATH]
        table.add_row(escape(r.name), *(f"{_ms(p50)} / {_ms(p99)}" for p50, p99 in spans))
    return table


def _print_verdicts(console: Console, run: PagingRun) -> None:
    for target in run.targets:
        mark = "[green]met[/]" if target.met else "[red]NOT MET[/]"
        value = f"{target.value:,.2f}".rstrip("0").rstrip(".") if not math.isnan(target.value) else "-"
        console.print(f"  target {mark}: {escape(target.name)}: {value} (goal {target.goal:,g})")


def print_paging_run(console: Console, run: PagingRun) -> None:
    if run.skipped:
        console.print(f"[yellow]{run.database}: skipped: {escape(run.skipped)}[/]\n")
        return
    if run.failed:
        console.print(f"[red]{run.database}: failed: {escape(run.failed)}[/]")
    if run.latency:
        console.print(latency_table(run))
    if run.drain:
        console.print(drain_table(run))
    if run.latency:
        console.print(path_table(run))
    if run.latency or run.drain:
        console.print(stage_table(run))
    _print_verdicts(console, run)
    results: list[LatencyResult | DrainResult] = [*run.latency, *run.drain]
    for r in results:
        for sample in r.error_samples:
            console.print(f"  [red]error sample[/] {escape(r.name)}: {escape(sample)}", soft_wrap=True)
    if run.logs_tail:
        console.print("  server and worker stderr and logs (tails):", style="bold")
        console.print(escape(run.logs_tail), soft_wrap=True, highlight=False)
    console.print()


def write_paging_json(path: Path, settings: dict[str, Any], runs: list[PagingRun]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    databases = {
        run.database: {
            **dataclasses.asdict(run),
            "targets_met": all(t.met for t in run.targets) if run.targets else None,
        }
        for run in runs
    }
    document = {"settings": settings, "databases": databases}
    path.write_text(json.dumps(_plain(document), indent=2) + "\n")

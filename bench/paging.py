"""`python -m bench --suite paging`: from alert intake to the page arriving at a local webhook sink.

Per database: a fresh database, `warroom serve` (on PostgreSQL with --processes, default 2, one per core,
as the intake bench runs it; SQLite: one process), an admin whose one contact method is a webhook to the
bench's sink (bench/paging_sink.py), and two services with one-step policies paging that admin: `bench`
pages at once, `drain` holds its step for a day. Then, with N `warroom worker` processes beside the server
(on SQLite, a single-writer database, the worker runs inside the server; 1 and 2 on PostgreSQL):

- latency: alerts paced open-loop at --paging-rate/s (default 50) for --seconds (default 60) to
  POST /intake/webhook/{key}; each page's arrival at the sink minus its alert's POST start. Every alert must
  be paged once (the bench waits for the tail), under one Idempotency-Key, never twice.
- drain: --drain-count alerts (default 10,000) posted as fast as the server takes them to the `drain`
  integration; the workers triage them and queue one held escalation step each. Once all are queued, one
  UPDATE makes every one of those steps due at the same instant (GoAlert's engine would find them on its
  next 5 s cycle; warroom's workers poll every 0.5 s), and the bench times until the last step has run and
  until the last page has reached the sink.

Job timings come from the jobs table (direct SQL); CPU from /proc. Figures go to results/paging-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
from rich.console import Console

from bench.databases import DATABASES, DatabaseUnavailable
from bench.intake_load import sender_client
from bench.intake_report import Target
from bench.load import make_client, percentile
from bench.paging_load import (
    ADMIN_EMAIL,
    CpuMeter,
    Keys,
    Sent,
    flood,
    job_errors,
    paced,
    post_alert,
    set_up,
    stages,
)
from bench.paging_procs import JobRow, JobsTable, Workers, code_version, queue_limits, running_workers
from bench.paging_report import DrainResult, LatencyResult, PagingRun, print_paging_run, write_paging_json
from bench.paging_sink import Collector, Sink, collector, running_sink
from bench.server import Server, ServerFailed, admin, running_server, tail_file
from bench.wrk_install import find_wrk

RESULTS = Path(__file__).resolve().parent / "results" / "paging-latest.json"
SECONDS = 60.0
RATE = 50.0
DRAIN_COUNT = 10_000
WORKERS = [1, 2]
TARGET_P99_MS = {"postgresql": 1000.0, "sqlite": 2000.0}
TARGET_DRAIN_SECONDS = 20.0
ISSUE_DRAIN_COUNT = 10_000
TAIL_SECONDS = 120.0  # after the last POST, for the last pages (plus 0.1 s per alert)
STALL_SECONDS = 60.0  # no progress for this long: give up waiting
WARM_UP_SECONDS = 60.0
POST_CONCURRENCY = 32
POLL_SECONDS = 0.25
STORM_SECONDS = 30.0  # pages while intake runs at half the no-op server's rate (bench/paging_storm.py)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("paging suite")
    group.add_argument("--paging-rate", type=float, default=RATE, help=f"alerts/s (default {RATE:g})")
    group.add_argument(
        "--drain-count",
        type=int,
        default=DRAIN_COUNT,
        help=f"held escalation steps (default {DRAIN_COUNT:,})",
    )
    group.add_argument(
        "--storm-seconds",
        type=float,
        default=STORM_SECONDS,
        help=f"the storm scenario's length (default {STORM_SECONDS:g}; 0 skips it; needs wrk)",
    )
    group.add_argument(
        "--paging-workers",
        type=int,
        nargs="+",
        default=WORKERS,
        help="worker counts on PostgreSQL (default 1 2; SQLite: 1)",
    )


@dataclass(frozen=True)
class PagingBench:
    server: Server
    jobs: JobsTable
    sink: Sink
    senders: httpx.AsyncClient
    keys: Keys
    args: argparse.Namespace
    postgres: bool


def deadline_passed(started: float, progressed: float, limit: float, workers: Workers) -> str:
    """Why to stop waiting ("" to go on): the deadline, a stall, or a dead worker."""
    now = time.perf_counter()
    if now - started > limit:
        return f"gave up after {limit:.0f} s"
    if now - progressed > STALL_SECONDS:
        return f"no progress for {STALL_SECONDS:.0f} s"
    return "; ".join(workers.dead())


async def wait_pages(seen: Collector, expected: int, limit: float, workers: Workers) -> str:
    """Until `expected` alerts have been paged; returns why it stopped early ("" when all arrived)."""
    started = progressed = time.perf_counter()
    count = seen.update()
    while count < expected:
        await asyncio.sleep(0.05)
        if seen.update() > count:
            count, progressed = len(seen.first), time.perf_counter()
        elif why := deadline_passed(started, progressed, limit, workers):
            return f"{why}: {count} of {expected} paged"
    return ""


async def warm_up(bench: PagingBench, workers: Workers, alert_id: str) -> None:
    """One page end to end before measuring (connections, caches); a failure here ends the run."""
    seen, sent = collector(bench.sink, alert_id), Sent()
    await post_alert(bench.senders, bench.keys.latency, alert_id, sent)
    why = await wait_pages(seen, 1, WARM_UP_SECONDS, workers) if sent.accepted else f"intake: {sent.samples}"
    if why:
        raise ServerFailed(f"the warm-up page {alert_id} did not arrive: {why}\n{workers.tails()}")


def tail_seconds(sent: Sent) -> float:
    """How long to wait for the last pages after the last POST."""
    return TAIL_SECONDS + sent.accepted / 10


def fill_latency(
    bench: PagingBench,
    result: LatencyResult,
    sent: Sent,
    seen: Collector,
    rows: list[JobRow],
    problems: list[str],
) -> None:
    """The result's figures from what was sent, what arrived and the jobs (`rows`); `problems` are the
    scenario's own ("" when none), kept as error samples."""
    latencies = sorted((at - sent.at[alert]) * 1000 for alert, at in seen.first.items() if alert in sent.at)
    result.sent, result.accepted, result.delivered = len(sent.at), sent.accepted, len(seen.first)
    result.duplicates, result.double_paged = seen.duplicates, seen.double_paged
    result.p50_ms, result.p90_ms = percentile(latencies, 50), percentile(latencies, 90)
    result.p99_ms, result.max_ms = percentile(latencies, 99), latencies[-1] if latencies else math.nan
    result.intake_p99_ms = percentile(sorted(sent.intake_ms), 99)
    result.sender_lag_max_ms = sent.lag_max * 1000
    result.tail_seconds = max(seen.first.values()) - sent.ended if seen.first else math.nan
    result.stages = stages(rows)
    in_server = bench.jobs.page_latencies_ms(seen.prefix)
    result.server_p50_ms, result.server_p99_ms = percentile(in_server, 50), percentile(in_server, 99)
    result.path_ms = bench.jobs.page_path_ms(seen.prefix)
    result.error_samples = [*sent.samples, *(text for text in problems if text), *job_errors(rows)]


async def latency_scenario(bench: PagingBench, workers: int) -> LatencyResult:
    rate, seconds = bench.args.paging_rate, bench.args.paging_seconds
    name = f"{rate:g}/s for {seconds:g} s, {worker_label(workers)}"
    result = LatencyResult(name=name, workers=workers, rate=rate, seconds=seconds)
    prefix = f"lat-w{workers}-"
    with running_workers(bench.server, workers, f"latency-{workers}") as procs:
        await warm_up(bench, procs, f"warm-w{workers}-{time.time_ns()}")
        after, seen = bench.jobs.watermark(), collector(bench.sink, prefix)
        meter = CpuMeter(bench.server, procs, bench.postgres)
        meter.start()
        ids = [f"{prefix}{number:06d}" for number in range(max(1, round(rate * seconds)))]
        sent = await paced(bench.senders, bench.keys.latency, ids, rate)
        why = await wait_pages(seen, sent.accepted, tail_seconds(sent), procs)
        result.cpu_pct = meter.percent()
        result.load_average = os.getloadavg()[0]
        rows = bench.jobs.jobs(after)
    fill_latency(bench, result, sent, seen, rows, [why])
    return result


async def wait_held(bench: PagingBench, after: int, expected: int, workers: Workers) -> str:
    """Until every posted alert has been triaged and its (held) escalation step queued."""
    started = progressed = time.perf_counter()
    held, limit = 0, 120 + expected / 10
    while held < expected:
        await asyncio.sleep(POLL_SECONDS)
        now_held = bench.jobs.step_states(after).get("pending", 0)
        bench.jobs.note_connections()
        if now_held > held:
            held, progressed = now_held, time.perf_counter()
        elif why := deadline_passed(started, progressed, limit, workers):
            return f"triage: {why}: {held} of {expected} steps queued"
    return ""


async def wait_drained(
    bench: PagingBench, after: int, seen: Collector, expected: int, workers: Workers
) -> str:
    """Until the released steps have all run (done or failed) and their pages have all arrived."""
    started = progressed = time.perf_counter()
    progress, limit = (0, 0), 120 + expected / 10
    while progress[0] < expected or progress[1] < expected:
        await asyncio.sleep(POLL_SECONDS)
        states = bench.jobs.step_states(after)
        bench.jobs.note_connections()
        now = (states.get("done", 0) + states.get("failed", 0), seen.update())
        if now > progress:
            progress, progressed = now, time.perf_counter()
        elif why := deadline_passed(started, progressed, limit, workers):
            return f"drain: {why}: {progress[0]} steps run, {progress[1]} pages, of {expected}"
    return ""


def _fill_drain(
    result: DrainResult, rows: list[JobRow], released_at: datetime, t0: float, seen: Collector
) -> None:
    steps = [r for r in rows if r.kind == "escalation.step" and r.state == "done" and r.finished_at]
    finished = [r.finished_at for r in steps if r.finished_at is not None]
    result.steps_done = len(finished)
    if finished:
        result.first_seconds = (min(finished) - released_at).total_seconds()
        result.steps_seconds = (max(finished) - released_at).total_seconds()
    result.pages, result.duplicates = len(seen.first), seen.duplicates
    if seen.first and result.pages >= result.released:
        result.pages_seconds = max(seen.first.values()) - t0
    result.stages = stages(rows)


async def drain_scenario(bench: PagingBench, workers: int) -> DrainResult:
    count = bench.args.drain_count
    name = f"{count:,} steps due at once, {worker_label(workers)}"
    result, prefix = DrainResult(name=name, workers=workers, count=count), f"drain-w{workers}-"
    with running_workers(bench.server, workers, f"drain-{workers}") as procs:
        after, bench.jobs.peak_connections = bench.jobs.watermark(), (0, 0)
        sent = await flood(
            bench.senders, bench.keys.drain, [f"{prefix}{n:06d}" for n in range(count)], POST_CONCURRENCY
        )
        result.accepted = sent.accepted
        why = await wait_held(bench, after, sent.accepted, procs)
        result.triage_seconds = time.perf_counter() - sent.began
        seen, meter = collector(bench.sink, prefix), CpuMeter(bench.server, procs, bench.postgres)
        meter.start()
        released_at, t0 = datetime.now(UTC), time.perf_counter()
        if not why:  # every step is held: make them all due now, in one statement
            result.released = bench.jobs.release_steps(after, released_at)
            why = await wait_drained(bench, after, seen, result.released, procs)
        result.cpu_pct = meter.percent()
        result.load_average = os.getloadavg()[0]
        rows = bench.jobs.jobs(after)
    _fill_drain(result, rows, released_at, t0, seen)
    result.peak_connections = list(bench.jobs.peak_connections) if bench.postgres else []
    result.error_samples = [*sent.samples, *([why] if why else []), *job_errors(rows)]
    return result


async def storm_scenarios(bench: PagingBench, counts: list[int], run: PagingRun) -> None:
    """Last, as its backlog is the heaviest; skipped without wrk or with --storm-seconds 0."""
    from bench import paging_storm  # it builds on this module's scenarios: imported once they exist

    binary = find_wrk(Console(stderr=True)) if bench.args.storm_seconds > 0 else None
    if binary is None:
        return
    storm = await paging_storm.measure_noop(binary)
    for workers in counts:
        run.latency.append(await paging_storm.storm_scenario(bench, workers, storm))


def targets(database: str, run: PagingRun) -> list[Target]:
    """The issue's goals: p99 intake-to-sink under 1 s (PostgreSQL) or 2 s (SQLite); 10,000 steps in 20 s."""
    found, goal = [], TARGET_P99_MS[database]
    for r in run.latency:
        found.append(Target(f"{r.name}: p99 ms < {goal:g}", r.p99_ms, goal, r.p99_ms < goal))
        once = r.accepted == r.sent == r.delivered and not r.duplicates and not r.double_paged
        found.append(Target(f"{r.name}: every alert paged, once (paged, of sent)", r.delivered, r.sent, once))
        if not math.isnan(r.storm_asked):  # the storm was as asked (wrk paced it), every storm request 202
            served = r.storm_served >= 0.95 * r.storm_asked and set(r.storm_statuses) == {"202"}
            late = f"{r.storm_late:,} sent over 10 ms late, the latest {r.storm_late_max_ms:,.0f} ms"
            if len(r.storm_latency_ms) == 3:
                late += ", answered p50/p99/max {:,.0f}/{:,.0f}/{:,.0f} ms".format(*r.storm_latency_ms)
            name = f"{r.name}: intake served/s >= 95% of asked, all 202 ({late})"
            found.append(Target(name, r.storm_served, 0.95 * r.storm_asked, served))
    for d in run.drain:
        note = "" if d.count >= ISSUE_DRAIN_COUNT else f" (the issue's target is for {ISSUE_DRAIN_COUNT:,})"
        all_run = d.steps_done == d.released == d.count
        name = f"{d.name}: every step run, s < {TARGET_DRAIN_SECONDS:g}{note}"
        found.append(
            Target(
                name,
                d.steps_seconds,
                TARGET_DRAIN_SECONDS,
                all_run and d.steps_seconds < TARGET_DRAIN_SECONDS,
            )
        )
        name = f"{d.name}: stricter reading, every page at the sink, s < {TARGET_DRAIN_SECONDS:g}{note}"
        met = d.pages == d.count and not d.duplicates and d.pages_seconds < TARGET_DRAIN_SECONDS
        found.append(Target(name, d.pages_seconds, TARGET_DRAIN_SECONDS, met))
    return found


def worker_label(workers: int) -> str:
    """0 workers means the worker runs inside the server process."""
    if workers == 0:
        return "worker in the server process"
    return f"{workers} worker{'s' if workers > 1 else ''}"


def admin_token(server: Server) -> str:
    args = ["token", "create", "--email", ADMIN_EMAIL, "--name", "bench", "--role", "admin"]
    lines = [line.strip() for line in admin(args, server.env).splitlines() if line.strip()]
    if not lines:
        raise ServerFailed("`warroom token create` printed no token")
    return lines[-1]


async def run_server(server: Server, args: argparse.Namespace, run: PagingRun) -> None:
    """Set up, then each scenario in turn; results land in `run` as they come (a failure keeps the rest)."""
    postgres = run.database == "postgresql"
    counts = args.paging_workers if postgres else [0]
    token, jobs = admin_token(server), JobsTable(server.env["WARROOM_DATABASE_URL"])
    try:
        with running_sink() as sink:
            async with (
                make_client(server.base_url, token, 4) as api,
                sender_client(server.base_url, POST_CONCURRENCY * 2) as senders,
            ):
                keys = await set_up(api, sink.url)
                bench = PagingBench(server, jobs, sink, senders, keys, args, postgres)
                for workers in counts:
                    run.latency.append(await latency_scenario(bench, workers))
                for workers in counts:
                    run.drain.append(await drain_scenario(bench, workers))
                await storm_scenarios(bench, counts, run)
    finally:
        jobs.close()


def logs_tail(data_dir: Path) -> str:
    """The server's stderr and every worker's, and their logs (structlog writes to stdout), where not
    empty."""
    parts = [f"--- server.stderr.log\n{tail_file(data_dir / 'server.stderr.log')}"]
    logs = [data_dir / "server.stdout.log", *sorted(data_dir.glob("*-worker-*.err"))]
    for log in [*logs, *sorted(data_dir.glob("*-worker-*.out"))]:
        if log.exists() and log.stat().st_size:
            parts.append(f"--- {log.name}\n{tail_file(log, 20)}")
    return "\n".join(parts)


def run_database(name: str, args: argparse.Namespace, console: Console) -> PagingRun:
    """A fresh database and server in a temp dir; failures become part of the report, not a traceback."""
    run = PagingRun(database=name)
    with tempfile.TemporaryDirectory(prefix=f"warroom-bench-paging-{name}-") as tmp:
        data_dir = Path(tmp)
        console.print(f"[bold]{name}[/]: paging bench in {data_dir} ...")
        try:
            # SQLite admits one writer: its worker runs inside the server process (`serve --with-worker`,
            # what `warroom run` does), so intake and jobs take turns in-process instead of busy-waiting.
            embedded = name == "sqlite"
            processes = 1 if embedded else args.processes
            with (
                DATABASES[name](data_dir) as url,
                running_server(url, data_dir, processes, with_worker=embedded) as server,
            ):
                asyncio.run(run_server(server, args, run))
        except DatabaseUnavailable as error:
            run.skipped = str(error)
        except (ServerFailed, httpx.HTTPError, psycopg.Error, subprocess.SubprocessError, OSError) as error:
            run.failed = f"{type(error).__name__}: {error}"
        run.targets = targets(name, run)
        if run.troubled and not run.skipped:
            run.logs_tail = logs_tail(data_dir)
    return run


def main(args: argparse.Namespace, console: Console, settings: dict[str, object]) -> int:
    """Each database in turn; the tables, the targets, and RESULTS. Non-zero if a run failed."""
    settings = {key: value for key, value in settings.items() if key not in ("concurrency", "max_requests")}
    settings.update(seconds=args.paging_seconds, rate=args.paging_rate, drain_count=args.drain_count)
    settings.update(
        storm_seconds=args.storm_seconds, server_processes={"sqlite": 1, "postgresql": args.processes}
    )
    settings.update(workers={"sqlite": [0], "postgresql": args.paging_workers}, queues=queue_limits())
    settings.update(load_average_at_start=os.getloadavg(), target_p99_ms=TARGET_P99_MS)
    settings.update(target_drain_seconds=TARGET_DRAIN_SECONDS)
    settings.update(
        note="server, workers, PostgreSQL and the bench (sender and sink) share the machine's CPUs"
    )
    settings.update(code=code_version())
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    console.print(
        f"warroom paging bench, {settings['code']}: {args.paging_rate:g} alerts/s for "
        f"{args.paging_seconds:g} s, then "
        f"{args.drain_count:,} escalation steps due at once; server processes: SQLite 1, PostgreSQL "
        f"{args.processes}; workers: SQLite 1 (single writer), PostgreSQL "
        f"{', '.join(map(str, args.paging_workers))}; load average {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs shared by everything.\n"
    )
    runs = []
    for name in names:
        run = run_database(name, args, console)
        print_paging_run(console, run)
        runs.append(run)
    if (now := code_version()) != settings["code"]:
        settings.update(code_at_end=now)
        console.print(
            f"[red]the code changed during the run[/]: {settings['code']} at the start, {now} at the end"
        )
    write_paging_json(RESULTS, settings, runs)
    console.print(f"figures written to {RESULTS}")
    return 1 if any(run.failed for run in runs) else 0

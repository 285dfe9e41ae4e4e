"""The intake bench's max-rate scenarios driven by wrk (C, an event loop per thread) and bench/wrk_intake.lua.

The Python load generator needs about a core to send ~350 requests/s, so on a small machine its max-rate
figures measure the client. wrk sends the same bodies for a fraction of that. Per thread count: GET /healthz
(the baseline), PagerDuty v2 triggers, Opsgenie alerts created and Alertmanager notifications, each alert
with a key of its own.

The Lua script stops sending after --seconds and then holds its connections idle for DRAIN_SECONDS, so the
requests in flight are answered before wrk stops and every alert the server stored had its 202 counted:
the 202s must equal the growth of the alert total.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from rich.console import Console

from bench.intake_report import accepted_rate
from bench.load import ScenarioResult
from bench.scenarios import Check
from bench.server import Server
from bench.wrk_install import find_wrk
from warroom.db import sync_url

SCRIPT = Path(__file__).resolve().with_name("wrk_intake.lua")
# On 2 CPUs -t1 and -t2 left the server the same CPU (~93 % of a core) and gave rates within run-to-run noise:
# wrk itself needs ~3 % of a core at ~1,000 requests/s. --wrk-threads 1,2 runs both.
THREADS = "2"
CONNECTIONS = 32
DRAIN_SECONDS = 2
BACKLOG_SECONDS = 600.0  # how long a flood's backlog may take to be derived after a scenario
TIMEOUT = "10s"  # wrk counts a slower answer as a timeout error
RESULT_PREFIX = "WRK_RESULT "
SCENARIOS = (  # role, WRK_KIND, the status that counts, the scenario's name
    ("baseline", "healthz", "200", "GET /healthz (baseline)"),
    ("pagerduty", "pagerduty", "202", "POST /v2/enqueue"),
    ("opsgenie", "opsgenie", "202", "POST /v2/alerts"),
    ("alertmanager", "alertmanager", "202", "POST /intake/alertmanager/{key}"),
)


Outcome = tuple[ScenarioResult, Check | None]
Scenario = tuple[str, str, str, str]
Paired = tuple[ScenarioResult, Check, ScenarioResult | None]  # warroom's run, its check, the no-op's
ROUNDS = 3
PACED_CONNECTIONS = 8  # at 200/s and a few ms each, one connection alone could carry the rate


@dataclass(frozen=True)
class WrkOptions:
    binary: str
    threads: tuple[int, ...]
    connections: int
    seconds: float
    rounds: int = ROUNDS  # alternating runs of warroom and the no-op server per payload


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run printed (its WRK_RESULT line, or nothing), and the CPU both sides used."""

    report: dict[str, Any]
    server_cpu_pct: float
    client_cpu_pct: float
    problem: str = ""


def thread_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--wrk-threads: positive integers, comma-separated, not {text!r}")
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wrk-threads",
        type=thread_counts,
        default=THREADS,
        help=f"intake: wrk thread counts to run, comma-separated, e.g. 1,2 (default {THREADS})",
    )
    parser.add_argument(
        "--wrk-connections",
        type=int,
        default=CONNECTIONS,
        help=f"intake: wrk connections (default {CONNECTIONS})",
    )
    parser.add_argument(
        "--wrk-rounds",
        type=int,
        default=ROUNDS,
        help=f"intake: alternating warroom / no-op runs per payload, median ratio kept (default {ROUNDS})",
    )
    parser.add_argument("--no-wrk", action="store_true", help="intake: skip the wrk max-rate scenarios")


def options_for(args: argparse.Namespace, console: Console) -> WrkOptions | None:
    """None when wrk is off or cannot be had (find_wrk says so and installs it if it may)."""
    if args.no_wrk:
        return None
    threads: tuple[int, ...] = args.wrk_threads
    binary = find_wrk(console)
    if binary is None:
        return None
    connections = max(args.wrk_connections, max(threads))  # wrk wants at least a connection per thread
    rounds = max(1, args.wrk_rounds)
    return WrkOptions(binary, threads, connections, args.seconds, rounds)


def wrk_command(options: WrkOptions, threads: int, base_url: str) -> list[str]:
    duration = math.ceil(options.seconds) + DRAIN_SECONDS
    return [
        options.binary,
        f"-t{threads}",
        f"-c{options.connections}",
        f"-d{duration}s",
        "--timeout",
        TIMEOUT,
        "-s",
        str(SCRIPT),
        base_url,
    ]


def parse_report(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            report: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return report
    return {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk's, once it has been waited for
    return usage.ru_utime + usage.ru_stime


async def run_wrk(
    server: Server, options: WrkOptions, threads: int, kind: str, key: str, tag: int, rate: float = 0
) -> WrkRun:
    """One wrk run (paced at `rate` requests/s in all if given); the server's CPU over the sending phase,
    wrk's own CPU over the whole run."""
    env = {**os.environ, "WRK_KIND": kind, "WRK_INTEGRATION_KEY": key}
    env.update(WRK_SECONDS=f"{options.seconds:g}", WRK_TAG=str(tag))
    if rate:
        env.update(WRK_RATE=f"{rate:g}", WRK_THREADS=str(threads))
    client_cpu, server_cpu, started = _children_cpu(), server.cpu_seconds(), time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *wrk_command(options, threads, server.base_url),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(options.seconds)
    server_pct = 100 * (server.cpu_seconds() - server_cpu) / (time.perf_counter() - started)
    limit = math.ceil(options.seconds) + DRAIN_SECONDS + 60
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=limit)
    except TimeoutError:
        process.kill()  # wrk stops itself at -d; this is a hang
        await process.wait()
        raise
    report = parse_report(out.decode(errors="replace"))
    sending = float(report.get("elapsed_s") or 0) or options.seconds
    client_pct = 100 * (_children_cpu() - client_cpu) / sending
    if report:
        return WrkRun(report, server_pct, client_pct)
    problem = f"wrk exited {process.returncode} without a WRK_RESULT line: {err.decode(errors='replace')}"
    return WrkRun(report, server_pct, client_pct, problem.strip()[-500:])


def _errors(report: dict[str, Any], expect: str) -> tuple[int, dict[str, int], list[str]]:
    """Answers other than `expect`, socket errors and requests left unanswered, with the statuses."""
    statuses = {code: int(count) for code, count in sorted(report["statuses"].items())}
    sockets = {name: int(count) for name, count in report["errors"].items() if name != "status" and count}
    unanswered = int(report["sent"]) - int(report["answered"])
    if unanswered:
        statuses["unanswered"] = unanswered
    others = sum(count for code, count in statuses.items() if code not in (expect, "unanswered"))
    samples = [f"wrk socket errors: {sockets}"] if sockets else []
    if unanswered:
        samples.append(f"{unanswered} requests still unanswered when wrk stopped")
    return others + sum(sockets.values()) + unanswered, statuses, samples


def failed_result(name: str, run: WrkRun) -> ScenarioResult:
    nan = math.nan
    return ScenarioResult(
        name=name,
        requests=0,
        ok=0,
        errors=1,
        seconds=0.0,
        rate=0.0,
        p50_ms=nan,
        p90_ms=nan,
        p99_ms=nan,
        statuses={},
        error_samples=[run.problem],
        client_cpu_pct=run.client_cpu_pct,
        server_cpu_pct=run.server_cpu_pct,
    )


def scenario_result(name: str, run: WrkRun, expect: str) -> ScenarioResult:
    """wrk's report as a table row: answers per second over the sending phase, wrk's latency percentiles."""
    report = run.report
    if not report:
        return failed_result(name, run)
    errors, statuses, samples = _errors(report, expect)
    seconds = float(report["elapsed_s"])
    latency = report["latency_us"]
    answered = int(report["answered"])
    return ScenarioResult(
        name=name,
        requests=answered,
        ok=statuses.get(expect, 0),
        errors=errors,
        seconds=round(seconds, 3),
        rate=answered / seconds if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        statuses=statuses,
        error_samples=samples,
        client_cpu_pct=run.client_cpu_pct,
        server_cpu_pct=run.server_cpu_pct,
    )


def _row_count(database_url: str, table: str) -> int:
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def stored_alerts(database_url: str) -> int:
    """Every alert row, counted in the database itself (the API counts only up to 10,000)."""
    return _row_count(database_url, "alerts")


def backlog_size(database_url: str) -> int:
    """Requests stored but not yet derived into alerts (warroom.alerts.intake.backlog)."""
    return _row_count(database_url, "intake_backlog")


async def drained_seconds(server: Server) -> float:
    """Wait until the server has derived its intake backlog (a flood's requests are answered once stored
    and derived after); how long that took. Raises if it is not done within BACKLOG_SECONDS."""
    url, started = server.env["WARROOM_DATABASE_URL"], time.monotonic()
    while await asyncio.to_thread(backlog_size, url):
        if time.monotonic() - started > BACKLOG_SECONDS:
            raise TimeoutError(f"the intake backlog was not derived within {BACKLOG_SECONDS:.0f} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def alert_total(server: Server) -> int:
    """Every alert, once the server has derived what it took (see drained_seconds)."""
    await drained_seconds(server)
    return await asyncio.to_thread(stored_alerts, server.env["WARROOM_DATABASE_URL"])


@dataclass(frozen=True)
class WrkBench:
    server: Server
    api: httpx.AsyncClient  # with the admin token, for the alert total
    options: WrkOptions
    keys: dict[str, str]
    rate: float  # the paced scenario's requests/s
    noop: Server | None = None  # bench/noop_app.py: the same routes parsing JSON and storing nothing


async def noop_rate(bench: WrkBench, threads: int, scenario: Scenario, tag: int) -> ScenarioResult:
    """The no-op server's rate for the same payload and wrk settings (issue #20's yardstick)."""
    assert bench.noop is not None
    _role, kind, expect, name = scenario
    run = await run_wrk(bench.noop, bench.options, threads, kind, "noop", tag)
    return scenario_result(f"wrk -t{threads} -c{bench.options.connections}: no-op {name}", run, expect)


async def stored(bench: WrkBench, threads: int, scenario: Scenario, tag: int) -> Outcome:
    """One wrk run; for intake, the check that the alert total grew by the 202s (every key is new)."""
    role, kind, expect, name = scenario
    label = f"wrk -t{threads} -c{bench.options.connections}"
    before = await alert_total(bench.server)
    run = await run_wrk(bench.server, bench.options, threads, kind, bench.keys.get(kind, ""), tag)
    result = scenario_result(f"{label}: {name}", run, expect)
    if kind == "healthz":
        return result, None
    derived_after = await drained_seconds(bench.server)
    added = await alert_total(bench.server) - before
    derived_rate = result.ok / (result.seconds + derived_after) if result.seconds else math.nan
    name = (
        f"{label} {role}: keys answered 202 (all distinct) vs alerts added (backlog derived"
        f" {derived_after:.1f} s after the run: {derived_rate:,.0f} alerts/s overall)"
    )
    return result, Check(name, result.ok, added)


async def paced(bench: WrkBench, threads: int, rate: float, tag: int) -> tuple[ScenarioResult, Check]:
    """PagerDuty triggers at `rate` a second, spread evenly (wrk's latency: from each request's sending).

    On PACED_CONNECTIONS: wrk sends each connection's first request at once, unpaced, and a burst of 32
    at the start was 1.6% of a 10 s run's requests, enough to be its p99."""
    options = dataclasses.replace(
        bench.options, connections=min(bench.options.connections, PACED_CONNECTIONS)
    )
    label = f"wrk -t{threads} -c{options.connections}"
    before = await alert_total(bench.server)
    run = await run_wrk(bench.server, options, threads, "pagerduty", bench.keys["pagerduty"], tag, rate)
    result = scenario_result(f"{label}: POST /v2/enqueue, {rate:g}/s open loop", run, "202")
    added = await alert_total(bench.server) - before
    return result, Check(f"{label} paced: keys answered 202 (all distinct) vs alerts added", result.ok, added)


async def _paired(bench: WrkBench, threads: int, scenario: Scenario, tag: int) -> Paired:
    """One round: warroom's run, then the no-op server's right after, so both see the same machine."""
    result, check = await stored(bench, threads, scenario, tag)
    assert check is not None
    if bench.noop is None:
        return result, check, None
    noop = await noop_rate(bench, threads, scenario, tag)
    ratio = accepted_rate(result) / noop.rate if noop.rate else None
    return dataclasses.replace(result, vs_baseline=ratio), check, noop


def median_round(rounds: list[Paired]) -> Paired:
    """The round whose ratio to the no-op server is the median (the middle one of an odd count): this
    machine's speed drifts between runs (the no-op's rate moved by a third from one run to the next), so one
    pair of runs can land anywhere."""
    ranked = sorted(rounds, key=lambda paired: paired[0].vs_baseline or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def _labelled(result: ScenarioResult, rounds: list[Paired]) -> ScenarioResult:
    if len(rounds) < 2:
        return result
    ratios = ", ".join(f"{paired[0].vs_baseline or 0:.2f}" for paired in rounds)
    return dataclasses.replace(result, name=f"{result.name} (median of {len(rounds)} rounds: {ratios})")


async def wrk_scenarios(bench: WrkBench) -> tuple[dict[str, ScenarioResult], list[Check]]:
    """Per thread count: the baseline, then each intake kind in `rounds` rounds against the no-op server;
    every round's stored-alerts check counts."""
    results: dict[str, ScenarioResult] = {}
    checks: list[Check] = []
    tag = 0
    for threads in bench.options.threads:
        for scenario in SCENARIOS:
            role = scenario[0]
            tag += 1  # part of every key (Lua: two hex digits, more past 255): no two runs share a key
            if role == "baseline":
                results[f"wrk-baseline-t{threads}"] = (await stored(bench, threads, scenario, tag))[0]
                continue
            rounds = [await _paired(bench, threads, scenario, tag)]
            for _ in range(1, bench.options.rounds if bench.noop is not None else 1):
                tag += 1
                rounds.append(await _paired(bench, threads, scenario, tag))
            checks.extend(paired[1] for paired in rounds)
            result, _check, noop = median_round(rounds)
            results[f"wrk-{role}-t{threads}"] = _labelled(result, rounds)
            if noop is not None:
                results[f"wrk-noop-{role}-t{threads}"] = noop
        tag += 1
        result, check = await paced(bench, threads, bench.rate, tag)
        results[f"wrk-paced-t{threads}"] = result
        checks.append(check)
    return results, checks

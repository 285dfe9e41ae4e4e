"""`python -m bench`: benchmark the API (results/latest.json), alert intake (results/intake-latest.json) and
paging from intake to a webhook sink (results/paging-latest.json) on SQLite and PostgreSQL; print tables."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console

from bench import cli, intake, paging, web
from bench.databases import DATABASES, DatabaseUnavailable
from bench.load import LoadOptions
from bench.report import print_run, write_json
from bench.scenarios import DatabaseRun, audit_verify, bench_server
from bench.server import ServerFailed, running_server, tail_file

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
MAX_REQUESTS = 100_000
SECONDS = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"duration of each scenario (default {SECONDS:g}; paging: {paging.SECONDS:g})",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent API workers (default 16)")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--suite",
        choices=("api", "intake", "paging", "web", "cli", "all"),
        default="all",
        help="API, alert intake, paging, web pages, CLI start-up, or all five (default all)",
    )
    intake.add_arguments(parser)
    paging.add_arguments(parser)
    parser.add_argument(
        "--max-requests",
        type=int,
        default=MAX_REQUESTS,
        help=f"per API scenario (default {MAX_REQUESTS:,}; intake: {intake.MAX_REQUESTS:,})",
    )
    args = parser.parse_args(argv)
    args.paging_seconds = paging.SECONDS if args.seconds is None else args.seconds
    args.seconds = SECONDS if args.seconds is None else args.seconds
    if args.seconds <= 0 or args.concurrency < 1 or args.max_requests < 1:
        parser.error("--seconds, --concurrency and --max-requests must be positive")
    if args.senders < 1 or args.rate <= 0 or args.wrk_connections < 1:
        parser.error("--senders, --rate and --wrk-connections must be positive")
    if args.paging_rate <= 0 or args.drain_count < 1 or min(args.paging_workers) < 1:
        parser.error("--paging-rate, --drain-count and --paging-workers must be positive")
    return args


def _measure_database(run: DatabaseRun, data_dir: Path, options: LoadOptions) -> None:
    with DATABASES[run.database](data_dir) as url:
        with running_server(url, data_dir) as server:
            run.scenarios, run.checks = asyncio.run(bench_server(server, options))
        run.audit_ok, run.audit = audit_verify(server)


def run_database(name: str, options: LoadOptions, console: Console) -> DatabaseRun:
    """A fresh database and server in a temp dir; failures become part of the report, not a traceback."""
    run = DatabaseRun(database=name)
    with tempfile.TemporaryDirectory(prefix=f"warroom-bench-{name}-") as tmp:
        data_dir = Path(tmp)
        console.print(f"[bold]{name}[/]: benchmarking in {data_dir} ...")
        try:
            _measure_database(run, data_dir, options)
        except DatabaseUnavailable as error:
            run.skipped = str(error)
        except (ServerFailed, httpx.HTTPError, psycopg.Error, subprocess.SubprocessError, OSError) as error:
            run.failed = f"{type(error).__name__}: {error}"
        if run.troubled:
            run.server_stderr_tail = tail_file(data_dir / "server.stderr.log")
    return run


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "max_requests": args.max_requests,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "note": "load generator and server share the machine's CPUs",
    }


def run_api(args: argparse.Namespace, console: Console, settings: dict[str, Any]) -> int:
    options = LoadOptions(seconds=args.seconds, concurrency=args.concurrency, max_requests=args.max_requests)
    names = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    console.print(
        f"warroom bench: {args.seconds:g} s per scenario, {args.concurrency} workers, "
        f"{settings['cpus']} CPUs shared by client and server, Python {settings['python']}\n"
    )
    runs = []
    for name in names:
        run = run_database(name, options, console)
        print_run(console, run, settings)
        runs.append(run)
    write_json(RESULTS, settings, runs)
    console.print(f"figures written to {RESULTS}")
    return 1 if any(run.failed for run in runs) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)  # a pipe or a log file gets a wide table
    settings = settings_for(args)
    codes = [0]
    if args.suite in ("api", "all"):
        codes.append(run_api(args, console, settings))
    if args.suite in ("intake", "all"):
        codes.append(intake.main(args, console, settings))
    if args.suite in ("paging", "all"):
        codes.append(paging.main(args, console, settings))
    if args.suite in ("web", "all"):
        codes.append(web.main(args, console, settings))
    if args.suite in ("cli", "all"):
        codes.append(cli.main(args, console, settings))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())

"""The paging bench's other processes and its window on the jobs table.

`warroom worker` subprocesses with the server's environment (same database, same data dir, so the same
secret key), their CPU time from /proc, PostgreSQL's CPU time from /proc, and a few direct SQL statements
on `jobs`: a watermark (max id) so a scenario reads only its own jobs, the state counts of its escalation
steps, their timestamps, and the one UPDATE that makes held escalation steps fall due at the same moment.
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.load import percentile
from bench.paging_report import PAGE_PATH
from bench.server import REPO, WARROOM, Server, ServerFailed, _process_cpu, startup_seconds, stop, tail_file

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite (naive UTC text)


@dataclass(frozen=True)
class Workers:
    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]  # each worker's stderr

    def cpu_seconds(self) -> float:
        try:
            return sum(_process_cpu(str(p.pid)) for p in self.processes)
        except (OSError, IndexError):
            return math.nan

    def dead(self) -> list[str]:
        return [
            f"worker {n} exited {p.returncode}" for n, p in enumerate(self.processes) if p.poll() is not None
        ]

    def tails(self, lines: int = 20) -> str:
        return "\n".join(f"--- {log.name}\n{tail_file(log, lines)}" for log in self.logs)


def _wait_running(process: subprocess.Popen[bytes], out: Path, err: Path) -> None:
    limit = startup_seconds()
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"worker exited {process.returncode} at start:\n{tail_file(err)}")
        if out.exists() and "worker running" in out.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise ServerFailed(f"worker did not say it runs within {limit:.0f} s:\n{tail_file(err)}")


@contextmanager
def running_workers(server: Server, count: int, tag: str) -> Iterator[Workers]:
    """`count` `warroom worker` processes beside the server, each once it has said it runs; stopped after."""
    data_dir = Path(server.env["WARROOM_DATA_DIR"])
    env = {**server.env, "PYTHONUNBUFFERED": "1"}
    workers = Workers(processes=[], logs=[])
    try:
        for number in range(count):
            out, err = data_dir / f"{tag}-worker-{number}.out", data_dir / f"{tag}-worker-{number}.err"
            with out.open("wb") as out_file, err.open("wb") as err_file:
                command = [str(WARROOM), "worker"]
                process = subprocess.Popen(command, env=env, cwd=data_dir, stdout=out_file, stderr=err_file)
            workers.processes.append(process)
            workers.logs.append(err)
            _wait_running(process, out, err)
        yield workers
    finally:
        for process in workers.processes:
            stop(process)


def _stat(pid: str) -> tuple[str, float]:
    """(command name, CPU seconds of the process itself plus its reaped children)."""
    head, tail = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    fields = tail.split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return head.split("(", 1)[1], ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of PostgreSQL on this machine: every postgres process, and the backends that have exited
    (counted in the postmaster's reaped-children time). All its databases, not only the bench's."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, seconds = _stat(entry.name)
            except (OSError, IndexError, ValueError):
                continue
            total += seconds if name.startswith("postgres") else 0.0
    return total


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    state: str
    attempts: int
    created_at: datetime
    run_at: datetime  # when it fell due (a retry's backoff moves it)
    finished_at: datetime | None
    last_error: str | None


def _aware(value: Any) -> datetime | None:
    """SQLite gives naive UTC text, PostgreSQL an aware datetime."""
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _moment(value: Any) -> datetime:
    moment = _aware(value)
    if moment is None:
        raise ValueError("a NOT NULL timestamp of jobs is NULL")
    return moment


class JobsTable:
    """Direct SQL on the server's database: sqlite3 for a SQLite URL, psycopg for PostgreSQL."""

    def __init__(self, database_url: str) -> None:
        self.sqlite = database_url.startswith("sqlite")
        if self.sqlite:
            self.connection: Any = sqlite3.connect(database_url.split("///", 1)[1], timeout=60)
            self.connection.execute("PRAGMA busy_timeout=60000")
        else:
            self.connection = psycopg.connect(database_url, autocommit=True)
        self.peak_connections = (0, 0)  # (this database, the whole server), see note_connections

    def close(self) -> None:
        self.connection.close()

    def _rows(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.sqlite:
            statement = statement.replace("?", "%s")
        return list(self.connection.execute(statement, params).fetchall())

    def watermark(self) -> int:
        return int(self._rows("SELECT coalesce(max(id), 0) FROM jobs")[0][0])

    def step_states(self, after: int) -> dict[str, int]:
        query = "SELECT state, count(*) FROM jobs WHERE kind = 'escalation.step' AND id > ? GROUP BY state"
        return {str(state): int(n) for state, n in self._rows(query, (after,))}

    def progress(self, kind: str, after: int) -> tuple[int, int]:
        """Jobs of `kind` queued after the watermark: how many are not yet done or failed, how many are."""
        query = (
            "SELECT count(*) FILTER (WHERE state NOT IN ('done', 'failed')),"
            " count(*) FILTER (WHERE state IN ('done', 'failed')) FROM jobs WHERE kind = ? AND id > ?"
        )
        waiting, ended = self._rows(query, (kind, after))[0]
        return int(waiting), int(ended)

    def note_connections(self) -> None:
        """PostgreSQL: the peak of connections to the bench's database, and to the whole server, so far."""
        if self.sqlite:
            return
        query = "SELECT count(*) FILTER (WHERE datname = current_database()), count(*) FROM pg_stat_activity"
        ours, everyone = self._rows(query)[0]
        self.peak_connections = (max(self.peak_connections[0], ours), max(self.peak_connections[1], everyone))

    def jobs(self, after: int) -> list[JobRow]:
        query = (
            "SELECT id, kind, state, attempts, created_at, run_at, finished_at, last_error FROM jobs "
            "WHERE id > ? ORDER BY id"
        )
        return [
            JobRow(int(i), kind, state, int(tries), _moment(created), _moment(due), _aware(finished), error)
            for i, kind, state, tries, created, due, finished, error in self._rows(query, (after,))
        ]

    def page_latencies_ms(self, prefix: str) -> list[float]:
        """Inside the server: each sent page's sent_at minus its alert's first_seen_at (the moment intake
        took the request), sorted; the bench's own sender and sink play no part in it."""
        query = (
            "SELECT a.first_seen_at, m.sent_at FROM outgoing_messages m JOIN alerts a ON a.id = m.alert_id "
            "WHERE a.dedup_key LIKE ? AND m.state = 'sent'"
        )
        found = [
            (_moment(sent) - _moment(seen)).total_seconds() * 1000
            for seen, sent in self._rows(query, (f"{prefix}%",))
        ]
        return sorted(found)

    def page_path_ms(self, prefix: str) -> dict[str, list[float]]:
        """Where a page's time goes inside the server, per PAGE_PATH segment: [p50, p99] in ms, from the
        alert, its notify.send job (created by the triage that queued it, stamped when its send began)
        and its message."""
        query = (
            "SELECT a.first_seen_at, s.created_at, s.finished_at, m.sent_at FROM outgoing_messages m "
            "JOIN alerts a ON a.id = m.alert_id "
            "JOIN jobs s ON s.idempotency_key = 'send:' || m.idempotency_key "
            "WHERE a.dedup_key LIKE ? AND m.state = 'sent' AND s.finished_at IS NOT NULL"
        )
        rows = [[_moment(value) for value in row] for row in self._rows(query, (f"{prefix}%",))]
        path: dict[str, list[float]] = {}
        for number, segment in enumerate(PAGE_PATH):
            spans = sorted((row[number + 1] - row[number]).total_seconds() * 1000 for row in rows)
            path[segment] = [percentile(spans, 50), percentile(spans, 99)]
        return path

    def release_steps(self, after: int, at: datetime) -> int:
        """Make this scenario's pending escalation steps due at `at`, in one statement; returns how many."""
        value: Any = at.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_FORMAT) if self.sqlite else at
        statement = (
            "UPDATE jobs SET run_at = ? WHERE kind = 'escalation.step' AND state = 'pending' AND id > ?"
        )
        if self.sqlite:
            with self.connection:  # commits
                return int(self.connection.execute(statement, (value, after)).rowcount)
        return int(self.connection.execute(statement.replace("?", "%s"), (value, after)).rowcount)


def queue_limits() -> dict[str, object]:
    """The worker's per-queue slots and jobs/minute, as this build sets them (they bound the drain)."""
    try:
        from warroom.wiring import QUEUES
    except ImportError:  # a build from before the composition root held the table
        try:
            from warroom.jobs.queues import QUEUES  # type: ignore[attr-defined,no-redef]
        except ImportError:
            return {}
    return {
        queue: {"slots": q.slots, "per_minute": q.per_minute, "group": q.group} for queue, q in QUEUES.items()
    }


def code_version() -> str:
    """The last commit that changed src/, and whether src/ differs from it (others may edit it meanwhile)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    changed = git("diff", "--name-only", "HEAD", "--", "src") or git(
        "ls-files", "--others", "--exclude-standard", "--", "src"
    )
    return (
        "src/ at "
        + (git("log", "-1", "--format=%h", "--", "src") or "unknown")
        + (" + uncommitted src/ changes" if changed else "")
    )

"""`warroom backup`: a consistent copy of the live database, by the best method the database offers.

SQLite: the online backup API copies every page under one read transaction, so writers (in WAL mode) go on
and the copy is one instant. PostgreSQL: `pg_dump -Fc` (one REPEATABLE READ snapshot) when a pg_dump at
least as new as the server is on PATH, else the logical export, which is a snapshot too.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from warroom.backup.common import BackupFailed, Method
from warroom.backup.database import sync_engine, url_parts
from warroom.backup.export import OnRows, export_database

PG_DUMP_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    method: Method
    note: str = ""


def _partial(path: Path) -> Path:
    if path.exists():
        raise BackupFailed(f"{path} already exists; choose a new name (a backup never overwrites)")
    return path.with_name(f".{path.name}.partial")


def sqlite_backup(database: str, out: Path) -> BackupResult:
    """Copy a live SQLite database with its online backup API, in one step (one snapshot), into a single
    self-contained file (rollback journal, not WAL), checked before it is renamed into place."""
    if database in ("", ":memory:") or not Path(database).is_file():
        raise BackupFailed(f"no SQLite database at {database or '(memory)'}")
    partial = _partial(out)
    try:
        source = sqlite3.connect(database, timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            verdict = target.execute("PRAGMA quick_check").fetchone()
        finally:
            target.close()
            source.close()
        if verdict is None or verdict[0] != "ok":
            raise BackupFailed(f"the copy failed SQLite's quick_check: {verdict}")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(out, out.stat().st_size, Method.SQLITE)


def pg_dump_major(pg_dump: str) -> int | None:
    done = subprocess.run([pg_dump, "--version"], capture_output=True, text=True, timeout=30, check=False)
    found = re.search(r"(\d+)(?:\.\d+)?", done.stdout)
    return int(found.group(1)) if done.returncode == 0 and found else None


def usable_pg_dump(url: str) -> tuple[str | None, str]:
    """pg_dump's path if it can read this server (its major version is not older), else why not."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None, "pg_dump is not on PATH"
    ours = pg_dump_major(pg_dump)
    with sync_engine(url) as engine, engine.connect() as conn:
        server = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000
    if ours is None or ours < server:
        return None, f"pg_dump {ours} cannot read PostgreSQL {server}"
    return pg_dump, f"pg_dump {ours}, server {server}"


def run_pg_dump(pg_dump: str, url: str, out: Path) -> BackupResult:
    parts = url_parts(url)
    env = dict(os.environ)
    if parts["password"]:
        env["PGPASSWORD"] = str(parts["password"])  # not in argv, where `ps` would show it
    args = [pg_dump, "--format=custom", "--no-password", f"--dbname={parts['database']}"]
    args += [f"--host={parts['host']}"] if parts["host"] else []
    args += [f"--port={parts['port']}"] if parts["port"] else []
    args += [f"--username={parts['username']}"] if parts["username"] else []
    partial = _partial(out)
    try:
        done = subprocess.run(
            [*args, f"--file={partial}"],
            env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise BackupFailed(f"pg_dump failed (exit {done.returncode}): {last}")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(out, out.stat().st_size, Method.PG_DUMP)


def take_backup(
    url: str, out: Path, *, method: Method, now: datetime,
    on_start: Callable[[int], None] | None = None, on_rows: OnRows | None = None,
) -> BackupResult:  # fmt: skip
    """Back `url` up to `out` with `method` (AUTO: the best one available)."""
    backend = url_parts(url)["backend"]
    if method is Method.SQLITE or (method is Method.AUTO and backend == "sqlite"):
        if backend != "sqlite":
            raise BackupFailed("the SQLite backup API backs up SQLite databases only")
        return sqlite_backup(str(url_parts(url)["database"] or ""), out)
    note = ""
    if method in (Method.PG_DUMP, Method.AUTO) and backend == "postgresql":
        pg_dump, note = usable_pg_dump(url)
        if pg_dump:
            return run_pg_dump(pg_dump, url, out)
        if method is Method.PG_DUMP:
            raise BackupFailed(f"cannot use pg_dump: {note}")
    elif method is Method.PG_DUMP:
        raise BackupFailed("pg_dump backs up PostgreSQL databases only")
    summary = export_database(url, out, now=now, on_start=on_start, on_rows=on_rows or (lambda t, n: None))
    return BackupResult(out, summary.bytes, Method.EXPORT, note)

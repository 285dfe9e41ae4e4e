"""`warroom export`: every table of one consistent snapshot as versioned JSON lines, streamed."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from warroom.backup.codec import Encoder, Header, codec_for, is_json, unchanged
from warroom.backup.common import BackupFailed
from warroom.backup.database import ordered_tables, require_head, row_counts, sync_engine

OnRows = Callable[[str, int], None]  # (table, rows just written): drives a progress bar
ROWS_PER_FETCH = 2000


@dataclass(frozen=True)
class TransferSummary:
    path: Path
    rows: int
    tables: int
    seconds: float
    bytes: int


def _quiet(_table: str, _rows: int) -> None:
    return None


@contextmanager
def _snapshot(url: str) -> Iterator[sa.Connection]:
    """One read transaction that sees one instant of the database while writers go on: REPEATABLE READ on
    PostgreSQL; on SQLite (WAL) a deferred transaction's snapshot, taken at its first read."""
    with sync_engine(url) as engine, engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        yield conn


@contextmanager
def atomic_output(path: Path) -> Iterator[IO[str]]:
    """Write beside `path` and rename into place only when complete: a failed run leaves no half file.
    A name ending in .gz is gzip-compressed."""
    if path.exists():
        raise BackupFailed(f"{path} already exists; choose a new name (a backup never overwrites)")
    partial = path.with_name(f".{path.name}.partial")
    try:
        with (
            gzip.open(partial, "wt", encoding="utf-8", compresslevel=6)
            if path.suffix == ".gz"
            else open(partial, "w", encoding="utf-8")
        ) as opened:
            yield opened
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _row_writer(table: sa.Table) -> Callable[[sa.Row[Any]], str]:
    names = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if is_json(c)}
    converted: dict[str, Encoder] = {
        c.name: encode
        for c in table.columns
        if c.name not in json_columns and (encode := codec_for(c)[0]) is not unchanged
    }

    def line(row: sa.Row[Any]) -> str:
        values: dict[str, Any] = dict(zip(names, row, strict=True))
        json_nulls: list[str] = []
        for name in json_columns:
            if values[name] is not None:
                values[name] = json.loads(values[name])
                if values[name] is None:
                    json_nulls.append(name)
        for name, encode in converted.items():
            if values[name] is not None:
                values[name] = encode(values[name])
        record: dict[str, Any] = {"table": table.name, "row": values}
        if json_nulls:
            record["json_null"] = json_nulls
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"

    return line


def _select_all(table: sa.Table) -> sa.Select[Any]:
    """Every column, JSON ones as their stored text (the driver would turn SQL NULL and JSON null alike
    into None), in primary-key order."""
    columns = [sa.cast(c, sa.Text).label(c.name) if is_json(c) else c for c in table.columns]
    return sa.select(*columns).order_by(*table.primary_key.columns)


def write_export(conn: sa.Connection, out: IO[str], header: Header, on_rows: OnRows) -> int:
    out.write(json.dumps(header.to_json(), separators=(",", ":")) + "\n")
    written = 0
    for table in ordered_tables():
        line = _row_writer(table)
        result = conn.execution_options(yield_per=ROWS_PER_FETCH).execute(_select_all(table))
        for chunk in result.partitions():
            out.writelines(line(row) for row in chunk)
            written += len(chunk)
            on_rows(table.name, len(chunk))
    return written


def export_database(
    url: str, path: Path, *, now: datetime, on_start: Callable[[int], None] | None = None,
    on_rows: OnRows = _quiet,
) -> TransferSummary:  # fmt: skip
    """Write every table of one snapshot of `url` to `path`; `on_start` hears the total row count first."""
    started = time.perf_counter()
    with _snapshot(url) as conn:
        revision = require_head(conn, url, role="source")
        tables = ordered_tables()
        header = Header(
            revision=revision,
            row_counts=row_counts(conn, tables),
            source_dialect=conn.dialect.name,
            exported_at=now.isoformat(),
        )
        if on_start:
            on_start(header.total_rows)
        with atomic_output(path) as out:
            written = write_export(conn, out, header, on_rows)
            if written != header.total_rows:  # the snapshot rules this out; never keep such a file
                raise BackupFailed(
                    f"read {written} rows but counted {header.total_rows} in the same snapshot"
                )
    return TransferSummary(path, written, len(tables), time.perf_counter() - started, path.stat().st_size)

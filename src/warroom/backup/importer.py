"""`warroom import`: an export into an empty database at the same revision, in one transaction."""

from __future__ import annotations

import binascii
import gzip
import json
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from warroom.backup.codec import Decoder, FormatError, Header, codec_for, is_json, parse_header
from warroom.backup.common import BackupFailed
from warroom.backup.database import (
    non_empty_tables,
    ordered_tables,
    require_head,
    sync_engine,
)
from warroom.backup.export import OnRows, TransferSummary

ROWS_PER_INSERT = 1000
GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_export(path: Path) -> Iterator[IO[str]]:
    """The file's lines, gunzipped when it is gzip (by its first bytes, whatever its name)."""
    if not path.is_file():
        raise BackupFailed(f"{path}: no such file")
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    opened: IO[str] = (
        gzip.open(path, "rt", encoding="utf-8") if compressed else open(path, encoding="utf-8")  # noqa: SIM115  (closed by the with below)
    )
    with opened:
        yield opened


@dataclass
class TablePlan:
    """How one table's lines become insert parameters. A column referring to its own table (a component's
    group) is inserted empty and set afterwards, so a row may name a parent with a higher id."""

    table: sa.Table
    decoders: dict[str, Decoder]
    json_columns: frozenset[str]
    self_refs: frozenset[str]
    insert: sa.Insert
    pending_refs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, table: sa.Table) -> TablePlan:
        json_columns = frozenset(c.name for c in table.columns if is_json(c))
        # none_as_null: a None parameter is SQL NULL; JSON null documents are passed as sa.JSON.NULL.
        typed = sa.table(
            table.name,
            *(sa.column(c.name, sa.JSON(none_as_null=True) if is_json(c) else c.type) for c in table.columns),
        )
        return cls(
            table=table,
            decoders={c.name: codec_for(c)[1] for c in table.columns if c.name not in json_columns},
            json_columns=json_columns,
            self_refs=frozenset(fk.parent.name for fk in table.foreign_keys if fk.column.table is table),
            insert=sa.insert(typed),
        )

    def parameters(self, record: dict[str, Any]) -> dict[str, Any]:
        row = record.get("row")
        if not isinstance(row, dict) or set(row) != set(self.table.columns.keys()):
            raise ValueError(f"its columns are not {self.table.name}'s")
        values = {
            name: (value if value is None or name in self.json_columns else self.decoders[name](value))
            for name, value in row.items()
        }
        for name in record.get("json_null", ()):
            if name not in self.json_columns or row[name] is not None:
                raise ValueError(f"json_null names {name!r}, not a null JSON column")
            values[name] = sa.JSON.NULL
        refs = {name: values[name] for name in self.self_refs if values[name] is not None}
        if refs:
            self.pending_refs.append({"_id": values["id"], **refs})
            values.update(dict.fromkeys(refs))
        return values

    def set_self_refs(self, conn: sa.Connection) -> None:
        for ref in self.pending_refs:
            changes = {name: value for name, value in ref.items() if name != "_id"}
            conn.execute(self.table.update().where(self.table.c.id == ref["_id"]).values(**changes))


class Loader:
    """Reads the lines after the header and inserts them in batches, checking order and counts."""

    def __init__(self, conn: sa.Connection, header: Header, on_rows: OnRows) -> None:
        self.conn = conn
        self.header = header
        self.on_rows = on_rows
        self.order = {t.name: i for i, t in enumerate(ordered_tables())}
        self.plans = {t.name: TablePlan.of(t) for t in ordered_tables()}
        self.loaded: dict[str, int] = dict.fromkeys(self.order, 0)
        self.current: TablePlan | None = None
        self.batch: list[dict[str, Any]] = []

    def load(self, lines: IO[str]) -> int:
        for number, text in enumerate(lines, start=2):
            self.add(number, text)
        self.finish_table()
        self.check_counts()
        return sum(self.loaded.values())

    def add(self, number: int, text: str) -> None:
        try:
            record = json.loads(text)
            name = record["table"]
            plan = self.plans[name]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise FormatError(f"line {number} is not a row of a known table ({error}); truncated?") from None
        if plan is not self.current:
            self.start_table(number, plan)
        try:
            self.batch.append(plan.parameters(record))
        except (ValueError, TypeError, binascii.Error) as error:
            raise FormatError(f"line {number} ({name}): {error}") from None
        if len(self.batch) >= ROWS_PER_INSERT:
            self.flush()

    def start_table(self, number: int, plan: TablePlan) -> None:
        previous = self.current
        if previous is not None and self.order[plan.table.name] <= self.order[previous.table.name]:
            raise FormatError(f"line {number}: {plan.table.name} comes after {previous.table.name}")
        self.finish_table()
        self.current = plan

    def flush(self) -> None:
        if self.current is not None and self.batch:
            self.conn.execute(self.current.insert, self.batch)
            self.loaded[self.current.table.name] += len(self.batch)
            self.on_rows(self.current.table.name, len(self.batch))
            self.batch = []

    def finish_table(self) -> None:
        self.flush()
        if self.current is not None:
            self.current.set_self_refs(self.conn)

    def check_counts(self) -> None:
        for name, loaded in self.loaded.items():
            expected = self.header.row_counts.get(name, 0)
            if loaded != expected:
                raise FormatError(
                    f"the file was cut or altered: it has {loaded} {name} rows, its header says {expected}"
                )


def restart_sequences(conn: sa.Connection) -> None:
    """PostgreSQL hands out ids from sequences that inserting explicit ids never advanced: set each past
    its table's highest id (SQLite takes max(id) + 1 by itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in ordered_tables():
        if "id" not in table.c:  # keyed by other columns (a participant's incident and user): no sequence
            continue
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
            ),
            {"table": table.name},
        )


def _check_target(conn: sa.Connection, url: str, header: Header) -> None:
    revision = require_head(conn, url, role="target")
    if header.revision != revision:
        raise BackupFailed(
            f"the export is at revision {header.revision} but the database is at {revision}: import it "
            "with the warroom version that wrote it"
        )
    unknown = sorted(set(header.row_counts) - {t.name for t in ordered_tables()})
    if unknown:
        raise BackupFailed(f"the export has tables this warroom does not know: {', '.join(unknown)}")
    used = non_empty_tables(conn, ordered_tables())
    if used:
        raise BackupFailed(
            f"the target database is not empty ({', '.join(used[:3])}{'...' if len(used) > 3 else ''} "
            "hold rows): import only into a freshly migrated database"
        )


def read_header(lines: IO[str]) -> Header:
    first = lines.readline()
    try:
        parsed = json.loads(first)
    except json.JSONDecodeError:
        raise FormatError("not a warroom export (its first line is not JSON)") from None
    if not isinstance(parsed, dict):
        raise FormatError("not a warroom export (its first line is not a header)")
    return parse_header(parsed)


def import_database(
    url: str,
    path: Path,
    *,
    on_start: Callable[[int], None] | None = None,
    on_rows: OnRows = lambda t, n: None,
) -> TransferSummary:
    """Load an export into the empty database at `url`, all of it or (on any failure) nothing."""
    started = time.perf_counter()
    try:
        with open_export(path) as lines, sync_engine(url, write=True) as engine, engine.begin() as conn:
            header = read_header(lines)
            _check_target(conn, url, header)
            if on_start:
                on_start(header.total_rows)
            rows = Loader(conn, header, on_rows).load(lines)
            restart_sequences(conn)
    except FormatError as error:
        raise BackupFailed(f"{path}: {error}") from None
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as error:
        raise BackupFailed(f"{path}: the file is truncated or corrupt ({error})") from None
    except (sa.exc.IntegrityError, sa.exc.DataError) as error:  # a hand-edited row, say
        reason = str(error.orig).splitlines()[0] if error.orig else "a constraint"
        raise BackupFailed(f"{path}: the database refused a row ({reason}); nothing was imported") from None
    return TransferSummary(
        path, rows, len(header.row_counts), time.perf_counter() - started, path.stat().st_size
    )

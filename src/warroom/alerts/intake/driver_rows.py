"""The intake writer's hottest statements sent through the database driver itself: the dedup upsert of a
segment's triggers, and the raw requests, service changes, alert events and triage jobs that follow a group.

Through SQLAlchemy every value went through its type's bind processor (eight JSON encodings and six
datetimes per event), and on SQLite each statement was three or four trips to aiosqlite's thread (39 per
group of 16). Here a table's rows become plain values, adapted once per column kind, and each statement is
one driver call: a group of 16 triggers, derived and committed, went from 380 to 262-345 µs per event on
SQLite and from 618 to 446 on PostgreSQL. The SQL is built from the models' own tables, so no column is
missed: a value the row does not name takes the column's default, else NULL.

Values are stored exactly as SQLAlchemy stores them (tests/integration/test_driver_rows.py compares them
column by column): on SQLite, datetimes as naive UTC text and JSON as the engine's serializer writes it
(warroom.json_text); on PostgreSQL, aware datetimes and the same JSON text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from warroom import json_text
from warroom.db import UTCDateTime

# The most rows one multi-row statement carries: 19 columns each stays far below SQLite's 32,766 variables.
ROWS_PER_STATEMENT = 500
Adapter = Callable[[Any], Any]


@lru_cache(maxsize=1024)  # a group's rows share their requests' times: six columns an event
def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _aware_time(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value


def _adapter(column_type: Any, dialect: str) -> Adapter | None:
    if isinstance(column_type, UTCDateTime):
        return _sqlite_time if dialect == "sqlite" else _aware_time
    if isinstance(column_type, JSON):
        return json_text.dumps  # None is stored as JSON null, as SQLAlchemy's JSON type does
    return None


@dataclass(frozen=True)
class DriverTable:
    """How one table's rows go through the driver on one dialect: its columns (all but the generated id),
    each column's default and adapter, and on PostgreSQL each column's type.

    SQLite takes one multi-row VALUES (its driver binds in C). PostgreSQL takes one array per column through
    `unnest`: the statement's text stays the same whatever the row count, so psycopg parses it once (a
    VALUES list of 16 rows had it re-parse 300 placeholders per statement: 1,019 µs per event)."""

    name: str
    columns: tuple[str, ...]
    defaults: tuple[Any, ...]
    adapters: tuple[Adapter | None, ...]
    array_types: tuple[str, ...] | None  # PostgreSQL: unnest(%s::<type>[], ...)

    def values(self, row: dict[str, Any]) -> list[Any]:
        values = []
        for name, default, adapt in zip(self.columns, self.defaults, self.adapters, strict=True):
            value = row.get(name, default)
            values.append(value if adapt is None else adapt(value))
        return values

    def statement(self, rows: Sequence[dict[str, Any]]) -> tuple[str, list[Any]]:
        """The INSERT of `rows` (without what follows its values) and its parameters."""
        head = f"INSERT INTO {self.name} ({', '.join(self.columns)})"
        values = [self.values(row) for row in rows]
        if self.array_types is None:
            one = f"({', '.join(['?'] * len(self.columns))})"
            return f"{head} VALUES {', '.join([one] * len(rows))}", [v for row in values for v in row]
        arrays = ", ".join(f"%b::{name}[]" for name in self.array_types)
        columns = [list(column) for column in zip(*values, strict=True)]
        return f"{head} SELECT * FROM unnest({arrays})", columns


_TABLES: dict[tuple[str, str], DriverTable] = {}


def driver_table(table: Table, dialect: Dialect) -> DriverTable:
    """`table` as the driver writes it on `dialect` (built once per process)."""
    if (table.name, dialect.name) not in _TABLES:
        columns = [column for column in table.columns if not column.primary_key]
        quote = dialect.identifier_preparer.quote
        array_types = tuple(column.type.compile(dialect=dialect) for column in columns)
        _TABLES[(table.name, dialect.name)] = DriverTable(
            name=quote(table.name),
            columns=tuple(quote(column.name) for column in columns),
            defaults=tuple(
                getattr(column.default, "arg", None) if column.default is not None else None
                for column in columns
            ),
            adapters=tuple(_adapter(column.type, dialect.name) for column in columns),
            array_types=None if dialect.name == "sqlite" else array_types,
        )
    return _TABLES[(table.name, dialect.name)]


def _pages(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[start : start + ROWS_PER_STATEMENT]


async def _driver(connection: AsyncConnection) -> Any:
    return (await connection.get_raw_connection()).driver_connection


async def fetch(connection: AsyncConnection, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
    """Run one statement through the driver, in the connection's transaction; its rows."""
    driver = await _driver(connection)
    if connection.dialect.name == "sqlite":
        return list(await driver.execute_fetchall(sql, values))  # one trip to aiosqlite's thread
    async with driver.cursor() as cursor:
        await cursor.execute(sql, values)
        return [] if cursor.description is None else cast(list[tuple[Any, ...]], await cursor.fetchall())


def insert_statements(
    table: Table, dialect: Dialect, rows: Sequence[dict[str, Any]], *, then: str = ""
) -> Iterator[tuple[str, list[Any]]]:
    """The INSERTs of `rows` into `table`, as many rows per statement as fit, with their parameters; `then`
    is what follows each statement's VALUES (ON CONFLICT ..., RETURNING ...)."""
    shape = driver_table(table, dialect)
    for page in _pages(rows):
        sql, parameters = shape.statement(page)
        yield f"{sql} {then}".rstrip(), parameters


async def insert_rows(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]], *, then: str = ""
) -> list[tuple[Any, ...]]:
    """Insert `rows` into `table` in the connection's transaction (see insert_statements); the rows the
    statements return."""
    returned: list[tuple[Any, ...]] = []
    for sql, parameters in insert_statements(table, connection.dialect, rows, then=then):
        returned += await fetch(connection, sql, parameters)
    return returned


async def execute_many(connection: AsyncConnection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement once per row of parameters, in the connection's transaction: one driver call."""
    driver = await _driver(connection)
    if connection.dialect.name == "sqlite":
        await driver.executemany(sql, rows)
        return
    async with driver.cursor() as cursor:
        await cursor.executemany(sql, rows)


def fetch_now(connection: Any, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
    """Run one statement on a synchronous DB-API connection (sqlite3 or psycopg's); its rows."""
    cursor = connection.execute(sql, values)
    return [] if cursor.description is None else [tuple(row) for row in cursor.fetchall()]


def insert_rows_now(
    connection: Any, table: Table, dialect: Dialect, rows: Sequence[dict[str, Any]], *, then: str = ""
) -> list[tuple[Any, ...]]:
    """insert_rows on a synchronous DB-API connection (the intake writer's thread)."""
    returned: list[tuple[Any, ...]] = []
    for sql, parameters in insert_statements(table, dialect, rows, then=then):
        returned += fetch_now(connection, sql, parameters)
    return returned

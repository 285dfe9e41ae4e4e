"""PostgreSQL: a held write (jobs.held) sent through psycopg directly, compiled once per process.

SQLAlchemy costs ~200 us of CPU a statement on top of psycopg's own (an UPDATE of one job by id: 360-410 us
through a session, 166-187 us through psycopg, on this project's 2-core machine), and a page's triage and
record send seven held writes. They are module constants whose answers nobody reads, so each is compiled
once (per set of columns an INSERT names) and what SQLAlchemy does per execution is done here: the
parameters through `construct_params` and each bind's own processor (UTCDateTime, JSON), an expanding IN
as `= ANY(array)`. A statement this cannot send exactly as SQLAlchemy would (a column default computed in
Python, a NOT IN, RETURNING) is left to SQLAlchemy: `form` answers None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

MAX_FORMS = 256  # held writes are module constants: a bound in case one is ever built per call


@dataclass(frozen=True)
class DriverForm:
    """A statement as psycopg takes it, and how to turn SQLAlchemy's parameters into psycopg's."""

    sql: str
    compiled: SQLCompiler
    processors: Mapping[str, Callable[[Any], Any]]
    expanding: frozenset[str]

    def values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        values = dict(self.compiled.construct_params(params))
        for name, process in self.processors.items():
            if name in values and values[name] is not None:
                value = values[name]
                values[name] = [process(v) for v in value] if name in self.expanding else process(value)
        return values


_FORMS: dict[tuple[int, tuple[str, ...], bool], tuple[Executable, DriverForm | None]] = {}


def rows_of(params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    if params is None:
        return [{}]
    return [params] if isinstance(params, Mapping) else list(params)


def form(
    statement: Executable,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    dialect: Dialect,
    *,
    returning_id: bool = False,
) -> DriverForm | None:
    """The statement's driver form for parameters shaped like `params` (None: let SQLAlchemy send it).
    With `returning_id`, one whose only answer is an integer column (an INSERT's new ids): its rows need no
    result processing, so psycopg's answer is SQLAlchemy's."""
    rows = rows_of(params)
    if not rows:
        return None
    key = (id(statement), tuple(sorted(rows[0])), returning_id)
    found = _FORMS.get(key)
    if found is None or found[0] is not statement:  # (an id reused by another object after a collection)
        if len(_FORMS) >= MAX_FORMS:
            return None
        found = _FORMS[key] = (statement, _compile(statement, key[1], dialect, returning_id))
    return found[1]


def _answers_as_wanted(compiled: SQLCompiler, returning_id: bool) -> bool:
    """No answer, or (`returning_id`) one integer column and nothing else."""
    columns = compiled.effective_returning or []
    if not returning_id:
        return not columns
    return len(columns) == 1 and isinstance(getattr(columns[0], "type", None), Integer)


def _compile(
    statement: Executable, keys: tuple[str, ...], dialect: Dialect, returning_id: bool
) -> DriverForm | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)  # type: ignore[attr-defined]
    if not isinstance(compiled, SQLCompiler):
        return None
    if compiled.insert_prefetch or compiled.update_prefetch or not _answers_as_wanted(compiled, returning_id):
        return None  # a default computed per row, or an answer psycopg would not give as SQLAlchemy does
    expanding = frozenset(name for name, bind in compiled.binds.items() if bind.expanding)
    sql = compiled.string
    for name in expanding:
        element = compiled.binds[name].type.compile(dialect=dialect)
        any_of = f"= ANY(CAST(%({name})s AS {element}[]))"
        sql = re.sub(rf"(?<!NOT )IN \(__\[POSTCOMPILE_{name}\]\)", any_of.replace("\\", r"\\"), sql)
    if "__[POSTCOMPILE_" in sql:
        return None  # NOT IN, or an expansion of another kind
    processors = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return DriverForm(sql, compiled, processors, expanding)


async def inserted_ids(
    driver: psycopg.AsyncConnection[Any], inserts: Sequence[tuple[DriverForm, Sequence[Mapping[str, Any]]]]
) -> list[list[int]]:
    """Send each INSERT (returning its rows' ids) in one pipeline, then read each one's ids in its rows'
    order: one wait for them all."""
    cursors = []
    async with driver.pipeline():
        for found, rows in inserts:
            cursor = driver.cursor()
            await cursor.executemany(found.sql, [found.values(row) for row in rows], returning=True)
            cursors.append(cursor)
    answers = []
    for cursor in cursors:  # executemany's answers: one result per row, in order
        ids: list[int] = []
        while True:
            ids.extend(int(row[0]) for row in await cursor.fetchall())
            if not cursor.nextset():
                break
        answers.append(ids)
    return answers


async def send(driver: psycopg.AsyncConnection[Any], found: DriverForm, params: Any) -> None:
    """Send the statement on `driver` (in its pipeline, if one is open: nothing is waited for there)."""
    rows = [found.values(row) for row in rows_of(params)]
    cursor = driver.cursor()
    if len(rows) == 1:
        await cursor.execute(found.sql, rows[0])
    else:
        await cursor.executemany(found.sql, rows)

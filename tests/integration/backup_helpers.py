"""What the backup tests share: an organisation with awkward values, a table-by-table picture of a database
that is independent of warroom.backup, the audit on a restored copy, and scratch PostgreSQL databases."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from tests import cli
from tests.conftest import PG_ADMIN_DSN, START, _pg_url
from tests.process import plain
from warroom.config import Settings
from warroom.db import sync_url
from warroom.incidents.audit import verify_all
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM
from warroom.main import runtime
from warroom.models import Base
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

AWKWARD_HEADERS = {
    "big": 2**63 - 1,
    "small": -(2**63),
    "huge": 2**80,
    "tenth": 0.1,
    "text": 'Zürich ☃ "quoted" \\ \u2028',
    "nested": {"list": [1, None, True, False, {"empty": {}}]},
}


def env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str | None]:
    return {
        "WARROOM_DATABASE_URL": db_url,
        "WARROOM_DATA_DIR": str(data_dir),
        "WARROOM_PROCEDURE": None,
        "COLUMNS": "200",
        **extra,
    }


def ok(args: list[str], db_url: str, data_dir: Path, **extra: str) -> str:
    result = cli.invoke(args, env(db_url, data_dir, **extra))
    assert result.exit_code == 0, (result.output, result.exception)
    return plain(result.stdout)


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url))


def run_sql(url: str, *statements: Any) -> None:
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(statement)
    finally:
        engine.dispose()


async def add_notes(url: str, data_dir: Path, count: int, *, incident: str = "1") -> None:
    """Timeline notes through the real service, one transaction each, as a scribe adds them."""
    context = runtime().context(Settings(database_url=url, data_dir=data_dir))
    try:
        for n in range(count):
            async with context.db.write() as session:
                owner = await get_incident(session=session, ref=incident, viewer=SYSTEM, for_update=True)
                await record(
                    session,
                    owner,
                    "scribe@test.warroom",
                    EventKind.note,
                    START + timedelta(minutes=n, microseconds=n),
                    text=f"note {n} ☃",
                )
                await session.commit()
    finally:
        await context.db.engine.dispose()


def add_awkward_rows(url: str) -> None:
    """Values a naive export gets wrong: bytes that are not UTF-8, 64-bit and larger ints and a tenth inside
    JSON, a JSON null document beside an SQL NULL, a float, and a component whose group has a higher id."""
    tables = Base.metadata.tables
    raw, messages, components = tables["raw_events"], tables["outgoing_messages"], tables["status_components"]
    message = {
        "channel": "email",
        "address": "a@example.test",
        "subject": "s",
        "body": "b",
        "state": "pending",
        "attempts": 0,
        "due_at": START,
        "created_at": START,
    }
    run_sql(
        url,
        raw.insert().values(
            request_id="r-1",
            integration_id=1,
            received_at=START,
            content_type="x/y",
            headers=AWKWARD_HEADERS,
            body=bytes(range(256)),
            route=sa.JSON.NULL,
            result=[],
        ),
        messages.insert().values(idempotency_key="sql-null", payload=sa.null(), **message),
        messages.insert().values(idempotency_key="json-null", payload=sa.JSON.NULL, **message),
        components.insert().values(
            id=100,
            is_group=True,
            name="Later group",
            description="",
            position=9,
            status="operational",
            showcase=False,
            only_show_if_degraded=False,
            start_date=START.date(),
            created_at=START,
            updated_at=START,
        ),
        components.update().where(components.c.id == 2).values(group_id=100),
        tables["services"].update().where(tables["services"].c.id == 1).values(cost_per_minute=1 / 3),
    )


def picture(url: str) -> dict[str, Any]:
    """Every row of every table as Python values (by the models' own types), and where each JSON column
    holds SQL NULL rather than a JSON null document (which the driver reads as None alike)."""
    engine = engine_for(url)
    found: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                key = list(table.primary_key.columns)  # not every table has an `id`
                found[table.name] = [dict(r._mapping) for r in conn.execute(table.select().order_by(*key))]
                for column in (c for c in table.columns if isinstance(c.type, sa.JSON)):
                    null_keys = conn.execute(sa.select(*key).where(column.is_(None))).all()
                    found[f"{table.name}.{column.name} IS NULL"] = sorted(tuple(k) for k in null_keys)
    finally:
        engine.dispose()
    return found


def assert_same_rows(source: dict[str, Any], target: dict[str, Any]) -> None:
    assert source.keys() == target.keys()
    for name in source:
        assert source[name] == target[name], f"{name} differs"


async def audit(url: str) -> tuple[int, int, list[str]]:
    """verify_all on the database at `url`: (incidents, events, broken links)."""
    context = runtime().context(Settings(database_url=url))
    try:
        async with context.db.read() as session:
            report = await verify_all(session=session)
    finally:
        await context.db.engine.dispose()
    return report.incidents_checked, report.events_checked, [str(b) for b in report.broken]


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """An empty PostgreSQL database of its own (not migrated), dropped afterwards."""
    name = f"warroom_backup_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def keep_noting(
    url: str, data_dir: Path, stop: asyncio.Event, written: list[int], warm: asyncio.Event
) -> None:
    """Append notes to incident 1 as fast as the database takes them until `stop`; `written[0]` counts,
    and `warm` is set once 20 are in."""
    context = runtime().context(Settings(database_url=url, data_dir=data_dir))
    try:
        while not stop.is_set():
            async with context.db.write() as session:
                owner = await get_incident(session=session, ref="1", viewer=SYSTEM, for_update=True)
                await record(
                    session,
                    owner,
                    "writer@test.warroom",
                    EventKind.note,
                    START + timedelta(seconds=written[0]),
                    text=f"under backup {written[0]}",
                )
                await session.commit()
            written[0] += 1
            if written[0] >= 20:
                warm.set()
            await asyncio.sleep(0)
    finally:
        await context.db.engine.dispose()

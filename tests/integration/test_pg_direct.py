"""Held writes sent through psycopg directly (warroom.pg_direct) store exactly what SQLAlchemy stores: the
same rows, read back through SQLAlchemy, for the statements a page's triage and record hold; and a
statement it cannot send as SQLAlchemy would is left to SQLAlchemy. PostgreSQL only: SQLite's held writes
go through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from tests.integration.conftest import Api
from warroom import pg_direct
from warroom.jobs import service
from warroom.jobs.models import Job

ODD_PAYLOAD: dict[str, Any] = {
    "text": "100% 'quoted' \"double\" %(name)s \\ é 🚨",
    "nested": {"list": [1, 2.5, None, True], "empty": {}},
    "big": 2**62,
    "negative": -1.0e-300,
}
WHEN = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def postgresql_only(api: Api) -> None:
    if api.context.db.dialect != "postgresql":
        pytest.skip("SQLite's held writes go through SQLAlchemy")


async def _driver(session: AsyncSession) -> Any:
    return (await (await session.connection()).get_raw_connection()).driver_connection


def _job(kind: str, key: str | None) -> dict[str, Any]:
    spec = service.JobSpec(
        kind, ODD_PAYLOAD, queue="q%", run_at=WHEN + timedelta(hours=1), idempotency_key=key
    )
    return service.job_row(spec, WHEN)


async def test_an_insert_sent_directly_stores_what_sqlalchemy_stores(api: Api) -> None:
    postgresql_only(api)
    dialect = api.context.db.engine.dialect
    async with api.context.db.write() as session:
        await session.execute(service._INSERT_JOBS, [_job("by.sqlalchemy", "k1")])
        rows = [_job("by.driver", "k2"), _job("by.driver", None)]
        direct = pg_direct.form(service._INSERT_JOBS, rows, dialect)
        assert direct is not None
        await pg_direct.send(await _driver(session), direct, rows)
        await session.commit()
    async with api.context.db.read() as session:
        jobs = list(await session.scalars(sa.select(Job).order_by(Job.id)))
    columns = [c.key for c in Job.__table__.columns if c.key not in ("id", "kind", "idempotency_key")]
    stored = [{c: getattr(job, c) for c in columns} for job in jobs]
    assert stored[0] == stored[1] == stored[2]
    assert stored[0]["payload"] == ODD_PAYLOAD and stored[0]["run_at"] == WHEN + timedelta(hours=1)
    assert [(j.kind, j.idempotency_key) for j in jobs] == [
        ("by.sqlalchemy", "k1"),
        ("by.driver", "k2"),
        ("by.driver", None),
    ]
    async with api.context.db.read() as session:  # the JSON text itself, as warroom.json_text wrote it
        texts = list(await session.scalars(sa.text("SELECT payload::text FROM jobs ORDER BY id")))
    assert texts[0] == texts[1] == texts[2]


async def test_an_update_of_ids_sent_directly_matches_those_ids_only(api: Api) -> None:
    postgresql_only(api)
    dialect = api.context.db.engine.dialect
    async with api.context.db.write() as session:
        await session.execute(service._INSERT_JOBS, [_job(f"job.{n}", None) for n in range(3)])
        await session.commit()
    async with api.context.db.read() as session:
        ids = list(await session.scalars(sa.select(Job.id).order_by(Job.id)))
    async with api.context.db.write() as session:
        driver = await _driver(session)
        for params in ({"b_ids": [], "b_now": WHEN}, {"b_ids": [ids[0], ids[2]], "b_now": WHEN}):
            direct = pg_direct.form(service._FINISH, params, dialect)
            assert direct is not None
            await pg_direct.send(driver, direct, params)
        await session.commit()
    async with api.context.db.read() as session:
        jobs = list(await session.scalars(sa.select(Job).order_by(Job.id)))
    assert [(j.state, j.finished_at) for j in jobs] == [("done", WHEN), ("pending", None), ("done", WHEN)]


async def test_what_it_cannot_send_as_sqlalchemy_would_is_left_to_sqlalchemy(api: Api) -> None:
    postgresql_only(api)
    dialect = api.context.db.engine.dialect
    jobs = Job.__table__
    returning = (
        sa.update(jobs).where(jobs.c.id == sa.bindparam("b_id")).values(state="done").returning(jobs.c.id)
    )
    not_in = (
        sa.update(jobs).where(jobs.c.id.notin_(sa.bindparam("b_ids", expanding=True))).values(state="done")
    )
    a_python_default = sa.insert(jobs).inline()  # `attempts` and `state` left out: SQLAlchemy fills them in
    assert pg_direct.form(returning, {"b_id": 1}, dialect) is None
    assert pg_direct.form(not_in, {"b_ids": [1]}, dialect) is None
    values = {"kind": "k", "queue": "q", "payload": {}, "max_attempts": 1, "run_at": WHEN, "created_at": WHEN}
    assert pg_direct.form(a_python_default, values, dialect) is None

"""INSERTs that answer their new ids (db.inserted_ids): each one's ids in its rows' order, on both
databases; on PostgreSQL sent together in one pipeline (one wait), psycopg's errors raised as SQLAlchemy's,
and a statement psycopg could not answer as SQLAlchemy does left to SQLAlchemy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.integration.conftest import Api
from tests.pg_trace import traced
from warroom.alerts.models import Integration
from warroom.catalog.models import Service
from warroom.db import inserted_ids
from warroom.jobs import service
from warroom.jobs.models import Job

_JOBS = cast(sa.Table, Job.__table__)
_PLAIN = sa.insert(_JOBS).returning(_JOBS.c.id)  # a second statement, answered without sorting
_INTEGRATIONS = cast(sa.Table, Integration.__table__)


def claimed(api: Api, *keys: str) -> list[dict[str, Any]]:
    specs = [service.JobSpec("test.kind", {"n": key}, queue="test.q", idempotency_key=key) for key in keys]
    return service.claimed_rows(specs=specs, now=api.clock.now(), lease=lambda _queue: timedelta(minutes=1))


async def keyed_ids(api: Api) -> dict[str | None, int]:
    async with api.context.db.read() as session:
        return {
            key: job_id
            for key, job_id in (await session.execute(sa.select(Job.idempotency_key, Job.id))).all()
        }


async def test_each_inserts_ids_come_in_its_rows_order(api: Api, tmp_path: Path) -> None:
    first, second = claimed(api, "c", "a", "b"), claimed(api, "z", "y")
    with traced(api.context.db.engine, tmp_path) as wire:
        async with api.context.db.write() as session:
            answers = await inserted_ids(
                session, [(service.INSERT_CLAIMED, first), (_PLAIN, []), (_PLAIN, second)]
            )
            await session.commit()
    stored = await keyed_ids(api)
    assert answers == [[stored[k] for k in ("c", "a", "b")], [], [stored[k] for k in ("z", "y")]]
    if api.context.db.dialect == "postgresql":  # BEGIN with both INSERTs, one wait; then the COMMIT
        assert wire.waits() == 2, wire.batches()


async def test_a_conflict_is_sqlalchemys_integrity_error_and_writes_nothing(api: Api) -> None:
    async with api.context.db.write() as session:
        await inserted_ids(session, [(service.INSERT_CLAIMED, claimed(api, "taken"))])
        await session.commit()
    async with api.context.db.write() as session:
        with pytest.raises(IntegrityError):
            async with session.begin_nested():
                await inserted_ids(session, [(_PLAIN, claimed(api, "new")), (_PLAIN, claimed(api, "taken"))])
        await session.commit()
    assert set(await keyed_ids(api)) == {"taken"}


async def test_an_insert_with_a_default_computed_in_python_is_left_to_sqlalchemy(api: Api) -> None:
    """Integrations' `config` defaults to a dict made in Python (psycopg would not make it): still right."""
    created = await api.admin.post("/api/v1/services", json={"slug": "web", "name": "Web"})
    assert created.status_code == 201, created.text
    async with api.context.db.read() as session:
        web = await session.scalar(sa.select(Service.id).where(Service.slug == "web"))
    returning = sa.insert(_INTEGRATIONS).returning(_INTEGRATIONS.c.id)
    rows = [
        {"key": f"k{n}", "kind": "webhook", "name": f"n{n}", "service_id": web, "created_at": api.clock.now()}
        for n in range(2)
    ]
    async with api.context.db.write() as session:
        (ids,) = await inserted_ids(session, [(returning, rows)])
        await session.commit()
    async with api.context.db.read() as session:
        stored = await session.execute(sa.select(Integration.id, Integration.config).order_by(Integration.id))
        assert [tuple(row) for row in stored.all()] == [(ids[0], {}), (ids[1], {})]

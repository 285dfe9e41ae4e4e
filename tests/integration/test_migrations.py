"""The one Alembic chain builds exactly the models' schema on both databases, and walks down and up again."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import BACKENDS, PG_ADMIN_DSN, _pg_url
from warroom.alerts.partitions import is_partition
from warroom.db import Base, sync_url
from warroom.jobs.config_cache import TABLE as CONFIG_VERSION
from warroom.migrate import downgrade, upgrade


def schema_differences(url: str) -> list[object]:
    engine = sa.create_engine(sync_url(url))
    with engine.connect() as conn:
        skip_partitions = {
            "include_name": lambda name, type_, _: (
                not (type_ == "table" and (is_partition(name) or name == CONFIG_VERSION))
            )
        }
        context = MigrationContext.configure(conn, opts={"compare_type": True, **skip_partitions})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return list(differences)


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(sync_url(url))
    names = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    return names


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with nothing in it, so the chain runs from the very start."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('migrate') / 'fresh.db'}"
        return
    request.getfixturevalue("postgresql_database")  # skips or fails the same way when PostgreSQL is missing
    name = f"warroom_migrate_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    assert schema_differences(db_url) == []


def test_chain_goes_down_to_nothing_and_up_again(empty_database: str) -> None:
    upgrade(empty_database)
    model_tables = {t.name for t in Base.metadata.sorted_tables}
    assert model_tables <= table_names(empty_database)
    downgrade(empty_database, "base")
    assert table_names(empty_database) <= {"alembic_version"}
    upgrade(empty_database)
    assert schema_differences(empty_database) == []
    upgrade(empty_database)  # a second upgrade is a no-op
    assert schema_differences(empty_database) == []


def test_upgrading_keeps_existing_data(empty_database: str) -> None:
    """Data written under an older revision survives every later migration (SQLite rebuilds tables)."""
    upgrade(empty_database, "0002")
    engine = sa.create_engine(sync_url(empty_database))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO services (id, slug, name, description, created_at) "
                "VALUES (1, 'web', 'Web', '', :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        conn.execute(
            sa.text(
                "INSERT INTO integrations "
                "(id, kind, name, service_id, key, config, rate_limit_per_minute, created_at) "
                "VALUES (1, 'webhook', 'w', 1, 'k', '{}', 60, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    upgrade(empty_database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT slug FROM services")).scalars().all() == ["web"]
        assert conn.execute(sa.text("SELECT key FROM integrations")).scalars().all() == ["k"]
    engine.dispose()
    assert schema_differences(empty_database) == []

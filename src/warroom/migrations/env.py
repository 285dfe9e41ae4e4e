"""Alembic environment: one chain for SQLite and PostgreSQL, run through a synchronous driver."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import warroom.models  # noqa: F401  (registers every table on Base.metadata)
from warroom.alerts.partitions import is_partition
from warroom.db import Base, sync_url
from warroom.jobs.config_cache import TABLE as CONFIG_VERSION

config = context.config
target_metadata = Base.metadata


def _include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """raw_events' month partitions on PostgreSQL are made by the worker, not by the models; the
    configuration token's table is written by triggers only (migration 0037), not a model either."""
    return not (type_ == "table" and name is not None and (is_partition(name) or name == CONFIG_VERSION))


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            # Batch mode rebuilds a table to alter it; with foreign keys enforced, dropping the old copy
            # would cascade into every table that references it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the implicit transaction, so Alembic's own one commits the migration
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,  # SQLite alters tables by copying them
            compare_type=True,
            include_name=_include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()

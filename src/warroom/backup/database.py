"""The database side every backup method shares: a synchronous engine, the revisions, the tables in order.

Backups run synchronously (psycopg's and sqlite3's own drivers, as Alembic does): they stream one snapshot
from one connection, where an event loop would only add a hop per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from warroom.backup.common import BackupFailed
from warroom.db import SQLITE_BEGIN_OPTION, install_sqlite_pragmas, sync_url
from warroom.migrate import alembic_config
from warroom.models import Base


def ordered_tables() -> list[sa.Table]:
    """Every table warroom owns, parents before children (the order rows are written and inserted)."""
    return list(Base.metadata.sorted_tables)


def head_revision(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if head is None:
        raise BackupFailed("warroom ships no migrations")
    return head


@contextmanager
def sync_engine(url: str, *, write: bool = False) -> Iterator[sa.Engine]:
    """An engine for one backup job; SQLite transactions begin explicitly (IMMEDIATE when writing), so a
    reading transaction holds one snapshot from its first SELECT to its end."""
    engine = sa.create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":
        install_sqlite_pragmas(engine)
    try:
        yield engine.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}) if write else engine
    finally:
        engine.dispose()


def database_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision the database is at, or None where it was never migrated."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(revisions[0]) if len(revisions) == 1 else None


def require_head(conn: sa.Connection, url: str, *, role: str) -> str:
    """The database's revision, which must be this warroom's head (its tables are the ones we know)."""
    revision = database_revision(conn)
    head = head_revision(url)
    if revision is None:
        raise BackupFailed(f"the {role} database is not migrated: run `warroom migrate` first")
    if revision != head:
        raise BackupFailed(
            f"the {role} database is at revision {revision} but this warroom's schema is {head}: "
            "run `warroom migrate` first (or use the warroom version that wrote it)"
        )
    return revision


def row_counts(conn: sa.Connection, tables: list[sa.Table]) -> dict[str, int]:
    return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in tables}


def non_empty_tables(conn: sa.Connection, tables: list[sa.Table]) -> list[str]:
    return [t.name for t in tables if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]


def url_parts(url: str) -> dict[str, Any]:
    parsed = sa.engine.make_url(url)
    return {
        "backend": parsed.get_backend_name(),
        "database": parsed.database,
        "host": parsed.host,
        "port": parsed.port,
        "username": parsed.username,
        "password": parsed.password,
    }

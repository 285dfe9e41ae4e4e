"""The databases a run targets: a SQLite file in the temp dir, or a fresh PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


class DatabaseUnavailable(Exception):
    """The database server cannot be reached; that half of the benchmark is skipped."""


@contextmanager
def sqlite_database(data_dir: Path) -> Iterator[str]:
    yield f"sqlite:///{(data_dir / 'bench.db').as_posix()}"


def _pg_admin(statement: sql.Composed) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
        connection.execute(statement)


@contextmanager
def postgres_database(_data_dir: Path) -> Iterator[str]:
    """CREATE DATABASE warroom_bench_<hex>; yield its URL; DROP it (WITH FORCE) afterwards."""
    name = f"warroom_bench_{secrets.token_hex(6)}"
    try:
        _pg_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(f"PostgreSQL is unreachable at 127.0.0.1:5432 ({first})") from error
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        _pg_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postgresql_settings() -> dict[str, str]:
    """The PostgreSQL server's settings that change what a run measures (empty if it is unreachable).
    With autovacuum off (as on some development machines) tables get no statistics and keep their dead
    rows for the whole run."""
    names = ("server_version", "autovacuum", "shared_buffers", "synchronous_commit")
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
            shown = {name: connection.execute(f"SHOW {name}").fetchone() for name in names}
    except psycopg.OperationalError:
        return {}
    return {name: str(row[0]) for name, row in shown.items() if row}


DATABASES = {"sqlite": sqlite_database, "postgresql": postgres_database}

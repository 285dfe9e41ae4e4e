"""Shared fixtures: one migrated database per backend per test session, emptied after every test.

Every database test takes `db_url`, parametrised over SQLite and PostgreSQL. PostgreSQL is the server at
127.0.0.1:5432 (trust auth, database `test`); a session creates its own `warroom_test_<hex>` database and
drops it at the end. Where the server cannot be reached the PostgreSQL cases skip, unless
WARROOM_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.process import ServerProcess, running_server
from warroom.db import Base, sync_url
from warroom.migrate import upgrade
from warroom.models import Base as _models_loaded  # noqa: F401  (every table on the metadata)

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment. The CLI's consoles would
# take that width for good when first imported, and tables that fit a test's COLUMNS=200 would wrap.
for _fixed_size in ("COLUMNS", "LINES"):
    os.environ.pop(_fixed_size, None)

PG_ADMIN_DSN = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).splitlines()[0]


def _pg_url(name: str) -> str:
    base = sa.engine.make_url(PG_ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://", 1))
    return base.set(database=name).render_as_string(hide_password=False).replace("+psycopg", "", 1)


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        if os.environ.get("WARROOM_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (WARROOM_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {PG_ADMIN_DSN} is unreachable: {problem}")
    name = f"warroom_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _pg_url(name)
    try:
        upgrade(url)
        yield url
    finally:
        _dispose_emptying_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'warroom.db'}"
    upgrade(url)
    try:
        yield url
    finally:
        _dispose_emptying_engine(url)


# One engine per test database for emptying it after each test: a new engine (and connection) per test cost
# 48 ms on PostgreSQL and 24 ms on SQLite here, a kept one 8 and 13 ms. Disposed before the database is
# dropped, and at the end of the session.
_EMPTYING_ENGINES: dict[str, sa.Engine] = {}


def _emptying_engine(url: str) -> sa.Engine:
    if url not in _EMPTYING_ENGINES:
        _EMPTYING_ENGINES[url] = sa.create_engine(sync_url(url), pool_pre_ping=True)  # a test may drop it
    return _EMPTYING_ENGINES[url]


def _dispose_emptying_engine(url: str) -> None:
    engine = _EMPTYING_ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


def empty_all_tables(url: str) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with _emptying_engine(url).begin() as conn:
        if conn.dialect.name == "postgresql":
            _truncate_what_was_used(conn, tables)
        else:
            for table in tables:
                conn.execute(sa.text(f"DELETE FROM {table}"))


# A table with at least this many rows is truncated; smaller ones are deleted from (see below).
TRUNCATE_FROM_ROWS = 1_000


def _truncate_what_was_used(conn: sa.Connection, tables: list[str]) -> None:
    """Empty the tables that hold rows and restart every sequence (a refused insert advances one too, and a
    restore sets them past its ids in a way pg_sequences shows as never read): each test starts from empty
    tables and ids from 1.

    TRUNCATE makes new files for a table and its indexes: 0.6-0.8 s for the ~40 tables `warroom demo` fills,
    paid by every PostgreSQL test that wrote much (0.37 s a test on average in test_incidents_api.py).
    DELETE of a few rows costs next to nothing (0.05-0.07 s for the same tables), so small tables are
    deleted from, children before parents (`tables` is in that order); a big one is truncated, as its
    dead rows would stay behind where autovacuum is off (this machine's PostgreSQL)."""
    probe = " UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM (SELECT 1 FROM {t} LIMIT {TRUNCATE_FROM_ROWS}) AS t HAVING count(*) > 0"
        for t in tables
    )
    used = {str(name): int(rows) for name, rows in conn.execute(sa.text(probe)).all()}
    big = [name for name, rows in used.items() if rows >= TRUNCATE_FROM_ROWS]
    if big:
        conn.execute(sa.text(f"TRUNCATE {', '.join(big)} CASCADE"))
    for table in tables:
        if table in used and table not in big:
            conn.execute(sa.text(f"DELETE FROM {table}"))
    conn.execute(
        sa.text(
            "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) FROM pg_sequences"
        )
    )


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url: str = request.getfixturevalue(f"{request.param}_database")
    try:
        yield url
    finally:
        empty_all_tables(url)


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """For a module whose tests share one server per backend (a `warroom serve` takes ~4 s to start): the
    backend's database and a data dir, as the environment a server and the CLI take. Not emptied here:
    each test empties the tables after itself (`emptied_after`), while the server keeps running."""
    url: str = request.getfixturevalue(f"{request.param}_database")
    data = tmp_path_factory.mktemp(f"shared-{request.param}") / "var"
    data.mkdir()
    try:
        yield {"WARROOM_DATABASE_URL": url, "WARROOM_DATA_DIR": str(data)}
    finally:
        empty_all_tables(url)


@pytest.fixture(scope="module")
def module_server(
    module_database: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """`warroom serve` on `module_database`, one per backend for the module."""
    with running_server(module_database, log_dir=tmp_path_factory.mktemp("server")) as started:
        yield started


@contextmanager
def emptied_after(env: dict[str, str]) -> Iterator[None]:
    """Empty the tables of `module_database`'s database once a test is done with them."""
    try:
        yield
    finally:
        empty_all_tables(env["WARROOM_DATABASE_URL"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path

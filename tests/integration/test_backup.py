"""`warroom backup`, `export` and `import`: every method restores every row, across SQLite and PostgreSQL, a
backup taken under a writer restores to a consistent state, and bad input is one line that changes nothing."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import empty_all_tables
from tests.integration.backup_helpers import (
    add_awkward_rows,
    add_notes,
    assert_same_rows,
    audit,
    env,
    ok,
    picture,
    scratch_postgres,
)
from tests.integration.test_cli_admin import load_demo, scalar
from tests.process import WARROOM, child_env, plain, run_cli
from warroom.migrate import upgrade

OTHER = {"sqlite": "postgresql", "postgresql": "sqlite"}


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@pytest.fixture
def other_url(db_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The other backend's migrated, empty test database, emptied again afterwards."""
    url: str = request.getfixturevalue(f"{OTHER[backend(db_url)]}_database")
    try:
        yield url
    finally:
        empty_all_tables(url)


@pytest.fixture
def organisation(db_url: str, data_dir: Path) -> dict[str, object]:
    """The demo, more timeline events, and awkward values; returns the picture of it."""
    load_demo(db_url, data_dir)
    asyncio.run(add_notes(db_url, data_dir, 5))
    add_awkward_rows(db_url)
    return picture(db_url)


def test_export_then_import_moves_every_row_to_the_other_database(
    db_url: str, other_url: str, data_dir: Path, tmp_path: Path, organisation: dict[str, object]
) -> None:
    exported = tmp_path / "org.jsonl.gz"
    said = ok(["export", str(exported)], db_url, data_dir)
    rows = sum(len(v) for k, v in organisation.items() if " IS NULL" not in k)  # type: ignore[arg-type]
    assert said.startswith(f"exported {rows} rows from 48 tables in ")
    assert said.endswith(f"({exported}, {said.rsplit(', ', 1)[1]}")

    said = ok(["import", str(exported)], other_url, data_dir)
    assert said.startswith(f"imported {rows} rows from 48 tables in ")
    assert_same_rows(organisation, picture(other_url))
    assert asyncio.run(audit(other_url)) == (1, 39, [])
    # The ids handed out next continue after the imported ones (PostgreSQL's sequences were set).
    assert ok(["token", "create", "--email", "new@test.warroom", "--name", "n"], other_url, data_dir)
    new_user = scalar(other_url, "SELECT id FROM users WHERE email = 'new@test.warroom'")
    assert new_user == max(user["id"] for user in organisation["users"]) + 1  # type: ignore[attr-defined]


def test_an_exported_file_holds_one_header_and_typed_rows_in_foreign_key_order(
    db_url: str, data_dir: Path, tmp_path: Path, organisation: dict[str, object]
) -> None:
    exported = tmp_path / "org.jsonl"
    ok(["export", str(exported)], db_url, data_dir)
    with exported.open(encoding="utf-8") as lines_in:  # not splitlines(): it also splits at U+2028
        header, *lines = [json.loads(line) for line in lines_in]
    assert (header["format"], header["version"], header["revision"]) == ("warroom-export", 1, "0010")
    tables = [line["table"] for line in lines]
    assert tables.index("users") < tables.index("incidents") < tables.index("timeline_events")
    raw = next(line for line in lines if line["table"] == "raw_events")
    assert raw["row"]["headers"]["huge"] == 2**80 and raw["json_null"] == ["route"]
    assert raw["row"]["received_at"] == "2026-03-02T10:00:00+00:00"


@pytest.mark.parametrize("method", ["auto", "export"])
def test_each_backup_method_restores_every_row(
    db_url: str, other_url: str, data_dir: Path, tmp_path: Path, organisation: dict[str, object], method: str
) -> None:
    out = tmp_path / "backup.out"
    said = ok(["backup", str(out), "--method", method], db_url, data_dir)
    expected = {"auto": {"sqlite": "sqlite-backup-api", "postgresql": "pg_dump"}[backend(db_url)]}
    used = expected.get(method, method)
    assert said == f"backup written: {out} ({said.split('(', 1)[1].split(',')[0]}, {used})"
    with restored(used, out, other_url, data_dir) as restored_url:
        assert_same_rows(organisation, picture(restored_url))
        assert asyncio.run(audit(restored_url)) == (1, 39, [])


@pytest.mark.postgres
def test_without_pg_dump_the_backup_falls_back_to_the_export(
    postgresql_database: str, sqlite_database: str, data_dir: Path, tmp_path: Path
) -> None:
    try:
        load_demo(postgresql_database, data_dir)
        source = picture(postgresql_database)
        out = tmp_path / "backup.jsonl"
        said = ok(["backup", str(out)], postgresql_database, data_dir, PATH=str(tmp_path))
        assert said.endswith("export; pg_dump is not on PATH)")
        ok(["import", str(out)], sqlite_database, data_dir)
        assert_same_rows(source, picture(sqlite_database))
    finally:
        empty_all_tables(postgresql_database)
        empty_all_tables(sqlite_database)


class restored:  # noqa: N801  (a context manager used like a function)
    """The database a backup restores to: the SQLite copy itself, pg_restore into a new database, or
    `warroom import` into the other backend's empty one."""

    def __init__(self, method: str, path: Path, other_url: str, data_dir: Path) -> None:
        self.method, self.path, self.other_url, self.data_dir = method, path, other_url, data_dir
        self.scratch = scratch_postgres()

    def __enter__(self) -> str:
        if self.method == "sqlite-backup-api":
            return f"sqlite:///{self.path}"
        if self.method == "export":
            ok(["import", str(self.path)], self.other_url, self.data_dir)
            return self.other_url
        url = self.scratch.__enter__()
        dbname = url.rsplit("/", 1)[1]
        subprocess.run(["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "-d", dbname, "--no-owner",
                        str(self.path)], check=True, capture_output=True, timeout=120)  # fmt: skip
        return url

    def __exit__(self, *exc: object) -> None:
        if self.method == "pg_dump":
            self.scratch.__exit__(None, None, None)

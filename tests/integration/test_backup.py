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

from tests import cli
from tests.conftest import empty_all_tables
from tests.integration.backup_helpers import (
    add_awkward_rows,
    add_notes,
    assert_same_rows,
    audit,
    env,
    keep_noting,
    ok,
    picture,
    scratch_postgres,
)
from tests.integration.test_cli_admin import load_demo, scalar
from tests.process import WARROOM, child_env, plain
from warroom.backup.database import head_revision
from warroom.cli.common import CommandFailed
from warroom.db import Base

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
    tables = len(Base.metadata.sorted_tables)
    assert said.startswith(f"exported {rows} rows from {tables} tables in ")
    assert said.endswith(f"({exported}, {said.rsplit(', ', 1)[1]}")

    said = ok(["import", str(exported)], other_url, data_dir)
    assert said.startswith(f"imported {rows} rows from {tables} tables in ")
    assert_same_rows(organisation, picture(other_url))
    checked = asyncio.run(audit(other_url))
    assert checked == asyncio.run(audit(db_url)) and checked[0] == 1 and checked[1] > 30 and checked[2] == []
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
    assert (header["format"], header["version"], header["revision"]) == (
        "warroom-export",
        1,
        head_revision(db_url),
    )
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
        checked = asyncio.run(audit(restored_url))
        assert checked == asyncio.run(audit(db_url)) and checked[0] == 1 and checked[1] > 30
        assert checked[2] == []


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


class restored:  # a context manager, named like the function it reads as
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
        subprocess.run(
            ["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "-d", dbname, "--no-owner", str(self.path)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return url

    def __exit__(self, *exc: object) -> None:
        if self.method == "pg_dump":
            self.scratch.__exit__(None, None, None)


@pytest.mark.parametrize("method", ["auto", "export"])
async def test_a_backup_taken_while_a_writer_inserts_restores_to_a_consistent_state(
    db_url: str, other_url: str, data_dir: Path, tmp_path: Path, method: str
) -> None:
    await asyncio.to_thread(load_demo, db_url, data_dir)
    demo_events = 34
    stop, warm, written = asyncio.Event(), asyncio.Event(), [0]
    writer = asyncio.create_task(keep_noting(db_url, data_dir, stop, written, warm))
    try:
        await asyncio.wait_for(warm.wait(), timeout=60)  # the writer commits before the backup starts
        before = written[0]
        out = tmp_path / "live.backup"
        backup = await asyncio.create_subprocess_exec(
            str(WARROOM),
            "backup",
            str(out),
            "--method",
            method,
            env=child_env({"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir)}),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(backup.communicate(), timeout=120)
        after = written[0]
    finally:
        stop.set()
        await writer
    assert backup.returncode == 0, stderr.decode()
    used = plain(stdout.decode()).rsplit(", ", 1)[1].rstrip(")")
    with restored(used, out, other_url, data_dir) as restored_url:
        incidents, events, broken = await audit(restored_url)
    assert (incidents, broken) == (1, [])
    # The snapshot fell while the writer wrote: some of its events are in, the later ones not.
    assert demo_events + before < events < demo_events + after, (before, events - demo_events, after)


def test_bad_input_is_one_line_changes_nothing_and_exits_non_zero(
    db_url: str, other_url: str, data_dir: Path, tmp_path: Path, organisation: dict[str, object]
) -> None:
    good = tmp_path / "good.jsonl"
    ok(["export", str(good)], db_url, data_dir)
    lines = good.read_bytes().split(b"\n")
    header = json.loads(lines[0])
    packed = gzip.compress(good.read_bytes())

    def variant(name: str, content: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    def with_header(**changes: object) -> bytes:
        return b"\n".join([json.dumps({**header, **changes}).encode(), *lines[1:]])

    cases = {
        "cut at a line": (
            variant("cut.jsonl", b"\n".join(lines[:-40]) + b"\n"),
            "the file was cut or altered",
        ),
        "cut mid-line": (variant("mid.jsonl", good.read_bytes()[:-1500]), "is not a row of a known table"),
        "cut gzip": (variant("cut.jsonl.gz", packed[: len(packed) // 2]), "the file is truncated or corrupt"),
        "wrong version": (variant("v2.jsonl", with_header(version=2)), "format version 2 is not supported"),
        "other revision": (variant("r.jsonl", with_header(revision="0009")), "at revision 0009 but the data"),
        "not an export": (variant("notes.txt", b"hello\n"), "not a warroom export"),
        "missing": (tmp_path / "nowhere.jsonl", "no such file"),
    }
    target_before = picture(other_url)
    for case, (path, reason) in cases.items():  # in this process: the console script costs seconds each
        result = cli.invoke(["import", str(path)], env(other_url, data_dir))
        assert result.exit_code != 0 and isinstance(result.exception, CommandFailed), (case, result.output)
        assert reason in str(result.exception) and "\n" not in str(result.exception), (case, result.exception)
        assert picture(other_url) == target_before, case

    error = one_line_failure(["import", str(good)], db_url, data_dir)  # the source: not empty
    assert "the target database is not empty" in error
    assert_same_rows(organisation, picture(db_url))
    error = one_line_failure(["backup", str(good)], db_url, data_dir)
    assert error == f"error: {good} already exists; choose a new name (a backup never overwrites)"
    assert good.read_bytes().split(b"\n") == lines


def one_line_failure(args: list[str], db_url: str, data_dir: Path) -> str:
    done = cli.run_main(args, {"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir)})
    assert done.returncode == 1, (args, done.stdout, done.stderr)
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
    return plain(done.stderr)

"""Admin commands on SQLite and PostgreSQL: in-process through CliRunner, or as the console script where
`main()` must turn a failure into one line on stderr and exit code 1."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import Result

from tests import cli
from tests.process import plain, run_cli
from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.db import SessionFactories, WriteHooks, create_engine_for, sync_url

DEFAULT_PROCEDURE = Path(str(files("warroom.procedure") / "default.yaml"))
PASSWORD = "correct horse battery"


def _env(db_url: str, data_dir: Path, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "WARROOM_DATABASE_URL": db_url,
        "WARROOM_DATA_DIR": str(data_dir),
        "WARROOM_PROCEDURE": None,
        "COLUMNS": "200",
    }
    env.update(extra)
    return env


def invoke(args: Sequence[str], db_url: str = "", data_dir: Path | None = None, **extra: str) -> Result:
    env = _env(db_url, data_dir or Path("var"), **extra) if db_url else {"COLUMNS": "200", **extra}
    return cli.invoke(args, env)


def ok(args: Sequence[str], db_url: str, data_dir: Path) -> str:
    result = invoke(args, db_url, data_dir)
    assert result.exit_code == 0, (result.output, result.exception)
    return plain(result.stdout)


def fails_with_one_line(args: Sequence[str], db_url: str, data_dir: Path, **extra: str) -> str:
    """Run the console script's `main()`: exit 1 with its error as the last stderr line and no traceback."""
    env = {"WARROOM_DATABASE_URL": db_url, "WARROOM_DATA_DIR": str(data_dir), **extra}
    done = cli.run_main(args, env)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), done.stderr
    return done.stderr


@contextmanager
def database(db_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(sync_url(db_url))
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def scalar(db_url: str, sql: str, **params: Any) -> Any:
    with database(db_url) as conn:
        return conn.execute(sa.text(sql), params).scalar()


def load_demo(db_url: str, data_dir: Path) -> int:
    found = re.search(r"demo loaded: INC-(\d+)", ok(["demo"], db_url, data_dir))
    assert found, "demo did not report the incident it loaded"
    return int(found.group(1))


def test_migrate_is_idempotent_on_a_migrated_database(db_url: str, data_dir: Path) -> None:
    head = scalar(db_url, "SELECT version_num FROM alembic_version")
    for _ in range(2):
        assert ok(["migrate"], db_url, data_dir) == "database is up to date"
    assert scalar(db_url, "SELECT version_num FROM alembic_version") == head
    assert scalar(db_url, "SELECT count(*) FROM alembic_version") == 1


def test_demo_loads_a_closed_incident_with_a_full_timeline_once(db_url: str, data_dir: Path) -> None:
    incident_id = load_demo(db_url, data_dir)
    with database(db_url) as conn:
        status, phase = conn.execute(
            sa.text("SELECT status, phase FROM incidents WHERE id = :id"), {"id": incident_id}
        ).one()
        kinds = (
            conn.execute(
                sa.text("SELECT kind FROM timeline_events WHERE incident_id = :id ORDER BY seq"),
                {"id": incident_id},
            )
            .scalars()
            .all()
        )
    assert (status, phase) == ("closed", "closed")
    assert "declared" in kinds and kinds[-1] == "closed"
    for kind in ("role_assigned", "phase_changed", "stakeholder_update", "severity_changed", "resolved"):
        assert kind in kinds, kind
    assert kinds.index("declared") < kinds.index("resolved") < kinds.index("closed")

    audit = ok(["audit", "verify"], db_url, data_dir)
    assert audit == f"audit ok: 1 incidents, {len(kinds)} timeline events, every chain verifies"

    users = scalar(db_url, "SELECT count(*) FROM users")
    assert ok(["demo"], db_url, data_dir) == "demo data is already loaded"
    assert scalar(db_url, "SELECT count(*) FROM incidents") == 1
    assert scalar(db_url, "SELECT count(*) FROM users") == users
    assert scalar(db_url, "SELECT count(*) FROM timeline_events") == len(kinds)


def test_procedure_check_accepts_the_shipped_default() -> None:
    result = invoke(["procedure", "check", str(DEFAULT_PROCEDURE)])
    assert result.exit_code == 0, result.output
    out = plain(result.stdout)
    assert out.startswith(f"{DEFAULT_PROCEDURE}: ok (Default incident procedure 2026.1")
    assert "4 severities, 4 roles, 6 phases" in out


def test_procedure_check_names_the_file_line_and_reason_of_every_problem(tmp_path: Path) -> None:
    lines = DEFAULT_PROCEDURE.read_text(encoding="utf-8").splitlines()
    target = lines.index("    response_target: 15m")  # P1's, the first severity
    lines[target] = "    response_target: 15 minutes"
    lines.insert(target + 1, "    colour: red")
    broken = tmp_path / "procedure.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = cli.run_main(["procedure", "check", str(broken)], {})
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert "ok (" not in done.stdout
    problems = done.stderr.strip().splitlines()
    assert problems[0].startswith(
        f"{broken}:{target + 1}:22: severities[0].response_target: invalid duration '15 minutes'"
    ), problems
    assert problems[1].startswith(f"{broken}:{target + 2}:5: severities[0].colour: unknown key 'colour'")
    assert problems[-1] == "error: the procedure has 2 problem(s)"


def test_procedure_check_of_a_missing_file_says_it_cannot_read_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = cli.run_main(["procedure", "check", str(missing)], {})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{missing}: cannot read file: No such file or directory"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope"], "No such command 'nope'."),
        (["serve", "--processes", "2", "--with-worker"], "needs"),
        (["serve", "--processes", "2"], "--processes needs PostgreSQL"),  # the environment's SQLite
    ],
    ids=["unknown-command", "bad-option", "sqlite-processes"],
)
def test_a_usage_error_is_usage_and_exit_code_2_not_a_traceback(args: list[str], words: str) -> None:
    done = run_cli(args, {})
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert "Usage: warroom" in done.stderr and words in done.stderr, done.stderr


def test_procedure_render_prints_markdown_with_the_severity_table(tmp_path: Path) -> None:
    shipped = invoke(["procedure", "render"])
    assert shipped.exit_code == 0, shipped.output
    text = shipped.stdout
    assert text.startswith("# Default incident procedure\n")
    assert (
        "| Severity | Name | Response target | Updates every | Status page draft | Required roles |\n" in text
    )
    assert "| P1 | Critical | 15 minutes | 30 minutes | yes |" in text
    assert "| P4 | Low | next business day | as needed | no | none |" in text

    custom = tmp_path / "ours.yaml"
    custom.write_text(
        DEFAULT_PROCEDURE.read_text(encoding="utf-8").replace(
            "name: Default incident procedure", "name: Acme procedure"
        ),
        encoding="utf-8",
    )
    by_argument = invoke(["procedure", "render", str(custom)])
    by_env = invoke(["procedure", "render"], WARROOM_PROCEDURE=str(custom))
    for result in (by_argument, by_env):
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("# Acme procedure\n")


# How the demo incident's timeline is tampered with -> (SQL, event number named given the last seq, reason).
TAMPERING: dict[str, tuple[str, Callable[[int], int], str]] = {
    "edited": (
        "UPDATE timeline_events SET data = '{\"tampered\": true}' WHERE incident_id = :id AND seq = 5",
        lambda last: 5,
        "content does not match its hash (edited)",
    ),
    "last deleted": (
        "DELETE FROM timeline_events WHERE incident_id = :id AND seq = :last",
        lambda last: last - 1,
        "chain ends before the recorded head (events removed)",
    ),
    "middle deleted": (
        "DELETE FROM timeline_events WHERE incident_id = :id AND seq = 7",
        lambda last: 8,
        "expected event #7 (one is missing)",
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_audit_verify_names_the_incident_and_event_that_was_tampered_with(
    db_url: str, data_dir: Path, tampering: str
) -> None:
    incident_id = load_demo(db_url, data_dir)
    assert ok(["audit", "verify"], db_url, data_dir).startswith("audit ok: 1 incidents")
    last = scalar(db_url, "SELECT max(seq) FROM timeline_events WHERE incident_id = :id", id=incident_id)
    sql, event_number, reason = TAMPERING[tampering]
    with database(db_url) as conn:
        params = {"id": incident_id, "last": last} if ":last" in sql else {"id": incident_id}
        assert conn.execute(sa.text(sql), params).rowcount == 1

    stderr = plain(fails_with_one_line(["audit", "verify"], db_url, data_dir))
    assert f"broken: incident {incident_id}, event #{event_number(last)}: {reason}" in stderr
    assert stderr.endswith("error: audit failed: 1 of 1 timelines do not verify")


def _user(db_url: str, email: str) -> User | None:
    engine = sa.create_engine(sync_url(db_url))
    try:
        with Session(engine) as session:
            return session.scalar(sa.select(User).where(User.email == email))
    finally:
        engine.dispose()


def test_user_create_then_a_second_call_updates_password_and_role(db_url: str, data_dir: Path) -> None:
    create = ["user", "create", "--email", "Ops@Example.com", "--name", "Ops", "--role", "responder"]
    assert (
        ok([*create, "--password", PASSWORD], db_url, data_dir) == "user ops@example.com (responder) created"
    )
    first = _user(db_url, "ops@example.com")
    assert first is not None and first.role == "responder" and auth.verify_password(first, PASSWORD)

    update = ["user", "create", "--email", "ops@example.com", "--role", "admin", "--password", "another one!"]
    assert ok(update, db_url, data_dir) == "user ops@example.com (admin) updated"
    second = _user(db_url, "ops@example.com")
    assert second is not None and second.id == first.id and second.role == "admin"
    assert auth.verify_password(second, "another one!") and not auth.verify_password(second, PASSWORD)
    assert scalar(db_url, "SELECT count(*) FROM users") == 1
    assert f"{first.id} ops@example.com admin Ops" in ok(["user", "list"], db_url, data_dir)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        (
            "--role",
            "boss",
            "error: role: unknown role 'boss'; allowed: admin, responder, viewer, stakeholder",
        ),
        ("--password", "short", "error: password: must be at least 10 characters"),
        ("--email", "not-an-email", "error: email: is not an email address"),
    ],
    ids=["role", "password", "email"],
)
def test_user_create_rejects_bad_input_in_one_line(
    db_url: str, data_dir: Path, option: str, value: str, message: str
) -> None:
    args = {"--email": "new@example.com", "--role": "viewer", "--password": PASSWORD, option: value}
    stderr = fails_with_one_line(
        ["user", "create", *(p for pair in args.items() for p in pair)], db_url, data_dir
    )
    assert stderr.strip() == message
    assert scalar(db_url, "SELECT count(*) FROM users") == 0


async def _authenticated_email(db_url: str, secret: str) -> str:
    db = SessionFactories(create_engine_for(db_url), hooks=WriteHooks(timeline_observers=()))  # reads only
    try:
        async with db.read() as session:
            email: str = (await auth.authenticate_token(session=session, secret=secret)).email
            return email
    finally:
        await db.engine.dispose()


def test_token_create_creates_the_missing_user_and_prints_a_working_token(
    db_url: str, data_dir: Path
) -> None:
    args = ["token", "create", "--email", "bot@example.com", "--name", "ci", "--role", "viewer"]
    first = invoke(args, db_url, data_dir)
    assert first.exit_code == 0, first.output
    secret = first.stdout.strip()
    assert first.stdout == secret + "\n" and secret.startswith("wr_") and len(secret) > 30
    user = _user(db_url, "bot@example.com")
    assert user is not None and user.role == "viewer" and user.password_hash is None
    assert asyncio.run(_authenticated_email(db_url, secret)) == "bot@example.com"

    again = invoke(args, db_url, data_dir)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() != secret
    assert asyncio.run(_authenticated_email(db_url, again.stdout.strip())) == "bot@example.com"
    assert scalar(db_url, "SELECT count(*) FROM users") == 1
    assert scalar(db_url, "SELECT count(*) FROM api_tokens") == 2


def test_resetting_a_password_without_role_keeps_the_role(db_url: str, data_dir: Path) -> None:
    """`user create` on an existing user is how a password is reset; it must not demote an admin."""
    admin = ["user", "create", "--email", "boss@example.com", "--role", "admin"]
    assert ok([*admin, "--password", PASSWORD], db_url, data_dir) == "user boss@example.com (admin) created"
    reset = ["user", "create", "--email", "boss@example.com", "--password", "a new passphrase"]
    assert ok(reset, db_url, data_dir) == "user boss@example.com (admin) updated"
    user = _user(db_url, "boss@example.com")
    assert user is not None and user.role == "admin"


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("WARROOM_PORT", "abc", "WARROOM_PORT"),
        ("WARROOM_DATABASE_URL", "mysql://db.example/warroom", "mysql"),
        ("WARROOM_QUEUE_PER_MINUTE", '{"notify.sms": 60}', "no queue 'notify.sms'"),
        ("WARROOM_QUEUE_PER_MINUTE", '{"notify.apprise": 0}', "at least 1 a minute"),
        ("WARROOM_AUDIT_CHECKPOINTS", "/var/lib/warroom/checkpoints.jsonl", "need WARROOM_AUDIT_KEY"),
        ("WARROOM_AUDIT_KEY", "too-short", "at least 32 characters"),
    ],
    ids=["port", "database-url", "unknown-queue", "zero-rate", "checkpoints-without-key", "short-audit-key"],
)
def test_a_bad_setting_is_one_line_not_a_traceback(
    data_dir: Path, tmp_path: Path, setting: str, value: str, words: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'unused.db'}"
    # A command that builds the whole process (`audit verify` only reads rows, and checks its own settings)
    stderr = fails_with_one_line(["integration", "list"], db_url, data_dir, **{setting: value})
    assert len(stderr.strip().splitlines()) == 1 and words in stderr, stderr

"""The foundation's "done when", as real processes on SQLite: `warroom run` on an empty data dir, the operator
CLI against it, `warroom audit verify`, and the ways `run` must refuse or must not repeat itself."""

from __future__ import annotations

import re
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.process import ServerProcess, free_port, plain, port_is_open, run_cli, running_server
from warroom.auth import service as auth
from warroom.auth.models import User

DEFAULT_PROCEDURE = Path(str(files("warroom.procedure") / "default.yaml"))
FIRST_RUN = re.compile(r"email:\s+(\S+)\s+password:\s+(\S+)\s+token:\s+(wr_\S+)")
ADMIN_EMAIL = "admin@warroom.local"


@dataclass(frozen=True)
class FirstAdmin:
    email: str
    password: str
    token: str


def first_admin(stdout: str) -> FirstAdmin:
    assert "First run: an admin was created. This is shown once." in stdout, stdout
    found = FIRST_RUN.search(stdout)
    assert found, stdout
    return FirstAdmin(*found.groups())


@contextmanager
def client(server: ServerProcess, token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as http:
        yield http


def get(http: httpx.Client, path: str) -> Any:
    response = http.get(path)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def kinds(http: httpx.Client, ref: str) -> list[str]:
    return [event["kind"] for event in get(http, f"/api/v1/incidents/{ref}/timeline")]


def in_order(wanted: list[str], seen: list[str]) -> bool:
    remaining = iter(seen)
    return all(kind in remaining for kind in wanted)


def cli_ok(args: list[str], env: dict[str, str]) -> str:
    done = run_cli(args, env)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return plain(done.stdout)


@pytest.mark.slow
def test_first_run_serves_the_demo_and_carries_an_incident_to_resolution(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # not created: `run` makes it
    with running_server({"WARROOM_DATA_DIR": str(data_dir)}, ("run",), log_dir=tmp_path / "logs") as server:
        admin = first_admin(server.stdout())
        assert admin.email == ADMIN_EMAIL
        assert re.search(r"demo organisation loaded \(closed incident INC-\d+\)", server.stdout())
        assert f"serving on http://127.0.0.1:{server.port}" in server.stdout()
        with closing(sqlite3.connect(data_dir / "warroom.db")) as db:
            (password_hash,) = db.execute(
                "SELECT password_hash FROM users WHERE email = ?", [ADMIN_EMAIL]
            ).fetchone()
        assert auth.verify_password(User(password_hash=password_hash, is_active=True), admin.password)

        health = httpx.get(f"{server.url}/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == {"status": "ok", "dialect": "sqlite"}

        with client(server, admin.token) as http:
            assert get(http, "/api/v1/me")["role"] == "admin"
            closed = [i for i in get(http, "/api/v1/incidents")["items"] if i["status"] == "closed"]
            assert len(closed) == 1
            demo_kinds = kinds(http, closed[0]["ref"])
            assert in_order(["declared", "role_assigned", "phase_changed", "resolved", "closed"], demo_kinds)
            assert demo_kinds[-1] == "closed"

            operator = {"WARROOM_URL": server.url, "WARROOM_TOKEN": admin.token}
            declared = cli_ok(["declare", "Checkout down", "--severity", "P1"], operator)
            found = re.fullmatch(r"(INC-(\d+)) declared: Checkout down \(P1, triage\)", declared)
            assert found, declared
            ref, incident_id = found.group(1), int(found.group(2))
            assert "declared" in kinds(http, ref)

            cli_ok(["assign", ref, "incident_commander", admin.email], operator)
            cli_ok(["phase", ref, "containment", "--reason", "impact is clear"], operator)
            cli_ok(["assign", ref, "technical_lead", admin.email], operator)  # a P1 resolves with its roles
            cli_ok(["waive", ref, "communications_lead", "--reason", "a test, nobody to tell"], operator)
            assert (
                cli_ok(["resolve", ref, "--reason", "rolled back"], operator)
                == f"{ref} resolved: now in review (resolved)"
            )
            timeline = kinds(http, ref)
            assert in_order(
                ["declared", "role_assigned", "phase_changed", "phase_changed", "resolved"], timeline
            )
            shown = cli_ok(["show", ref], operator)
            assert all(kind in shown for kind in ("declared", "role_assigned", "phase_changed", "resolved"))

        audit_env = {"WARROOM_DATA_DIR": str(data_dir)}
        total = len(demo_kinds) + len(timeline)
        verified = cli_ok(["audit", "verify"], audit_env)
        assert verified == f"audit ok: 2 incidents, {total} timeline events, every chain verifies"

        with closing(sqlite3.connect(data_dir / "warroom.db")) as db, db:
            edited = db.execute(
                "UPDATE timeline_events SET actor = 'mallory' WHERE incident_id = ? AND kind = 'declared'",
                [incident_id],
            )
            assert edited.rowcount == 1
        seq = timeline.index("declared") + 1
        tampered = run_cli(["audit", "verify"], audit_env)
        assert tampered.returncode == 1, (tampered.stdout, tampered.stderr)
        assert "Traceback" not in tampered.stderr
        assert f"incident {incident_id}, event #{seq}: content does not match its hash (edited)" in plain(
            tampered.stderr
        )
        assert plain(tampered.stderr).endswith("error: audit failed: 1 of 2 timelines do not verify")


def test_a_broken_procedure_stops_run_before_it_serves(tmp_path: Path) -> None:
    lines = DEFAULT_PROCEDURE.read_text(encoding="utf-8").splitlines()
    target = lines.index("    response_target: 15m")
    lines[target] = "    response_target: soon"
    lines.insert(target + 1, "    colour: red")
    procedure = tmp_path / "procedure.yaml"
    procedure.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data_dir, port = tmp_path / "var", free_port()

    env = {"WARROOM_DATA_DIR": str(data_dir), "WARROOM_PORT": str(port), "WARROOM_PROCEDURE": str(procedure)}
    done = run_cli(["run"], env, timeout=30)

    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    problems = done.stderr.strip().splitlines()
    assert problems[0].startswith(
        f"{procedure}:{target + 1}:22: severities[0].response_target: invalid duration 'soon'"
    )
    assert problems[1].startswith(f"{procedure}:{target + 2}:5: severities[0].colour: unknown key 'colour'")
    assert problems[-1] == "error: the procedure has 2 problem(s)"
    assert "serving on" not in done.stdout and "First run" not in done.stdout
    assert not port_is_open(port)
    assert not (data_dir / "warroom.db").exists()  # it stopped before migrating


@pytest.mark.slow
def test_a_second_run_creates_no_second_admin_and_no_second_demo(tmp_path: Path) -> None:
    env = {"WARROOM_DATA_DIR": str(tmp_path / "var")}
    with running_server(env, ("run",), log_dir=tmp_path / "first") as server:
        admin = first_admin(server.stdout())
        with client(server, admin.token) as http:
            users = get(http, "/api/v1/users")
            incidents = get(http, "/api/v1/incidents")
    assert [u["email"] for u in users if u["role"] == "admin"] == [ADMIN_EMAIL]
    assert incidents["total"] == 1
    # SIGTERM is a graceful shutdown (uvicorn re-raises the signal once it is done, hence -SIGTERM).
    assert server.process.returncode in (0, -signal.SIGTERM), server.tail()
    assert "Application shutdown complete" in server.stderr()

    with running_server(env, ("run",), log_dir=tmp_path / "second") as server:
        stdout = server.stdout()
        assert f"serving on http://127.0.0.1:{server.port}" in stdout
        assert "First run" not in stdout and "token:" not in stdout
        assert "demo organisation loaded" not in stdout
        with client(server, admin.token) as http:  # the first run's token still works
            assert get(http, "/api/v1/users") == users
            assert get(http, "/api/v1/incidents")["total"] == 1

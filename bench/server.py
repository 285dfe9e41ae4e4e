"""A real warroom server in a subprocess: migrate, issue a token, serve, wait for /healthz, stop."""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
WARROOM = REPO / ".venv" / "bin" / "warroom"
STARTUP_SECONDS_ENV = "WARROOM_TEST_STARTUP_SECONDS"  # the same knob as the test suite's (tests/process.py)
STOP_SECONDS = 10.0
ADMIN_SECONDS = 180.0


def startup_seconds() -> float:
    """How long a server or worker may take to start: generous (180 s), as a busy machine slows start-up
    many times over; a process that exits fails the wait at once instead."""
    raw = os.environ.get(STARTUP_SECONDS_ENV, "").strip()
    return float(raw) if raw else 180.0


class ServerFailed(Exception):
    """The server, or one of its admin commands, did not do what the benchmark needs."""


@dataclass(frozen=True)
class Server:
    base_url: str
    token: str
    env: dict[str, str]
    stderr_path: Path
    pid: int = 0

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far, its worker processes included (Linux /proc; NaN elsewhere)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            return sum(_process_cpu(pid) for pid in [str(self.pid), *children])
        except (OSError, IndexError):
            return math.nan

    def tail(self, lines: int = 40) -> str:
        return tail_file(self.stderr_path, lines)


def _process_cpu(pid: str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tail_file(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no server stderr captured)"
    text = path.read_text(errors="replace").rstrip()
    return "\n".join(text.splitlines()[-lines:]) if text else "(server stderr is empty)"


def free_port() -> int:
    """A port the OS just handed out (closed again; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("WARROOM_")}
    env.update(
        WARROOM_DATABASE_URL=database_url,
        WARROOM_DATA_DIR=str(data_dir),
        WARROOM_PORT=str(port),
        WARROOM_HOST="127.0.0.1",
        WARROOM_LOG_LEVEL="warning",
        COLUMNS="200",  # Rich wraps at 80 columns when stdout is not a terminal
    )
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `warroom <args>` with the server's environment; the caller reads the exit code."""
    return subprocess.run(
        [str(WARROOM), *args],
        env=env,
        cwd=env["WARROOM_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=ADMIN_SECONDS,
        check=False,
    )


def admin(args: list[str], env: dict[str, str]) -> str:
    done = run_cli(args, env)
    if done.returncode != 0:
        detail = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise ServerFailed(f"`warroom {' '.join(args)}` exited {done.returncode}: {detail}")
    return done.stdout


def create_token(env: dict[str, str]) -> str:
    args = ["token", "create", "--email", "bench@example.org", "--name", "bench", "--role", "responder"]
    lines = [line.strip() for line in admin(args, env).splitlines() if line.strip()]
    if not lines:
        raise ServerFailed("`warroom token create` printed no token")
    return lines[-1]


def admin_token(server: Server) -> str:
    """A new admin API token for the bench (each server start may make its own)."""
    args = ["token", "create", "--email", "bench-admin@example.org", "--name", "bench", "--role", "admin"]
    lines = [line.strip() for line in admin(args, server.env).splitlines() if line.strip()]
    if not lines:
        raise ServerFailed("`warroom token create` printed no token")
    return lines[-1]


def wait_healthy(process: subprocess.Popen[bytes], server: Server) -> None:
    limit = startup_seconds()
    deadline = time.monotonic() + limit
    with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise ServerFailed(f"server exited with {code} before /healthz answered:\n{server.tail()}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.1)
    raise ServerFailed(f"/healthz did not answer 200 within {limit:.0f} s:\n{server.tail()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


@contextmanager
def running_server(
    database_url: str, data_dir: Path, processes: int = 1, *, with_worker: bool = False
) -> Iterator[Server]:
    """Migrate, issue the bench token, start `warroom serve --processes N`, yield once /healthz is 200."""
    env = server_env(database_url, data_dir, free_port())
    admin(["migrate"], env)
    token = create_token(env)
    server = Server(
        base_url=f"http://127.0.0.1:{env['WARROOM_PORT']}",
        token=token,
        env=env,
        stderr_path=data_dir / "server.stderr.log",
    )
    with server.stderr_path.open("wb") as err, (data_dir / "server.stdout.log").open("wb") as out:
        command = [str(WARROOM), "serve", "--processes", str(processes)]
        command += ["--with-worker"] if with_worker else []
        process = subprocess.Popen(command, env=env, cwd=data_dir, stdout=out, stderr=err)
        server = dataclasses.replace(server, pid=process.pid)
        try:
            wait_healthy(process, server)
            yield server
        finally:
            stop(process)


@contextmanager
def running_noop(scratch: Path) -> Iterator[Server]:
    """bench/noop_app.py under uvicorn on a port of its own, as one process like `warroom serve`."""
    port = free_port()
    server = Server(
        base_url=f"http://127.0.0.1:{port}", token="", env={}, stderr_path=scratch / "noop.stderr.log"
    )
    command = [sys.executable, "-m", "uvicorn", "bench.noop_app:app", "--port", str(port), "--no-access-log",
               "--log-level", "warning"]  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    with server.stderr_path.open("wb") as err:
        process = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=err)
        server = dataclasses.replace(server, pid=process.pid)
        try:
            wait_healthy(process, server)
            yield server
        finally:
            stop(process)

"""Run the `warroom` console script as real processes: one-shot commands and servers on free ports.

Children get a hermetic environment: the parent's WARROOM_* variables are dropped (only what a test passes
counts), colour is off and rich renders 200 columns wide, so output can be matched as plain text.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

WARROOM = Path(sys.executable).parent / "warroom"
STARTUP_DEADLINE = 30.0
STOP_GRACE = 10.0
POLL_INTERVAL = 0.05
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """os.environ without WARROOM_* and colour settings, plus plain-output settings, plus `env`."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WARROOM_") and key not in {"FORCE_COLOR", "TTY_COMPATIBLE", "CLICOLOR_FORCE"}
    }
    base.update({"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    base.update(env)
    return base


def plain(text: str) -> str:
    """Output without ANSI codes and with every run of whitespace (rich's line wrapping) made one space."""
    return " ".join(_ANSI.sub("", text).split())


def run_cli(
    args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run `warroom ARGS` to completion through the console script (so `main()` handles errors)."""
    return subprocess.run(
        [str(WARROOM), *args],
        env=child_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    stdout_path: Path
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 30) -> str:
        return (
            f"--- stderr (last {lines} lines) ---\n"
            + "\n".join(self.stderr().splitlines()[-lines:])
            + f"\n--- stdout (last {lines} lines) ---\n"
            + "\n".join(self.stdout().splitlines()[-lines:])
        )


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until_healthy(server: ServerProcess, deadline: float) -> None:
    allowed = deadline - time.monotonic()
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            raise RuntimeError(
                f"warroom (pid {server.pid}) exited with {code} before serving\n{server.tail()}"
            )
        if _healthy(server.url):
            return
        time.sleep(POLL_INTERVAL)
    raise RuntimeError(f"warroom (pid {server.pid}) not healthy after {allowed:.0f}s\n{server.tail()}")


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM the process by its pid, SIGKILL it if it is still there after the grace period; reap it."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
    return process.wait()


@contextmanager
def running_server(
    env: Mapping[str, str],
    command: Sequence[str] = ("serve",),
    *,
    log_dir: Path | None = None,
    startup_deadline: float = STARTUP_DEADLINE,
) -> Iterator[ServerProcess]:
    """Start `warroom COMMAND`, yield once /healthz answers 200, stop it on exit.

    The port is WARROOM_PORT from `env`, or a free one. Output goes to files in `log_dir` (default: a
    temporary directory removed afterwards).
    """
    env = dict(env)
    env.setdefault("WARROOM_PORT", str(free_port()))
    with tempfile.TemporaryDirectory(prefix="warroom-server-") as scratch:
        logs = log_dir or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [str(WARROOM), *command], env=child_env(env), cwd=logs, stdout=stdout, stderr=stderr
            )
        server = ServerProcess(process, int(env["WARROOM_PORT"]), stdout_path, stderr_path)
        try:
            _wait_until_healthy(server, time.monotonic() + startup_deadline)
            yield server
        finally:
            stop(process)

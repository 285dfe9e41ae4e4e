"""Run the `warroom` console script as real processes: one-shot commands and servers on free ports.

Children get a hermetic environment: the parent's WARROOM_* variables are dropped (only what a test passes
counts), colour is off and rich renders 200 columns wide, so output can be matched as plain text.

Start-up waits follow the process (`wait_for_start`): ready when it says so (its health check answers, or
it prints that it runs), failed at once with its output if it exits first, and otherwise given a generous
deadline (WARROOM_TEST_STARTUP_SECONDS, default 180 s): a busy machine slows a start many times over, and a
fixed 30 s failed healthy servers there.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

WARROOM = Path(sys.executable).parent / "warroom"
STARTUP_SECONDS_ENV = "WARROOM_TEST_STARTUP_SECONDS"
DEFAULT_STARTUP_SECONDS = 180.0
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


# Every server, worker and CLI process a test starts imports all of warroom (~300 modules). Where the
# environment says PYTHONDONTWRITEBYTECODE (this machine's does), each one compiled them all again: about a
# second and a half per process, over a hundred processes a run. Children keep their bytecode in one cache
# outside the checkout instead.
BYTECODE_CACHE = Path(tempfile.gettempdir()) / "warroom-test-bytecode"


# Output without colour, at a fixed width, for the CLI's tests (tests.cli.run_main sets it in-process).
PLAIN_OUTPUT = {"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """os.environ without WARROOM_* and colour settings, plus plain-output settings, plus `env`."""
    dropped = {"FORCE_COLOR", "TTY_COMPATIBLE", "CLICOLOR_FORCE", "PYTHONDONTWRITEBYTECODE"}
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WARROOM_") and key not in dropped
    }
    base.update({**PLAIN_OUTPUT, "PYTHONUNBUFFERED": "1"})
    base.setdefault("PYTHONPYCACHEPREFIX", str(BYTECODE_CACHE))
    base.update(env)
    return base


def plain(text: str) -> str:
    """Output without ANSI codes and with every run of whitespace (rich's line wrapping) made one space."""
    return " ".join(_ANSI.sub("", text).split())


def run_cli(
    args: Sequence[str], env: Mapping[str, str], *, cwd: Path | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `warroom ARGS` to completion through the console script (so `main()` handles errors). A one-shot
    command is mostly start-up, so by default it gets the start-up deadline (`startup_seconds`)."""
    return subprocess.run(
        [str(WARROOM), *args],
        env=child_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=startup_seconds() if timeout is None else timeout,
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


def startup_seconds() -> float:
    """How long a starting process may take before a test gives up: WARROOM_TEST_STARTUP_SECONDS, or 180."""
    raw = os.environ.get(STARTUP_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_STARTUP_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{STARTUP_SECONDS_ENV} must be a number of seconds, not {raw!r}") from None
    if seconds <= 0:
        raise ValueError(f"{STARTUP_SECONDS_ENV} must be more than 0, not {raw!r}")
    return seconds


class StartupFailed(RuntimeError):
    """A process exited before it was ready, or was not ready by the deadline; the message has its output."""


def wait_for_start(
    ready: Callable[[], bool],
    gone: Callable[[], str | None],
    *,
    what: str,
    output: Callable[[], str],
    seconds: float | None = None,
    every: float = POLL_INTERVAL,
) -> float:
    """Poll until `ready()`; returns the seconds it took. `gone()` says why the thing starting has stopped
    (None while it lives): then this fails at once, with `output()`, rather than waiting out the deadline."""
    limit = startup_seconds() if seconds is None else seconds
    began = time.monotonic()
    while True:
        if (why := gone()) is not None:
            raise StartupFailed(f"{what} {why} before it was ready\n{output()}")
        if ready():
            return time.monotonic() - began
        if time.monotonic() - began > limit:
            raise StartupFailed(
                f"{what} still not ready after {limit:.0f} s (set {STARTUP_SECONDS_ENV} to wait longer)"
                f"\n{output()}"
            )
        time.sleep(every)


def exited(process: subprocess.Popen[Any]) -> Callable[[], str | None]:
    """For `wait_for_start`: the process's exit, once it has exited."""

    def why() -> str | None:
        code = process.poll()
        return None if code is None else f"(pid {process.pid}) exited with {code}"

    return why


def follow_start(
    process: subprocess.Popen[Any],
    ready: Callable[[], bool],
    *,
    what: str,
    output: Callable[[], str],
    seconds: float | None = None,
) -> float:
    """`wait_for_start` for a child process: fails at once, with its output, if it exits first."""
    return wait_for_start(ready, exited(process), what=what, output=output, seconds=seconds)


def printed(path: Path, text: str) -> Callable[[], bool]:
    """For `wait_for_start`: whether the output file at `path` has `text` in it yet."""
    return lambda: path.exists() and text in path.read_text(encoding="utf-8", errors="replace")


def healthy(url: str) -> bool:
    """warroom's own health answer at `url`. Not just any 200: a port from free_port() can be taken by
    another test's fake (port 0) before the server binds it, and the server then fails to start while the
    fake answers; seen once, when a sink that records every request answered a server's health check."""
    try:
        answer = httpx.get(f"{url}/healthz", timeout=2.0)
        return answer.status_code == 200 and isinstance(answer.json(), dict) and "status" in answer.json()
    except (httpx.HTTPError, ValueError):
        return False


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
    program: Sequence[str] = (str(WARROOM),),
) -> Iterator[ServerProcess]:
    """Start `warroom COMMAND`, yield once /healthz answers 200, stop it on exit.

    The port is WARROOM_PORT from `env`, or a free one. Output goes to files in `log_dir` (default: a
    temporary directory removed afterwards). `program` is what runs instead of `warroom` (a test's stand-in).
    """
    env = dict(env)
    env.setdefault("WARROOM_PORT", str(free_port()))
    with tempfile.TemporaryDirectory(prefix="warroom-server-") as scratch:
        logs = log_dir or Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        stdout_path, stderr_path = logs / "stdout.txt", logs / "stderr.txt"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [*program, *command], env=child_env(env), cwd=logs, stdout=stdout, stderr=stderr
            )
        server = ServerProcess(process, int(env["WARROOM_PORT"]), stdout_path, stderr_path)
        try:
            what = f"{Path(program[-1]).name} {' '.join(command)}".strip()
            follow_start(process, lambda: healthy(server.url), what=what, output=server.tail)
            yield server
        finally:
            stop(process)

"""Run the `warroom` Typer app in this process the way the console script (`warroom.main.main`) runs it:
with the composition root's runtime as Typer's context object. `invoke` leaves failures as exceptions on the
Result; `run_main` runs `main()` itself, which turns a failure into one line on stderr and an exit code, as
`tests.process.run_cli` does in a process of its own (~3 s a start here; in-process, milliseconds)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from typer.testing import CliRunner, Result

from tests.process import PLAIN_OUTPUT
from warroom.cli import app
from warroom.main import main, runtime


def invoke(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, obj=runtime())


def run_main(args: Sequence[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`warroom ARGS` through `main()` in this process, with the environment a child process would get
    (tests.process.child_env: no inherited WARROOM_* setting, plain output, then `env`). It runs in a thread
    of its own, so a command's asyncio.run works from an async test too."""
    overrides: dict[str, str | None] = {key: None for key in os.environ if key.startswith("WARROOM_")}
    overrides.update({**PLAIN_OUTPUT, **env})
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_run_main, ["warroom", *args], overrides).result()


def _run_main(argv: list[str], env: Mapping[str, str | None]) -> subprocess.CompletedProcess[str]:
    saved_argv = sys.argv
    with CliRunner().isolation(env=env) as (stdout, stderr, _):
        sys.argv = argv
        try:
            main()
            code = 0
        except SystemExit as stopped:
            code = stopped.code if isinstance(stopped.code, int) else int(stopped.code is not None)
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
        return subprocess.CompletedProcess(argv, code, stdout.getvalue().decode(), stderr.getvalue().decode())

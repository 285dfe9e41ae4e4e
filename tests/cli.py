"""Run the `warroom` Typer app in this process the way the console script (`warroom.main.main`) runs it:
with the composition root's runtime as Typer's context object. Failures stay exceptions on the Result
(only `main()` turns them into one line on stderr; `tests.process.run_cli` runs that)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from typer.testing import CliRunner, Result

from warroom.cli import app
from warroom.main import runtime


def invoke(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env, obj=runtime())

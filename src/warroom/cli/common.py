"""What every command group shares: the consoles, the failure type, the runtime and the database helper."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from warroom.cli.runtime import Runtime
from warroom.config import Settings
from warroom.context import AppContext
from warroom.procedure.loader import LoadedProcedure, load_default_procedure, load_procedure_file

T = TypeVar("T")
OPERATOR_PANEL = "Operator (talk to a server: WARROOM_URL, WARROOM_TOKEN)"

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
# The operator and alert commands print through a console that wraps long lines at the terminal's width
# (the others leave that to the terminal).
wrapping_out = Console()


class CommandFailed(Exception):
    """A failure already phrased for the person at the terminal."""


def runtime_of(ctx: typer.Context) -> Runtime:
    """The runtime the console script (or a test) passed as the context object."""
    runtime = ctx.obj
    if not isinstance(runtime, Runtime):
        raise RuntimeError("the warroom CLI runs with a Runtime as its context object (see main.py)")
    return runtime


def with_context(
    runtime: Runtime,
    settings: Settings,
    work: Callable[[AppContext], Awaitable[T]],
    *,
    procedure: LoadedProcedure | None = None,
) -> T:
    """Run `work` on a context as the server builds it; its database engine is disposed afterwards."""

    async def run() -> T:
        context = runtime.context(settings, procedure)
        try:
            return await work(context)
        finally:
            await context.db.engine.dispose()

    return asyncio.run(run())


def configured_procedure(settings: Settings) -> LoadedProcedure:
    """The procedure named by WARROOM_PROCEDURE, else the shipped default; raises ProcedureInvalid."""
    return load_procedure_file(settings.procedure) if settings.procedure else load_default_procedure()

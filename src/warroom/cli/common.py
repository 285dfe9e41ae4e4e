"""What the admin command groups share: the runtime and the database helper (and, re-exported, the consoles
and the failure type of `cli.output`, which the operator commands import alone)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from warroom.cli.output import OPERATOR_PANEL, CommandFailed, err, out, wrapping_out
from warroom.cli.runtime import Runtime
from warroom.config import Settings
from warroom.context import AppContext
from warroom.db import create_engine_for
from warroom.procedure.loader import LoadedProcedure, load_default_procedure, load_procedure_file

__all__ = [
    "OPERATOR_PANEL",
    "CommandFailed",
    "configured_procedure",
    "err",
    "out",
    "runtime_of",
    "with_context",
    "with_reads",
]
__all__ += ["wrapping_out"]
T = TypeVar("T")


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


def with_reads(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one read session on the database alone, for a command that only reads (`audit
    verify`): the composition root's import (every domain's jobs and observers) was 1.3 s of that command's
    2.7 s. It offers no write session, so nothing written here could skip the timeline's observers."""

    async def run() -> T:
        engine = create_engine_for(settings.resolved_database_url())
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def configured_procedure(settings: Settings) -> LoadedProcedure:
    """The procedure named by WARROOM_PROCEDURE, else the shipped default; raises ProcedureInvalid."""
    return load_procedure_file(settings.procedure) if settings.procedure else load_default_procedure()

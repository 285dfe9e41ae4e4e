"""What the composition root hands the CLI, so the CLI never imports it (main.py builds the real one).

Commands find it on Typer's context object (`ctx.obj`): the console script runs the app with
`obj=runtime`, and so do the tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # only for the signatures: the CLI starts without loading settings or the database
    from warroom.config import Settings
    from warroom.context import AppContext
    from warroom.procedure.loader import LoadedProcedure

ASGIApp = Callable[..., Awaitable[None]]  # an ASGI application: (scope, receive, send) -> None


@runtime_checkable
class Runtime(Protocol):
    """The server side of warroom as the CLI sees it."""

    @property
    def app_factory(self) -> str:
        """`module:function` of a factory building the ASGI app from the environment (`serve --processes N`,
        where every process builds its own app)."""
        ...

    def context(self, settings: Settings, procedure: LoadedProcedure | None = None) -> AppContext:
        """A context as the server builds it; without `procedure`, the configured one is loaded.
        The caller disposes `context.db.engine`."""
        ...

    def create_app(self, settings: Settings, *, procedure: LoadedProcedure, run_worker: bool) -> ASGIApp:
        """The API and UI; with `run_worker`, the job worker runs in the same process."""
        ...

    async def run_worker(self, context: AppContext, stop: asyncio.Event) -> None:
        """Run the job worker, with every job kind and periodic check, until `stop` is set."""
        ...

    def freeze_startup_heap(self) -> None:
        """Keep what start-up built out of the garbage collector's full passes."""
        ...

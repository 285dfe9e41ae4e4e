"""The `warroom` console script: the CLI with the composition root's runtime, and one line per failure.

This module sits above `warroom.app` and `warroom.wiring` at the top of the layers. The CLI below it gets
the server side as a `Runtime`; `ServerRuntime` imports the composition root and the app only when a
command asks for them, so `warroom version` and the operator commands start without loading the server.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from warroom.cli import app
from warroom.cli.api_client import ApiFailure
from warroom.cli.output import CommandFailed, err
from warroom.cli.runtime import Runtime

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from warroom.cli.runtime import ASGIApp
    from warroom.config import Settings
    from warroom.context import AppContext
    from warroom.procedure.loader import LoadedProcedure


class ServerRuntime:
    """The real runtime: contexts, app and worker exactly as the server builds them."""

    app_factory = "warroom.app:app_from_environment"

    def context(self, settings: Settings, procedure: LoadedProcedure | None = None) -> AppContext:
        from warroom.wiring import build_context

        return build_context(settings, None, procedure)

    def create_app(self, settings: Settings, *, procedure: LoadedProcedure, run_worker: bool) -> ASGIApp:
        from warroom.app import create_app

        return create_app(settings, procedure=procedure, run_worker=run_worker)

    async def run_worker(self, context: AppContext, stop: asyncio.Event) -> None:
        from warroom.wiring import new_worker

        await new_worker(context).run_forever(stop)

    def freeze_startup_heap(self) -> None:
        from warroom.app import freeze_startup_heap

        freeze_startup_heap()


def runtime() -> Runtime:
    return ServerRuntime()


def main() -> None:
    """Entry point: every known failure is one readable line on stderr and a non-zero exit."""
    try:
        code = app(standalone_mode=False, obj=runtime())
    except (CommandFailed, ApiFailure) as error:
        _one_line(error)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except typer.TyperException as error:  # a usage error: typer raises its own click's exceptions
        _usage_error(error)
    except Exception as error:  # noqa: BLE001 - sorted in _server_side_failure; the unknown are re-raised
        _server_side_failure(error)
    if isinstance(code, int) and code:
        sys.exit(code)


def _one_line(error: Exception) -> NoReturn:
    err.print(f"error: {error}", highlight=False, markup=False)
    sys.exit(1)


def _server_side_failure(error: Exception) -> NoReturn:
    """One line for the failures of the server-side parts an admin command loaded; anything else is a bug
    and keeps its traceback. Imported here, not at the top, so the operator commands start without them
    (a command that raised one of these has loaded its module already)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from warroom.errors import DomainError
    from warroom.procedure.loader import ProcedureInvalid

    if isinstance(error, ProcedureInvalid):
        for problem in error.problems:
            err.print(str(problem), highlight=False, markup=False)
        err.print(f"error: the procedure has {len(error.problems)} problem(s)", highlight=False)
        sys.exit(1)
    if isinstance(error, DomainError):
        _one_line(error)
    if isinstance(error, SQLAlchemyError):
        _database_failed(error)
    if isinstance(error, ValidationError):
        _settings_invalid(error)
    raise error


def _usage_error(error: typer.TyperException) -> NoReturn:
    show = getattr(error, "show", None)
    if callable(show):
        show()
    else:
        err.print(f"error: {error.format_message()}", highlight=False, markup=False)
    sys.exit(error.exit_code)


def _database_failed(error: SQLAlchemyError) -> NoReturn:
    from sqlalchemy.exc import OperationalError

    hint = " (is the database migrated? run `warroom migrate`)" if isinstance(error, OperationalError) else ""
    err.print(f"error: database: {str(error).splitlines()[0]}{hint}", markup=False, highlight=False)
    sys.exit(1)


def _settings_invalid(error: ValidationError) -> NoReturn:
    for bad in error.errors():
        name = "WARROOM_" + "_".join(str(p) for p in bad["loc"]).upper()
        err.print(f"error: setting {name}: {bad['msg']}", markup=False, highlight=False)
    sys.exit(1)


if __name__ == "__main__":
    main()

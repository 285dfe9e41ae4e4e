"""`warroom version`: in a module of its own, so it imports nothing but Typer."""

from __future__ import annotations

import typer

from warroom import __version__


def version() -> None:
    """Print warroom's version."""
    typer.echo(__version__)


def register(app: typer.Typer) -> None:
    app.command()(version)

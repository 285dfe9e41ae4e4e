"""`warroom backup`, `warroom export` and `warroom import`: copies of the database that restore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from warroom.backup.common import BackupFailed, Method
from warroom.cli.common import CommandFailed, err, out
from warroom.clock import SystemClock
from warroom.config import Settings

if TYPE_CHECKING:
    from warroom.backup.export import OnRows, TransferSummary

PANEL = "Backups (on the database: WARROOM_DATABASE_URL)"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@contextmanager
def _progress(verb: str) -> Iterator[tuple[Callable[[int], None], OnRows]]:
    """A rows bar on stderr, gone when done (stdout keeps only the summary line)."""
    with Progress(
        TextColumn(f"{verb} [bold]{{task.fields[table]}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # piped or captured: the summary line alone
    ) as progress:
        task = progress.add_task(verb, total=None, table="")

        def on_start(total: int) -> None:
            progress.update(task, total=total)

        def on_rows(table: str, rows: int) -> None:
            progress.update(task, advance=rows, table=table)

        yield on_start, on_rows


@contextmanager
def _one_line_failures() -> Iterator[None]:
    try:
        yield
    except BackupFailed as error:
        raise CommandFailed(str(error)) from None


def _summary(verb: str, summary: TransferSummary) -> str:
    return (
        f"{verb} {summary.rows} rows from {summary.tables} tables in {summary.seconds:.1f} s "
        f"({summary.path}, {_size(summary.bytes)})"
    )


def backup(
    out_path: Annotated[Path, typer.Argument(metavar="OUT", help="The file to write (never overwritten).")],
    method: Annotated[
        Method,
        typer.Option(help="auto: SQLite's backup API, or pg_dump if it can read the server, else export."),
    ] = Method.AUTO,
) -> None:
    """A consistent copy of the live database, taken while the server runs."""
    from warroom.backup.snapshot import take_backup  # here: it loads every table's model and Alembic

    url = Settings().resolved_database_url()
    with _one_line_failures(), _progress("backing up") as (on_start, on_rows):
        result = take_backup(
            url, out_path, method=method, now=SystemClock().now(), on_start=on_start, on_rows=on_rows
        )
    note = f"; {result.note}" if result.note else ""
    out.print(
        f"backup written: {result.path} ({_size(result.bytes)}, {result.method}{note})", highlight=False
    )


def export(
    out_path: Annotated[
        Path, typer.Argument(metavar="OUT.jsonl[.gz]", help="The file to write (.gz: gzip).")
    ],
) -> None:
    """Every table as versioned JSON lines, from one snapshot (for `warroom import`, on either database)."""
    from warroom.backup.export import export_database

    url = Settings().resolved_database_url()
    with _one_line_failures(), _progress("exporting") as (on_start, on_rows):
        summary = export_database(url, out_path, now=SystemClock().now(), on_start=on_start, on_rows=on_rows)
    out.print(_summary("exported", summary), highlight=False)


def import_(
    in_path: Annotated[Path, typer.Argument(metavar="IN.jsonl[.gz]", help="A file `warroom export` wrote.")],
) -> None:
    """Load an export into an empty, migrated database (SQLite or PostgreSQL): all of it or nothing."""
    from warroom.backup.importer import import_database

    url = Settings().resolved_database_url()
    with _one_line_failures(), _progress("importing") as (on_start, on_rows):
        summary = import_database(url, in_path, on_start=on_start, on_rows=on_rows)
    out.print(_summary("imported", summary), highlight=False)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel=PANEL)(backup)
    app.command(rich_help_panel=PANEL)(export)
    app.command("import", rich_help_panel=PANEL)(import_)

"""`warroom procedure ...`: check and render the incident procedure (procedure.yaml)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from warroom.cli.common import configured_procedure, out
from warroom.config import Settings
from warroom.drills.scenarios import SHIPPED_DIR, check_scenarios, scenario_files
from warroom.procedure.loader import load_procedure_file
from warroom.procedure.render import render_markdown

procedure_app = typer.Typer(
    help="Check and render the incident procedure (procedure.yaml).", no_args_is_help=True
)


@procedure_app.command("check")
def procedure_check(file: Annotated[Path, typer.Argument(help="The procedure.yaml to validate.")]) -> None:
    """Validate a procedure file; print every problem with its line, and exit non-zero if any."""
    loaded = load_procedure_file(file)
    p = loaded.procedure
    out.print(
        f"{file}: ok ({p.name} {p.version}, version {loaded.version_hash[:12]}; "
        f"{len(p.severities)} severities, {len(p.roles)} roles, {len(p.phases)} phases)"
    )
    _check_drill_scenarios(file.parent / "scenarios")


def _check_drill_scenarios(beside: Path) -> None:
    """Drill scenarios live next to the procedure (a ``scenarios/`` folder), else the shipped ones."""
    directory = beside if beside.is_dir() else SHIPPED_DIR
    problems = check_scenarios(directory)
    for line in problems:
        out.print(f"scenario {line}", markup=False)
    if problems:
        raise typer.Exit(1)
    out.print(f"{len(scenario_files(directory))} drill scenarios: ok")


@procedure_app.command("render")
def procedure_render(
    file: Annotated[
        Path | None, typer.Argument(help="Default: WARROOM_PROCEDURE or the shipped one.")
    ] = None,
) -> None:
    """Print the procedure as a readable Markdown SOP."""
    loaded = load_procedure_file(file) if file else configured_procedure(Settings())
    sys.stdout.write(render_markdown(loaded))


def register(app: typer.Typer) -> None:
    app.add_typer(procedure_app, name="procedure")

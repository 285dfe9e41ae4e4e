"""The CLI sits below the composition root: no module of warroom.cli imports the app, the console script's
module or the web layer (not even lazily, inside a function), and importing the CLI loads no server."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

CLI = Path(str(files("warroom.cli")))
ABOVE = ("warroom.app", "warroom.main", "warroom.wiring", "warroom.web")
SERVER = ("warroom.app", "warroom.main", "fastapi", "uvicorn")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in CLI.glob("*.py")))
def test_no_cli_module_imports_upward(module: str) -> None:
    upward = {n for n in imported(CLI / module) if any(n == a or n.startswith(f"{a}.") for a in ABOVE)}
    assert not upward, f"warroom.cli.{module[:-3]} imports {sorted(upward)}"


def test_importing_the_cli_does_not_load_the_server() -> None:
    probe = f"import sys, warroom.cli; print(' '.join(m for m in {SERVER!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


OPERATOR_MODULES = (
    "version",
    "incidents",
    "alerts",
    "metrics",
    "comms",
    "reviews",
    "oncall",
    "preparedness",
    "drills",
)
HEAVY = ("sqlalchemy", "warroom.config", "warroom.context", "pydantic_settings", "aiohttp", "warroom.db")


def test_every_command_is_listed_beside_the_module_that_registers_it() -> None:
    from warroom.cli import COMMANDS, commands_of

    modules = sorted(
        {p.stem for p in CLI.glob("*.py")} - {"__init__", "output", "common", "runtime", "api_client"}
    )
    registered = {name: module for module in modules for name in commands_of(module)}
    assert registered == COMMANDS  # a command missing from the table would never run
    assert set(modules) == set(COMMANDS.values())


def test_operator_commands_start_without_settings_or_the_database() -> None:
    """What makes `warroom incidents` answer in a fraction of a second: building the console script and
    every operator command loads neither the database layer nor the server's settings."""
    probe = (
        "import sys, warroom.main\n"
        "from warroom.cli import commands_of\n"
        f"for module in {OPERATOR_MODULES!r}: commands_of(module)\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""

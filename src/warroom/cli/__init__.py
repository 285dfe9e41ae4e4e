"""The `warroom` command: admin commands run services on the database; operator commands use the API.

One module per command group; this one only knows which module holds which command, and imports a module
when one of its commands runs (or when help lists them all): `warroom incidents` loads the API client and
not the server, so an operator command answers in a fraction of a second. The CLI sits below the composition
root: what it needs from the server side (contexts, the ASGI app, the worker) comes as a `Runtime` on Typer's
context object, which the console script (`main.py`, beside `app.py`) provides.
"""

from __future__ import annotations

import importlib
from functools import cache

import typer

# Typer carries its own copy of click; a group that builds commands lazily speaks its types.
from typer._click.core import Command, Context
from typer.core import TyperGroup

# Every command, in the order `warroom --help` lists them within each panel, with the module (under
# warroom.cli) whose `register` adds it. tests/unit/test_cli_commands.py checks this against the modules.
COMMANDS: dict[str, str] = {
    "worker": "server", "version": "version", "migrate": "server", "demo": "server", "run": "server",
    "serve": "server", "procedure": "procedure", "audit": "audit", "backup": "backup", "export": "backup",
    "import": "backup", "user": "users", "token": "users", "integration": "integrations",
    "declare": "incidents", "incidents": "incidents", "show": "incidents", "assign": "incidents",
    "waive": "incidents", "milestone": "incidents", "phase": "incidents", "restrict": "incidents",
    "update": "incidents", "resolve": "incidents", "oncall": "incidents", "report": "metrics",
    "actions": "reviews", "review": "reviews", "stakeholders": "comms", "ack": "alerts", "unack": "alerts",
    "alerts": "alerts", "schedule": "oncall", "policy": "oncall", "contact": "oncall",
    "preparedness": "preparedness", "drill": "drills", "page": "paging", "escalate": "paging",
    "problem": "paging", "playbook": "playbooks", "tick": "playbooks", "step": "playbooks",
    "observable": "observables", "asset": "observables", "blast": "paging", "login": "sso", "sso": "sso",
    "intel": "intel", "doctor": "doctor",
}  # fmt: skip


@cache
def commands_of(module: str) -> dict[str, Command]:
    """The click commands a command module registers, built as Typer builds them."""
    registering = typer.Typer()
    importlib.import_module(f"warroom.cli.{module}").register(registering)
    return dict(typer.main.get_group(registering).commands)


class LazyCommands(TyperGroup):
    """A group whose commands are built from their module on first use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module = COMMANDS.get(cmd_name)
        return None if module is None else commands_of(module).get(cmd_name)


app = typer.Typer(cls=LazyCommands, no_args_is_help=True)


@app.callback()
def warroom() -> None:
    """warroom: incident response, run end to end."""


__all__ = ["COMMANDS", "app", "commands_of"]

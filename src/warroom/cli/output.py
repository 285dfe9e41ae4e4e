"""The consoles and the failure type every command prints through. Light on purpose: the operator commands
import this and the API client only, so they start without loading the server."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

OPERATOR_PANEL = "Operator (talk to a server: WARROOM_URL, WARROOM_TOKEN)"

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
# The operator and alert commands print through a console that wraps long lines at the terminal's width
# (the others leave that to the terminal).
wrapping_out = Console()


class CommandFailed(Exception):
    """A failure already phrased for the person at the terminal."""


def print_json(body: object) -> None:
    """A listing as the API answered it, for scripts (`--json`)."""
    sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")


# The `--json` option every listing offers.
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's answer as JSON, for scripts.")]

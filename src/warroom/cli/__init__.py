"""The `warroom` command: admin commands run services on the database; operator commands use the API.

One module per command group; this one only assembles them. The CLI sits below the composition root: what
it needs from the server side (contexts, the ASGI app, the worker) comes as a `Runtime` on Typer's context
object, which the console script (`main.py`, beside `app.py`) provides.
"""

from __future__ import annotations

import typer

from warroom.cli import (
    alerts,
    audit,
    backup,
    comms,
    incidents,
    integrations,
    metrics,
    oncall,
    procedure,
    reviews,
    server,
    users,
)

app = typer.Typer(help="warroom: incident response, run end to end.", no_args_is_help=True)

# Registration order is the order `warroom --help` lists commands and groups in, within each panel.
for group in (
    server, procedure, audit, backup, users, integrations, incidents, metrics, reviews, comms, alerts, oncall
):  # fmt: skip
    group.register(app)

__all__ = ["app"]

"""`warroom audit verify`: prove the timeline was not rewritten."""

from __future__ import annotations

import typer

from warroom.cli.common import CommandFailed, err, out, runtime_of, with_context
from warroom.config import Settings
from warroom.context import AppContext
from warroom.incidents.audit import verify_all

audit_app = typer.Typer(help="Prove the timeline was not rewritten.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check every incident's hash chain; name the first broken link of each broken chain."""

    async def work(context: AppContext) -> tuple[int, int, list[str]]:
        async with context.db.read() as session:
            report = await verify_all(session=session)
        return report.incidents_checked, report.events_checked, [str(b) for b in report.broken]

    incidents, events, broken = with_context(runtime_of(ctx), Settings(), work)
    if broken:
        for line in broken:
            err.print(f"[red]broken:[/] {line}")
        raise CommandFailed(f"audit failed: {len(broken)} of {incidents} timelines do not verify")
    out.print(f"audit ok: {incidents} incidents, {events} timeline events, every chain verifies")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

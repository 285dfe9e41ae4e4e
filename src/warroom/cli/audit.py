"""`warroom audit verify`: prove the timeline was not rewritten."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.cli.common import CommandFailed, err, out, with_reads
from warroom.config import Settings
from warroom.evidence.service import check_files
from warroom.incidents.audit import check_heads, verify_all
from warroom.incidents.checkpoints import audit_key
from warroom.timeline.checkpoints import read_lines

audit_app = typer.Typer(help="Prove the timeline was not rewritten.", no_args_is_help=True)

AGAINST_HELP = (
    "A checkpoints file (WARROOM_AUDIT_CHECKPOINTS, or a witness's copy): check each line's signature with "
    "WARROOM_AUDIT_KEY, and that every checkpointed head is still in its chain with the same hash."
)


@dataclass
class Findings:
    incidents: int
    events: int
    broken: list[str]
    checkpoints: int = 0
    checkpoint_findings: list[str] = field(default_factory=list)
    evidence: int = 0  # evidence files checked against their sha256
    evidence_findings: list[str] = field(default_factory=list)


def _read_checkpoints(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise CommandFailed(f"cannot read checkpoints {path}: {error.strerror or error}") from None


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        Path | None, typer.Option("--against", metavar="CHECKPOINTS", help=AGAINST_HELP)
    ] = None,
) -> None:
    """Check every incident's hash chain; name the first broken link of each broken chain."""
    settings = Settings()
    key = audit_key(settings)
    lines = _read_checkpoints(against) if against is not None else None

    async def work(session: AsyncSession) -> Findings:
        report = await verify_all(session=session)
        found = Findings(report.incidents_checked, report.events_checked, [str(b) for b in report.broken])
        found.evidence, found.evidence_findings = await check_files(session, settings.resolved_evidence_dir())
        if lines is not None:
            read = read_lines(lines, key)
            heads = await check_heads(session, read.checkpoints)
            found.checkpoints = sum(1 for line in lines if line.strip())
            found.checkpoint_findings = read.findings + heads.findings
        return found

    if against is not None and key is None:
        err.print(
            "[yellow]warning:[/] WARROOM_AUDIT_KEY is not set: cannot check the checkpoints' signatures"
        )
    found = with_reads(settings, work)
    _report(found, against is not None, signed=key is not None)


def _report(found: Findings, against: bool, signed: bool) -> None:
    for line in found.broken:
        err.print(f"[red]broken:[/] {line}")
    for line in found.checkpoint_findings:
        err.print(f"[red]checkpoint:[/] {line}")
    for line in found.evidence_findings:
        err.print(f"[red]evidence:[/] {escape(line)}", highlight=False)
    unsigned = "" if signed else " (signatures not checked)"
    if found.broken or found.checkpoint_findings or found.evidence_findings:
        summary = f"audit failed: {len(found.broken)} of {found.incidents} timelines do not verify"
        if against:
            summary += f"; {len(found.checkpoint_findings)} checkpoint findings{unsigned}"
        if found.evidence_findings:
            summary += (
                f"; {len(found.evidence_findings)} of {found.evidence} evidence files missing or changed"
            )
        raise CommandFailed(summary)
    summary = f"audit ok: {found.incidents} incidents, {found.events} timeline events, every chain verifies"
    if against:
        summary += f"; {found.checkpoints} checkpoints match{unsigned}"
    if found.evidence:
        summary += f"; {found.evidence} evidence files match their sha256"
    out.print(summary)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")

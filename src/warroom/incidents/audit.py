"""`warroom audit verify`: every incident's timeline checked against the head its incident row recorded
and, with `--against`, against signed checkpoints of the heads (warroom.incidents.checkpoints)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, and_, column, select, values
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.incidents.models import Incident
from warroom.timeline.checkpoints import NumberedCheckpoint, head_finding
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import AuditReport, verify_chains

LOOKUP_CHUNK = 400  # (incident, seq) pairs a statement: under the 999 parameters older SQLite builds allow


async def verify_all(*, session: AsyncSession) -> AuditReport:
    incidents = (await session.scalars(select(Incident).order_by(Incident.id))).all()
    return await verify_chains(session=session, owners=list(incidents))


@dataclass(frozen=True)
class HeadCheck:
    checked: int
    findings: list[str]


async def check_heads(session: AsyncSession, checkpoints: Sequence[NumberedCheckpoint]) -> HeadCheck:
    """Every checkpointed event must still be in its chain, with the checkpointed hash."""
    wanted = sorted({(entry.checkpoint.incident, entry.checkpoint.seq) for entry in checkpoints})
    incidents = sorted({incident for incident, _ in wanted})
    hashes = await event_hashes(session, wanted)
    existing: set[int] = set()
    for start in range(0, len(incidents), LOOKUP_CHUNK):
        ids = incidents[start : start + LOOKUP_CHUNK]
        existing.update((await session.scalars(select(Incident.id).where(Incident.id.in_(ids)))).all())
    findings = [
        found
        for entry in sorted(checkpoints, key=lambda e: (e.checkpoint.incident, e.number))
        if (found := head_finding(entry, hashes.get(_key(entry)), entry.checkpoint.incident in existing))
    ]
    return HeadCheck(len(checkpoints), findings)


def _key(entry: NumberedCheckpoint) -> tuple[int, int]:
    return entry.checkpoint.incident, entry.checkpoint.seq


async def event_hashes(
    session: AsyncSession, wanted: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], str]:
    """The hash of each (incident, seq) event that exists."""
    hashes: dict[tuple[int, int], str] = {}
    # A few statements for the whole file rather than one per incident, each pair one index search (a
    # row-value IN made SQLite scan the table; an OR of pairs cost seconds to build): 5,000 checkpoints
    # took 90 s looked up per incident.
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        pairs = values(column("incident", Integer), column("seq", Integer), name="wanted")
        chunk = pairs.data(wanted[start : start + LOOKUP_CHUNK]).cte("wanted")
        rows = await session.execute(
            select(TimelineEvent.incident_id, TimelineEvent.seq, TimelineEvent.hash)
            .select_from(chunk)
            .join(
                TimelineEvent,
                and_(TimelineEvent.incident_id == chunk.c.incident, TimelineEvent.seq == chunk.c.seq),
            )
        )
        hashes.update({(incident, seq): digest for incident, seq, digest in rows})
    return hashes

"""Evidence on an incident, with its chain of custody on the incident's hash-chained timeline: who collected
it, when and from where; every download and hand-over. The caller holds the incident's row lock."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.errors import Conflict, NotFound, invalid
from warroom.evidence import storage
from warroom.evidence.models import Evidence
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record

CUSTODY = (EventKind.evidence_added, EventKind.evidence_downloaded, EventKind.evidence_handed_over)


def clean_filename(name: str | None) -> str:
    """The name as uploaded, made harmless: its last path part, no control characters or lone surrogates,
    at most 200 characters; "evidence" when nothing is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if unicodedata.category(c) not in ("Cc", "Cs", "Cf")).strip(" .")
    return kept[:200] or "evidence"


async def add(
    *,
    session: AsyncSession,
    root: Path,
    limit: int,
    actor: User,
    incident: Incident,
    chunks: AsyncIterator[bytes],
    filename: str | None,
    description: str,
    collected_from: str,
    collected_at: datetime | None,
    now: datetime,
) -> Evidence:
    if collected_at is not None and collected_at > now:
        raise invalid("collected_at", "is in the future")
    stored = await storage.store(root, chunks, limit)
    item = Evidence(
        incident_id=incident.id, sha256=stored.sha256, size=stored.size, filename=clean_filename(filename),
        description=description.strip(), collected_from=collected_from.strip(),
        collected_at=collected_at or now, collected_by_id=actor.id, holder_id=actor.id, uploaded_at=now,
    )  # fmt: skip
    session.add(item)
    await session.flush()
    data = {"evidence_id": item.id, "sha256": item.sha256, "size": item.size, "filename": item.filename,
            "collected_from": item.collected_from, "collected_at": item.collected_at.isoformat()}  # fmt: skip
    await record(session, incident, actor, EventKind.evidence_added, now, **data)
    incident.updated_at = now
    return item


async def get(session: AsyncSession, incident: Incident, evidence_id: int) -> Evidence:
    item = await session.get(Evidence, evidence_id)
    if item is None or item.incident_id != incident.id:
        raise NotFound(f"no evidence {evidence_id} on {incident_ref(incident.id)}")
    return item


async def list_for(session: AsyncSession, incident_id: int) -> list[Evidence]:
    query = select(Evidence).where(Evidence.incident_id == incident_id).order_by(Evidence.id)
    return list((await session.scalars(query)).all())


async def downloaded(
    *,
    session: AsyncSession,
    root: Path,
    actor: User,
    incident: Incident,
    item: Evidence,
    via: str,
    now: datetime,
) -> None:
    """Record the access before any byte goes out; a file that no longer matches its hash is not served."""
    problem = storage.check(root, item.sha256)
    if problem is not None:
        raise Conflict(f"evidence {item.id} cannot be served: {problem}; run `warroom audit verify`")
    await record(session, incident, actor, EventKind.evidence_downloaded, now, evidence_id=item.id,
                 sha256=item.sha256, via=via)  # fmt: skip


async def hand_over(
    *,
    session: AsyncSession,
    actor: User,
    incident: Incident,
    item: Evidence,
    to: User,
    note: str,
    now: datetime,
) -> Evidence:
    if to.id == item.holder_id:
        raise Conflict(f"{to.email} already holds evidence {item.id}")
    if not to.is_active:
        raise invalid("to", f"{to.email} is deactivated")
    previous = await session.get(User, item.holder_id) if item.holder_id else None
    item.holder_id = to.id
    await record(session, incident, actor, EventKind.evidence_handed_over, now, evidence_id=item.id,
                 sha256=item.sha256, to=to.email, previous=previous.email if previous else None,
                 note=note.strip())  # fmt: skip
    incident.updated_at = now
    await session.flush()
    return item


async def custody(session: AsyncSession, incident_id: int, evidence_id: int) -> list[TimelineEvent]:
    """The item's chain of custody: its events on the incident's timeline, oldest first."""
    query = select(TimelineEvent).where(
        TimelineEvent.incident_id == incident_id, TimelineEvent.kind.in_(CUSTODY)
    )
    events = (await session.scalars(query.order_by(TimelineEvent.seq))).all()
    return [e for e in events if (e.data or {}).get("evidence_id") == evidence_id]


async def check_files(session: AsyncSession, root: Path) -> tuple[int, list[str]]:
    """How many evidence files were checked, and each one missing or no longer matching its sha256."""
    items = (await session.scalars(select(Evidence).order_by(Evidence.id))).all()
    found = []
    for item in items:
        problem = storage.check(root, item.sha256)
        if problem is not None:
            found.append(f"{incident_ref(item.incident_id)} evidence {item.id} ({item.filename}): {problem}")
    return len(items), found

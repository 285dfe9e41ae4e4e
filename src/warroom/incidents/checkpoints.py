"""Audit checkpoints: the periodic check that signs every changed chain head into WARROOM_AUDIT_CHECKPOINTS
(and queues them for WARROOM_AUDIT_WITNESS_URL), the `audit.witness` job, and the check of a chain against
a checkpoints file (`warroom audit verify --against`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.config import Settings
from warroom.context import AppContext
from warroom.incidents.audit import event_hashes
from warroom.incidents.models import Incident
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue
from warroom.timeline.checkpoint_file import CheckpointFile
from warroom.timeline.checkpoints import Checkpoint, Head, sign_heads

logger = structlog.get_logger("warroom.audit")
WITNESS_KIND = "audit.witness"
WITNESS_QUEUE = "audit.witness"


class WitnessRefused(RuntimeError):
    """The witness did not take the checkpoints; the job is retried."""


def audit_key(settings: Settings) -> bytes | None:
    return settings.audit_key.get_secret_value().encode("utf-8") if settings.audit_key else None


class AuditCheckpoints:
    """The periodic check: every WARROOM_AUDIT_CHECKPOINT_SECONDS, sign the head of each chain that moved
    since the file's last checkpoint of it. Runs on every worker pass, so it keeps (per file) when it is due
    next; the file, not this process, is what says which heads are already checkpointed."""

    __name__ = "write_audit_checkpoints"

    def __init__(self) -> None:
        self._files: dict[Path, CheckpointFile] = {}
        self._due: dict[Path, datetime] = {}

    async def __call__(self, context: AppContext) -> None:
        settings, now = context.settings, context.clock.now()
        key = audit_key(settings)
        if settings.audit_checkpoints is None or key is None:
            return
        path = settings.audit_checkpoints.resolve()
        if now < self._due.get(path, now):
            return
        # Due again one interval on whether this pass succeeds or not: a failure logs once per interval.
        self._due[path] = now + timedelta(seconds=settings.audit_checkpoint_seconds)
        file = self._files.get(path)
        if file is None or file.key != key:
            file = self._files[path] = CheckpointFile(path, key)
        known = await asyncio.to_thread(file.known_heads)
        async with context.db.read() as session:
            current = await extending_heads(session, known)

        def sign(latest: dict[int, Head], last_sig: str) -> list[Checkpoint]:
            # `latest`: the file again, under its lock; another worker may have signed some meanwhile.
            return sign_heads(key, (h for h in current if latest.get(h.incident) != h), now, last_sig)

        made = await asyncio.to_thread(file.append, sign)
        if made and settings.audit_witness_url is not None:
            # After the file holds them: a crash in between costs the witness these lines, never the file.
            async with context.db.write_turn, context.db.write() as session:
                await enqueue(session=session, spec=witness_job(made), now=now)
                await session.commit()


async def extending_heads(session: AsyncSession, known: dict[int, Head]) -> list[Head]:
    """The chain heads that moved since their last checkpoint, each still extending it: a chain whose
    checkpointed event is gone or has another hash was rewritten, and signing its new head would vouch for
    the rewrite. It is logged instead, on every pass, until someone looks."""
    moved = [head for head in await chain_heads(session) if known.get(head.incident) != head]
    anchors = [known[head.incident] for head in moved if head.incident in known]
    hashes = await event_hashes(session, [(anchor.incident, anchor.seq) for anchor in anchors])
    extending: list[Head] = []
    for head in moved:
        anchor = known.get(head.incident)
        if anchor is None or (
            head.seq > anchor.seq and hashes.get((anchor.incident, anchor.seq)) == anchor.hash
        ):
            extending.append(head)
        else:
            logger.error(
                "audit chain no longer matches its checkpoint; not checkpointed",
                incident=head.incident,
                checkpointed_seq=anchor.seq,
                seq=head.seq,
            )
    return extending


async def chain_heads(session: AsyncSession) -> list[Head]:
    """Every incident's head as its row records it (verify checks the row against the events)."""
    rows = await session.execute(
        select(Incident.id, Incident.timeline_seq, Incident.timeline_head)
        .where(Incident.timeline_seq > 0)
        .order_by(Incident.id)
    )
    return [Head(incident, seq, digest) for incident, seq, digest in rows]


def witness_job(made: Sequence[Checkpoint]) -> JobSpec:
    return JobSpec(
        kind=WITNESS_KIND, payload={"lines": [c.line() for c in made]}, queue=WITNESS_QUEUE, max_attempts=50
    )


async def send_to_witness(run: JobRun, payload: dict[str, Any]) -> None:
    """The `audit.witness` job: POST the signed lines as they are in the file (NDJSON), so the witness can
    append them to a copy that `audit verify --against` reads."""
    url = run.context.settings.audit_witness_url
    if url is None:
        return  # the witness was unset since the job was queued
    body = "".join(f"{line}\n" for line in payload["lines"]).encode("utf-8")
    headers = {"content-type": "application/x-ndjson"}
    try:
        async with httpx.AsyncClient(timeout=run.context.settings.notify_timeout_seconds) as http:
            response = await http.post(url.get_secret_value(), content=body, headers=headers)
    except httpx.HTTPError as error:
        raise WitnessRefused(f"witness: {type(error).__name__}") from None
    if response.status_code >= 300:
        raise WitnessRefused(f"witness: HTTP {response.status_code}")

"""Signed audit checkpoints on SQLite and PostgreSQL: a chain rewritten with recomputed hashes, or cut short,
still passes `audit verify` but fails `audit verify --against`; a checkpoint edited by hand fails its
signature; the periodic check writes only heads that moved, once per interval; a witness gets the lines."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from tests.conftest import START
from tests.fakes.sink import running_sink
from tests.integration.test_cli_admin import fails_with_one_line, invoke, load_demo
from tests.process import plain
from warroom.clock import FrozenClock
from warroom.config import Settings
from warroom.context import AppContext
from warroom.db import sync_url
from warroom.incidents.checkpoints import AuditCheckpoints
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate
from warroom.incidents.service import declare_incident, get_incident
from warroom.incidents.visibility import SYSTEM
from warroom.jobs import service as jobs
from warroom.timeline.checkpoints import is_signed_by, parse_line
from warroom.timeline.domain import GENESIS_HASH, event_hash
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import record
from warroom.wiring import build_context, new_worker

KEY = "test-audit-key-0123456789abcdef-0123456789"
INTERVAL = timedelta(seconds=300)


def settings_for(db_url: str, data_dir: Path, checkpoints: Path, **extra: str) -> Settings:
    return Settings(
        database_url=db_url, data_dir=data_dir, audit_key=KEY, audit_checkpoints=checkpoints, **extra
    )


def write_checkpoints(settings: Settings, clock: FrozenClock) -> None:
    async def run() -> None:
        context = build_context(settings, clock=clock)
        try:
            await AuditCheckpoints()(context)
        finally:
            await context.db.engine.dispose()

    asyncio.run(run())


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def verify_against(db_url: str, data_dir: Path, path: Path, **extra: str) -> str:
    """`audit verify --against` as the console script, which must fail; returns its stderr."""
    args = ["audit", "verify", "--against", str(path)]
    return plain(fails_with_one_line(args, db_url, data_dir, WARROOM_AUDIT_KEY=KEY, **extra))


def verify_against_ok(db_url: str, data_dir: Path, path: Path, **extra: str) -> str:
    result = invoke(["audit", "verify", "--against", str(path)], db_url, data_dir, **extra)
    assert result.exit_code == 0, (result.output, result.exception)
    return plain(result.stdout)


def rewrite(
    db_url: str, incident_id: int, change: Callable[[list[TimelineEvent]], list[TimelineEvent]]
) -> None:
    """What someone with write access to the database can do: change the events (drop some: those `change`
    leaves out are deleted), then recompute every hash and the incident's head, so the chain verifies."""
    engine = sa.create_engine(sync_url(db_url))
    try:
        with Session(engine) as session, session.begin():
            query = sa.select(TimelineEvent).where(TimelineEvent.incident_id == incident_id)
            events = list(session.scalars(query.order_by(TimelineEvent.seq)).all())
            kept = change(list(events))
            for event in events[len(kept) :]:
                session.delete(event)
            prev = GENESIS_HASH
            for event in kept:
                event.prev_hash = prev
                event.hash = prev = event_hash(
                    incident_id=incident_id, seq=event.seq, at=event.at, actor=event.actor,
                    kind=event.kind, data=event.data, prev_hash=prev,
                )  # fmt: skip
            incident = session.get_one(Incident, incident_id)
            incident.timeline_seq, incident.timeline_head = len(kept), prev
    finally:
        engine.dispose()


def reworded(event: TimelineEvent) -> TimelineEvent:
    event.data = {**event.data, "rewritten": True}
    return event


def test_a_rewrite_with_recomputed_hashes_passes_verify_but_not_the_checkpoints(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    incident_id = load_demo(db_url, data_dir)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoints(settings_for(db_url, data_dir, checkpoints), FrozenClock(START))
    [line] = lines_of(checkpoints)
    head = parse_line(line)
    assert (head.incident, is_signed_by(KEY.encode(), head)) == (incident_id, True)
    assert verify_against_ok(db_url, data_dir, checkpoints, WARROOM_AUDIT_KEY=KEY).endswith(
        "every chain verifies; 1 checkpoints match"
    )

    def soften(events: list[TimelineEvent]) -> list[TimelineEvent]:
        events[2].actor = "someone else"
        return events

    rewrite(db_url, incident_id, soften)
    assert invoke(["audit", "verify"], db_url, data_dir).exit_code == 0  # the chain alone cannot tell
    stderr = verify_against(db_url, data_dir, checkpoints)
    assert (
        f"checkpoint: incident {incident_id}, event #{head.seq}: hash differs from checkpoint line 1 of "
        f"{head.at} (chain rewritten)"
    ) in stderr
    assert stderr.endswith("error: audit failed: 0 of 1 timelines do not verify; 1 checkpoint findings")


def test_a_chain_cut_short_and_re_headed_fails_the_checkpoints(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    incident_id = load_demo(db_url, data_dir)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoints(settings_for(db_url, data_dir, checkpoints), FrozenClock(START))
    head = parse_line(lines_of(checkpoints)[0])

    rewrite(db_url, incident_id, lambda events: events[:-2])
    assert invoke(["audit", "verify"], db_url, data_dir).exit_code == 0
    stderr = verify_against(db_url, data_dir, checkpoints)
    assert f"incident {incident_id}, event #{head.seq}: missing, but checkpoint line 1" in stderr
    assert "(chain truncated)" in stderr


def test_a_checkpoint_edited_by_hand_fails_its_signature(db_url: str, data_dir: Path, tmp_path: Path) -> None:
    incident_id = load_demo(db_url, data_dir)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoints(settings_for(db_url, data_dir, checkpoints), FrozenClock(START))
    [line] = lines_of(checkpoints)

    # The forger cuts the chain and makes the checkpoint agree, but has no key to sign it with.
    rewrite(db_url, incident_id, lambda events: events[:-1])
    forged = json.loads(line)
    engine = sa.create_engine(sync_url(db_url))
    with engine.connect() as conn:
        forged["seq"], forged["hash"] = conn.execute(
            sa.text("SELECT timeline_seq, timeline_head FROM incidents WHERE id = :id"), {"id": incident_id}
        ).one()
    engine.dispose()
    checkpoints.write_text(json.dumps(forged) + "\n")

    stderr = verify_against(db_url, data_dir, checkpoints)
    assert (
        f"checkpoint: checkpoint line 1 (incident {incident_id}, event #{forged['seq']}): "
        "bad signature (forged, or edited by hand)"
    ) in stderr
    # Without the key the forgery cannot be seen, and the command says it did not look.
    unsigned = verify_against_ok(db_url, data_dir, checkpoints)
    assert unsigned.endswith("1 checkpoints match (signatures not checked)")


async def declare(context: AppContext, title: str) -> int:
    async with context.db.write() as session:
        data = IncidentCreate(title=title, severity="P2")
        incident = await declare_incident(
            session=session, loaded=context.procedure, actor="test", data=data, now=context.clock.now()
        )
        await session.commit()
        return incident.id


async def add_note(context: AppContext, incident_id: int) -> None:
    async with context.db.write() as session:
        incident = await get_incident(session=session, ref=str(incident_id), viewer=SYSTEM, for_update=True)
        await record(session, incident, "test", EventKind.note, context.clock.now(), text="a note")
        await session.commit()


async def test_the_periodic_check_writes_only_heads_that_moved_once_an_interval(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    clock = FrozenClock(START)
    context = build_context(settings_for(db_url, data_dir, checkpoints), clock=clock)
    check = AuditCheckpoints()
    try:
        first, second = await declare(context, "Checkout down"), await declare(context, "Search slow")
        await check(context)
        written = [parse_line(line) for line in lines_of(checkpoints)]
        assert [c.incident for c in written] == [first, second]
        await check(context)
        clock.advance(INTERVAL)
        await check(context)  # due, but nothing moved
        assert len(lines_of(checkpoints)) == 2

        await add_note(context, first)
        clock.advance(INTERVAL / 2)
        await check(context)  # moved, but not due yet
        assert len(lines_of(checkpoints)) == 2
        clock.advance(INTERVAL / 2)
        await check(context)
        added = [parse_line(line) for line in lines_of(checkpoints)[2:]]
        assert [(c.incident, c.seq, c.prev) for c in added] == [(first, written[0].seq + 1, written[1].sig)]

        # Another process (or a restart) learns from the file what is already checkpointed.
        clock.advance(INTERVAL)
        await AuditCheckpoints()(context)
        assert len(lines_of(checkpoints)) == 3

        # A rewritten chain is not signed (that would vouch for the rewrite), but logged, every interval.
        rewrite(db_url, second, lambda events: [*events[:-1], reworded(events[-1])])
        await add_note(context, second)
        clock.advance(INTERVAL)
        with structlog.testing.capture_logs() as logged:
            await check(context)
        assert len(lines_of(checkpoints)) == 3
        assert [(e["event"], e["incident"], e["checkpointed_seq"]) for e in logged] == [
            ("audit chain no longer matches its checkpoint; not checkpointed", second, written[1].seq)
        ]
    finally:
        await context.db.engine.dispose()


async def test_the_witness_receives_the_signed_checkpoints_and_a_refusal_is_retried(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    clock = FrozenClock(START)
    with running_sink() as sink:
        settings = settings_for(db_url, data_dir, checkpoints, audit_witness_url=f"{sink.url}/witness")
        context = build_context(settings, clock=clock)
        try:
            await declare(context, "Checkout down")
            sink.status = 500
            await new_worker(context, periodic=(AuditCheckpoints(),)).run_once()
            assert (sink.refused, sink.received) == (1, [])
            sink.status = 200
            clock.advance(timedelta(minutes=1))  # past the first retry's backoff
            await new_worker(context, periodic=()).run_once()
            async with context.db.read() as session:
                [job] = [j for j in await jobs.list_jobs(session=session) if j.kind == "audit.witness"]
        finally:
            await context.db.engine.dispose()
    [received] = sink.received
    assert received["path"] == "/witness"
    assert received["headers"]["content-type"] == "application/x-ndjson"
    assert received["body"].decode().splitlines() == lines_of(checkpoints)
    assert all(is_signed_by(KEY.encode(), parse_line(line)) for line in lines_of(checkpoints))
    assert (job.kind, job.state, job.queue) == ("audit.witness", "done", "audit.witness")


async def test_a_checkpoint_line_removed_from_the_middle_is_reported(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    clock = FrozenClock(START)
    context = build_context(settings_for(db_url, data_dir, checkpoints), clock=clock)
    try:
        incident_id = await declare(context, "Checkout down")
        for _ in range(3):
            await add_note(context, incident_id)
            await AuditCheckpoints()(context)
            clock.advance(INTERVAL)
    finally:
        await context.db.engine.dispose()
    first, _, third = lines_of(checkpoints)
    checkpoints.write_text(f"{first}\n{third}\n")
    stderr = verify_against(db_url, data_dir, checkpoints)
    assert "checkpoint: checkpoint line 2: the line it follows is not in the file (lines removed)" in stderr


def test_a_checkpoints_file_that_cannot_be_read_is_one_line(
    db_url: str, data_dir: Path, tmp_path: Path
) -> None:
    stderr = verify_against(db_url, data_dir, tmp_path / "nowhere.jsonl")
    assert stderr.strip().endswith("No such file or directory")
    assert "cannot read checkpoints" in stderr

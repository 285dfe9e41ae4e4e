"""The `notify.send` jobs: deliver OutgoingMessages on their channel's queue, a claimed batch at a time.

Phases, so no transaction is held open while a chat API thinks:
1. One transaction for the batch: each message that may go out now becomes `sending` (attempts + 1, a
   deadline), committed before anything is sent; one whose alert was acknowledged or resolved since it
   was queued becomes `cancelled`; the jobs of messages with nothing left to send are done. A page
   handed off (jobs.kinds.HandOff: due at once, its job written already claimed) skips this phase: the
   transaction that wrote it wrote it `sending` (`taken_with_the_job`), and the worker sends it as soon
   as that commits.
2. Every delivery of the batch at once, each sent once, through the worker's HTTP client.
3. The outcomes, recorded as they come in (each wave as soon as one is in, with those that finished
   meanwhile), so a sent page is marked `sent` within a commit of its answer, and at most RECORD_AHEAD
   sends of the queue's batches are out unrecorded (a slow commit holds the next back): `sent` and the
   job done; or
   the error on the message and on the job, which retries with backoff (after its last attempt the
   message is `failed`).
A message found `sending` is in flight on another claim (a worker whose lease lapsed) or in doubt (its
worker died between phases 1 and 3). Before its deadline it is not sent again: its job waits for the
deadline. After it, it is sent once more, with a new deadline: at most one re-send per deadline, never one
per claim. So a killed worker re-sends only the pages it had sent and not yet recorded (at least once; the
idempotency key travels with the message so receivers can drop the duplicate).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.config import Settings
from warroom.jobs import held
from warroom.jobs import service as jobs
from warroom.jobs.kinds import BatchRun
from warroom.jobs.models import Job
from warroom.notify.channels import Delivery, deliver
from warroom.notify.outbox import MESSAGES
from warroom.paging.acklinks import ack_link
from warroom.paging.models import Escalation

log = structlog.get_logger("warroom.page")
LIVE = ("pending", "sending")  # a message in these states may still go out
# Sends a worker's batches on one queue may have out together (in flight, or answered and not yet
# recorded): what a worker killed at the worst moment sends twice (each with its idempotency key). When
# commits are slow (SQLite under load), sends wait for them rather than run ahead, so this also bounds a
# worker's delivery rate to about this many per send-and-record cycle: at 10, one worker on PostgreSQL fell
# behind at 500 pages/s (queue wait p99 4.8 s on December 6; 0.3 s at 40).
RECORD_AHEAD = 40
SLOW_ANSWER = 1.0  # seconds: a send not answered by then stops counting against RECORD_AHEAD
IN_FLIGHT = "another claim has this message in flight; waiting for its deadline"
PAGING = ("active", "exhausted")  # an escalation in these states still wants its pages sent
_MESSAGES = MESSAGES
_ESCALATIONS = cast(Table, Escalation.__table__)


class Message(NamedTuple):
    id: int
    key: str
    state: str
    alert_id: int | None
    channel: str
    address: str
    subject: str
    body: str
    payload: dict[str, Any] | None  # a webhook's own JSON document (a status-page notice), else None
    escalation_id: int | None
    user_id: int | None
    due_at: datetime  # when it was to go out: its link is signed for then, so a re-send is the same bytes
    deadline: datetime | None  # while `sending`: when the send in flight is in doubt
    escalation_state: str | None  # None: no escalation behind it (a test message, a stakeholder list)

    def in_flight(self, now: datetime) -> bool:
        """Sent by another claim whose deadline has not passed: not to be sent again yet."""
        return self.state == "sending" and self.deadline is not None and self.deadline > now


@dataclass(frozen=True)
class Outgoing:
    job: Job
    message_id: int
    delivery: Delivery


@dataclass
class Plan:
    """Phase 1's outcome: what to send now, and the jobs to run again later (at a message's deadline)."""

    outgoing: list[Outgoing]
    deferred: list[tuple[Job, datetime]]


_m, _e = _MESSAGES.c, _ESCALATIONS.c
_READ_MESSAGES = (  # built once: building it per batch cost more than running it
    select(
        _m.id,
        _m.idempotency_key,
        _m.state,
        _m.alert_id,
        _m.channel,
        _m.address,
        _m.subject,
        _m.body,
        _m.payload,
        _m.escalation_id,
        _m.user_id,
        _m.due_at,
        _m.deadline,
        _e.state,
    )
    .outerjoin(_ESCALATIONS, _e.id == _m.escalation_id)
    .where(
        or_(
            _m.id.in_(bindparam("b_ids", expanding=True)),
            _m.idempotency_key.in_(bindparam("b_keys", expanding=True)),
        )
    )
)


async def _messages(session: AsyncSession, batch: list[Job]) -> dict[int, Message]:
    """Each job's message (and its escalation's state), in one query. Escalation steps name the message
    by its idempotency key (they do not flush to learn its id); other senders by its id."""
    ids = [int(job.payload["message_id"]) for job in batch if "message_id" in job.payload]
    keys = [str(job.payload["message_key"]) for job in batch if "message_id" not in job.payload]
    result = await session.execute(_READ_MESSAGES, {"b_ids": ids, "b_keys": keys})
    found = [Message._make(row) for row in result.all()]
    by_id, by_key = {m.id: m for m in found}, {m.key: m for m in found}
    messages = {}
    for job in batch:
        message = by_id.get(int(job.payload["message_id"])) if "message_id" in job.payload else None
        message = message or by_key.get(str(job.payload.get("message_key")))
        if message is not None:
            messages[job.id] = message
    return messages


def _ack_url(run: BatchRun, message: Message) -> str:
    """A page's acknowledge link for the walk and the person it goes to (see acklinks), signed as of the
    moment the page was due: never stored, and the same for every send of one message."""
    if message.escalation_id is None or message.user_id is None:
        return ""  # a test message, a stakeholder update, a status notice: nothing to acknowledge
    settings = run.context.settings
    secret = settings.ensure_secret_key().get_secret_value()
    return ack_link(
        settings.resolved_base_url(), secret, message.escalation_id, message.user_id, message.due_at
    )


def _delivery(run: BatchRun, message: Message) -> Delivery:
    base = run.context.settings.resolved_base_url()
    return Delivery(
        channel=message.channel,
        address=message.address,
        subject=message.subject,
        body=message.body,
        idempotency_key=message.key,
        ack_url=_ack_url(run, message),
        alert_url=f"{base}/api/v1/alerts/{message.alert_id}" if message.alert_id is not None else "",
        payload=message.payload,
    )


def in_doubt_after(settings: Settings) -> timedelta:
    """How long a send may be in flight before it is in doubt and may go again: two channel timeouts."""
    return timedelta(seconds=settings.notify_timeout_seconds * 2)


def taken_with_the_job(row: dict[str, Any], settings: Settings, now: datetime) -> dict[str, Any]:
    """A message's row as phase 1 would leave it (`sending`, first attempt, its deadline), for a page
    written with its job handed off (jobs.kinds.HandOff): it goes out once the transaction that wrote it
    commits, with no phase 1 of its own."""
    return {**row, "state": "sending", "attempts": 1, "deadline": now + in_doubt_after(settings)}


def as_taken(message_id: int, row: dict[str, Any]) -> Message:
    """The Message a handed-off page's job is handed with (its note), from its row as written."""
    return Message(
        message_id, row["idempotency_key"], row["state"], row["alert_id"], row["channel"], row["address"],
        row["subject"], row["body"], row["payload"], row["escalation_id"], row["user_id"], row["due_at"],
        row["deadline"], "active",
    )  # fmt: skip


async def _cancel_stopped(session: AsyncSession, live: dict[int, Message]) -> set[int]:
    """Messages whose escalation was acknowledged or resolved since they were queued become `cancelled`."""
    stopped = {
        m.id for m in live.values() if m.escalation_state is not None and m.escalation_state not in PAGING
    }
    if stopped:
        await session.execute(
            update(_MESSAGES)
            .where(_MESSAGES.c.id.in_(stopped), _MESSAGES.c.state.in_(LIVE))
            .values(state="cancelled")
        )
    return stopped


_TAKE = (  # built once, like _READ_MESSAGES: pending, or sending but past its deadline (in doubt)
    update(_MESSAGES)
    .where(
        _m.id.in_(bindparam("b_ids", expanding=True)),
        or_(
            _m.state == "pending",
            and_(_m.state == "sending", or_(_m.deadline.is_(None), _m.deadline <= bindparam("b_now"))),
        ),
    )
    .values(state="sending", deadline=bindparam("b_deadline"), attempts=_m.attempts + 1)
    .returning(_m.id)
)


async def _take(session: AsyncSession, ids: list[int], now: datetime, deadline: datetime) -> set[int]:
    """Mark `sending` those still sendable at this moment: an acknowledgement or another claim that
    committed since they were read keeps its message."""
    if not ids:
        return set()
    taken = await session.execute(_TAKE, {"b_ids": ids, "b_now": now, "b_deadline": deadline})
    return set(taken.scalars())


async def _start(run: BatchRun, session: AsyncSession, now: datetime) -> Plan:
    messages = await _messages(session, run.jobs)
    live = {job_id: m for job_id, m in messages.items() if m.state in LIVE}
    stopped = await _cancel_stopped(session, live)
    wanted = {job_id: m for job_id, m in live.items() if m.id not in stopped}
    deadline = now + in_doubt_after(run.context.settings)
    taken = await _take(session, [m.id for m in wanted.values() if not m.in_flight(now)], now, deadline)
    by_id = {job.id: job for job in run.jobs}
    outgoing = [
        Outgoing(by_id[job_id], m.id, _delivery(run, m)) for job_id, m in wanted.items() if m.id in taken
    ]
    # In flight elsewhere (or taken by a claim that committed since our read): this job waits for that
    # send's deadline, then finds the message sent, or in doubt and sends it once more.
    deferred = [
        (by_id[job_id], m.deadline if m.in_flight(now) and m.deadline else deadline)
        for job_id, m in wanted.items()
        if m.id not in taken
    ]
    return Plan(outgoing, deferred)


async def _claim_messages(run: BatchRun) -> tuple[list[Outgoing], datetime]:
    """Phase 1, one transaction: the messages to send now are `sending`; jobs whose message another claim
    has in flight wait for its deadline; the other jobs are done."""
    async with run.context.db.write_turn, run.context.db.write() as session:
        now = run.context.clock.now()
        plan = await _start(run, session, now)
        busy = {item.job.id for item in plan.outgoing} | {job.id for job, _ in plan.deferred}
        idle = [job.id for job in run.jobs if job.id not in busy]
        if idle:  # sent, cancelled or failed already, deleted, or cancelled just now
            await jobs.finish(session=session, job_ids=idle, now=now)
        await jobs.defer(session=session, until=plan.deferred, reason=IN_FLIGHT)
        await session.commit()
    if plan.deferred:
        log.info("deliveries in flight elsewhere wait for their deadline", jobs=len(plan.deferred))
    return plan.outgoing, now


# Built once: with a wave per answer, a batch records several times.
_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(state="sent", sent_at=bindparam("b_now"), last_error=None)
)
# Only a message still `sending`: one that another claim has sent since (in doubt) stays sent.
_FAILED = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("b_id"), _MESSAGES.c.state == "sending")
    .values(state=bindparam("b_state"), last_error=bindparam("b_error"))
)


async def _record(run: BatchRun, results: list[tuple[Outgoing, Exception | None]], started: datetime) -> None:
    """Phase 3, one transaction per wave: each message sent or failed, with its job. A connection lost
    under it (the database restarted) is tried once more on a fresh one: a sent page whose record failed
    would be sent again. Recording twice changes nothing (only `sending` messages, only running jobs)."""
    try:
        await _record_once(run, results, started)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning("recording deliveries again on a fresh connection", error=str(error))
        await _record_once(run, results, started)


async def _record_once(
    run: BatchRun, results: list[tuple[Outgoing, Exception | None]], started: datetime
) -> None:
    sent = [item for item, error in results if error is None]
    failed = [(item, error) for item, error in results if error is not None]
    async with run.context.db.write_turn, run.context.db.write() as session:
        held.hold(session)  # none of these has an answer anyone reads: sent with the commit (jobs.held)
        now = run.context.clock.now()
        if sent:
            await held.write(session, _SENT, {"b_ids": [item.message_id for item in sent], "b_now": now})
            await jobs.finish(session=session, job_ids=[item.job.id for item in sent], now=started)
        if failed:
            final = {item.job.id: item.job.attempts >= item.job.max_attempts for item, _ in failed}
            params = [
                {
                    "b_id": item.message_id,
                    "b_state": "failed" if final[item.job.id] else "pending",
                    "b_error": str(error)[:2000],
                }
                for item, error in failed
            ]
            await held.write(session, _FAILED, params)
            await jobs.settle(session=session, done=[], failed=[(i.job, e) for i, e in failed], now=now)
        await held.commit(session)
    for item, error in failed:
        log.warning("delivery failed", job_id=item.job.id, attempt=item.job.attempts, error=str(error))


async def _deliver(run: BatchRun, item: Outgoing) -> Exception | None:
    try:
        await deliver(item.delivery, run.context.settings, run.http)
    except Exception as error:  # noqa: BLE001  (recorded on the message and its job, and retried)
        return error
    return None


async def _send(run: BatchRun, item: Outgoing, ahead: asyncio.Semaphore) -> tuple[Exception | None, bool]:
    """The outcome, and whether this send still holds its place among the RECORD_AHEAD (given back when
    it is recorded). A receiver slower than SLOW_ANSWER gives it back at once: it holds up its own message,
    never the batch's other sends."""
    await ahead.acquire()
    sending = asyncio.ensure_future(_deliver(run, item))
    try:
        answered, _ = await asyncio.wait({sending}, timeout=SLOW_ANSWER)
        if answered:
            return sending.result(), True
        ahead.release()
        return await sending, False
    finally:
        sending.cancel()  # a no-op once it is done; else the batch is being given up


def _handed(run: BatchRun) -> tuple[list[Outgoing], datetime]:
    """A handed-off batch's messages, taken in the transaction that wrote them (their jobs' notes)."""
    notes = cast(dict[int, Message], run.notes)
    outgoing = [Outgoing(job, notes[job.id].id, _delivery(run, notes[job.id])) for job in run.jobs]
    return outgoing, run.context.clock.now()


async def send_messages(run: BatchRun) -> None:
    handed = bool(run.notes) and all(job.id in run.notes for job in run.jobs)
    outgoing, started = _handed(run) if handed else await _claim_messages(run)
    ahead = run.places  # RECORD_AHEAD places, shared by the queue's batches (warroom.wiring)
    pending = {asyncio.create_task(_send(run, item, ahead)): item for item in outgoing}
    try:
        while pending:
            # As soon as one is in: every moment between a page's answer and its `sent` commit is one in
            # which a killed worker would send it again. Those that finish during a commit go in the next.
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            outcomes = [(pending.pop(task), *task.result()) for task in done]
            await _record(run, [(item, error) for item, error, _ in outcomes], started)
            for _, _, holds_place in outcomes:
                if holds_place:
                    ahead.release()
    finally:
        for task in pending:  # only when recording failed: the worker fails the unsettled jobs
            task.cancel()

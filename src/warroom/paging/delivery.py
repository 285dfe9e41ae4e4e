"""The `notify.send` jobs: deliver OutgoingMessages on their channel's queue, a claimed batch at a time.

Phases, so no transaction is held open while a chat API thinks:
1. One transaction for the batch: each message that may still go out becomes `sending` (attempts + 1, a
   deadline); one whose alert was acknowledged or resolved since it was queued becomes `cancelled`; the
   jobs of messages with nothing left to send are done.
2. Every delivery of the batch at once, each sent once, through the worker's HTTP client.
3. The outcomes, recorded as they come in: one transaction when all are in, or every RECORD_EVERY seconds
   for those in so far, so a channel that hangs holds up only its own message. `sent` and the job done; or
   the error on the message and on the job, which retries with backoff (after its last attempt the
   message is `failed`).
A worker killed mid-batch leaves `sending` behind, and the retry after its lease lapses sends again (at
least once; the idempotency key travels with the message so receivers can drop the duplicate).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.jobs import service as jobs
from warroom.jobs.kinds import BatchRun
from warroom.jobs.models import Job
from warroom.notify.channels import Delivery, deliver
from warroom.notify.outbox import MESSAGES
from warroom.paging.acklinks import ack_link
from warroom.paging.models import Escalation

log = structlog.get_logger("warroom.page")
RECORD_EVERY = 1.0  # seconds: how long finished deliveries wait for a straggler before they are recorded
LIVE = ("pending", "sending")  # a message in these states may still go out
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
    escalation_state: str | None  # None: no escalation behind it (a test message, a stakeholder list)


@dataclass(frozen=True)
class Outgoing:
    job: Job
    message_id: int
    delivery: Delivery


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


def _ack_url(run: BatchRun, message: Message, now: datetime) -> str:
    """A page's acknowledge link, signed now for the walk and the person it goes to (see acklinks)."""
    if message.escalation_id is None or message.user_id is None:
        return ""  # a test message, a stakeholder update, a status notice: nothing to acknowledge
    settings = run.context.settings
    secret = settings.ensure_secret_key().get_secret_value()
    return ack_link(settings.resolved_base_url(), secret, message.escalation_id, message.user_id, now)


def _delivery(run: BatchRun, message: Message, now: datetime) -> Delivery:
    base = run.context.settings.resolved_base_url()
    return Delivery(
        channel=message.channel,
        address=message.address,
        subject=message.subject,
        body=message.body,
        idempotency_key=message.key,
        ack_url=_ack_url(run, message, now),
        alert_url=f"{base}/api/v1/alerts/{message.alert_id}" if message.alert_id is not None else "",
        payload=message.payload,
    )


async def _start(run: BatchRun, session: AsyncSession, now: datetime) -> list[Outgoing]:
    messages = await _messages(session, run.jobs)
    live = {job_id: m for job_id, m in messages.items() if m.state in LIVE}
    stopped = [
        m.id for m in live.values() if m.escalation_state is not None and m.escalation_state not in PAGING
    ]
    if stopped:  # acknowledged or resolved since it was queued
        await session.execute(
            update(_MESSAGES)
            .where(_MESSAGES.c.id.in_(stopped), _MESSAGES.c.state.in_(LIVE))
            .values(state="cancelled")
        )
    wanted = [m.id for m in live.values() if m.id not in stopped]
    deadline = now + timedelta(seconds=run.context.settings.notify_timeout_seconds * 2)
    taken = set()
    if wanted:  # still live at this moment: an acknowledgement that committed since cancelled it
        taken = set(
            (
                await session.execute(
                    update(_MESSAGES)
                    .where(_MESSAGES.c.id.in_(wanted), _MESSAGES.c.state.in_(LIVE))
                    .values(state="sending", deadline=deadline, attempts=_MESSAGES.c.attempts + 1)
                    .returning(_MESSAGES.c.id)
                )
            ).scalars()
        )
    by_id = {job.id: job for job in run.jobs}
    return [
        Outgoing(by_id[job_id], m.id, _delivery(run, m, now)) for job_id, m in live.items() if m.id in taken
    ]


async def _claim_messages(run: BatchRun) -> tuple[list[Outgoing], datetime]:
    """Phase 1, one transaction: the messages to send now are `sending`; the other jobs are done."""
    async with run.context.db.write_turn, run.context.db.write() as session:
        now = run.context.clock.now()
        outgoing = await _start(run, session, now)
        sending = {item.job.id for item in outgoing}
        idle = [job.id for job in run.jobs if job.id not in sending]
        if idle:  # sent, cancelled or failed already, deleted, or cancelled just now
            await jobs.finish(session=session, job_ids=idle, now=now)
        await session.commit()
    return outgoing, now


_FAILED = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("b_id"))
    .values(state=bindparam("b_state"), last_error=bindparam("b_error"))
)


async def _record(run: BatchRun, results: list[tuple[Outgoing, Exception | None]], started: datetime) -> None:
    """Phase 3, one transaction per wave: each message sent or failed, with its job."""
    sent = [item for item, error in results if error is None]
    failed = [(item, error) for item, error in results if error is not None]
    async with run.context.db.write_turn, run.context.db.write() as session:
        now = run.context.clock.now()
        if sent:
            await session.execute(
                update(_MESSAGES)
                .where(_MESSAGES.c.id.in_([item.message_id for item in sent]))
                .values(state="sent", sent_at=now, last_error=None)
            )
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
            await session.execute(_FAILED, params)
            await jobs.settle(session=session, done=[], failed=[(i.job, e) for i, e in failed], now=now)
        await session.commit()
    for item, error in failed:
        log.warning("delivery failed", job_id=item.job.id, attempt=item.job.attempts, error=str(error))


async def _send(run: BatchRun, item: Outgoing) -> Exception | None:
    try:
        await deliver(item.delivery, run.context.settings, run.http)
    except Exception as error:  # noqa: BLE001  (recorded on the message and its job, and retried)
        return error
    return None


async def send_messages(run: BatchRun) -> None:
    outgoing, started = await _claim_messages(run)
    pending = {asyncio.create_task(_send(run, item)): item for item in outgoing}
    try:
        while pending:
            done, _ = await asyncio.wait(pending, timeout=RECORD_EVERY)
            if done:
                await _record(run, [(pending.pop(task), task.result()) for task in done], started)
    finally:
        for task in pending:  # only when recording failed: the worker fails the unsettled jobs
            task.cancel()

"""The `notify.send` job: deliver one OutgoingMessage on its channel's queue.

Phases, so no transaction is held open while a chat API thinks: mark `sending` (with a deadline) and commit;
deliver; then mark `sent` with the job's own commit. A failure is written down at once (attempts, last
error) and re-raised, so the job retries with backoff; after the last attempt the message is `failed`.
A worker killed mid-delivery leaves `sending` behind, and the retry after its lease lapses sends again
(at least once; the idempotency key travels with the message so receivers can drop the duplicate).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.jobs.registry import JobRun
from warroom.notify.channels import Delivery, DeliveryFailed, deliver
from warroom.notify.models import OutgoingMessage
from warroom.paging.engine import NOTIFY_ATTEMPTS
from warroom.paging.models import Escalation


async def _find(session: AsyncSession, payload: dict[str, Any]) -> OutgoingMessage | None:
    """Escalation steps name the message by its idempotency key (they do not flush to learn its id)."""
    if "message_id" in payload:
        return await session.get(OutgoingMessage, int(payload["message_id"]))
    key = str(payload["message_key"])
    return await session.scalar(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key))


async def _claim(run: JobRun, payload: dict[str, Any]) -> OutgoingMessage | None:
    """Move the message to `sending` in a short transaction of its own; None when it must not be sent."""
    async with run.context.db.write_turn, run.context.db.write() as session:
        message = await _find(session, payload)
        if message is None or message.state in ("sent", "cancelled", "failed"):
            return None
        escalation = await session.get(Escalation, message.escalation_id) if message.escalation_id else None
        if escalation is not None and escalation.state not in ("active", "exhausted"):
            message.state = "cancelled"  # acknowledged or resolved since it was queued
            await session.commit()
            return None
        deadline = run.now + timedelta(seconds=run.context.settings.notify_timeout_seconds * 2)
        message.state, message.deadline, message.attempts = "sending", deadline, message.attempts + 1
        await session.commit()
        return message


async def _record_failure(run: JobRun, message_id: int, error: DeliveryFailed) -> None:
    final = run.attempt >= NOTIFY_ATTEMPTS
    async with run.context.db.write_turn, run.context.db.write() as session:
        await session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.id == message_id)
            .values(state="failed" if final else "pending", last_error=str(error)[:2000])
        )
        await session.commit()


async def send_message(run: JobRun, payload: dict[str, Any]) -> None:
    message = await _claim(run, payload)
    if message is None:
        return
    delivery = Delivery(
        channel=message.channel,
        address=message.address,
        subject=message.subject,
        body=message.body,
        idempotency_key=message.idempotency_key,
        ack_url=str(payload.get("ack_url", "")),
        alert_url=(
            f"{run.context.settings.resolved_base_url()}/api/v1/alerts/{message.alert_id}"
            if message.alert_id is not None
            else ""  # a test message: no alert behind it
        ),
        payload=message.payload,
    )
    try:
        await deliver(delivery, run.context.settings)
    except DeliveryFailed as error:
        await _record_failure(run, message.id, error)
        raise
    await run.take_turn()
    await run.session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id == message.id)
        .values(state="sent", sent_at=run.context.clock.now(), last_error=None)
    )

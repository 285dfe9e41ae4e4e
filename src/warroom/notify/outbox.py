"""A message to send and the `notify.send` job that delivers it, built in one place for pages, stakeholder
updates, test messages and status notices: the row is written set-wise by the hot paths (escalation steps,
status notices) or one at a time (notify.service), and the job finds it by its idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table

from warroom.jobs.service import JobSpec
from warroom.notify.models import OutgoingMessage

# Attempts at one message before it is marked failed (the job's, with backoff between them).
NOTIFY_ATTEMPTS = 5
SUBJECT_MAX = 300
MESSAGES = cast(Table, OutgoingMessage.__table__)
SEND_KIND = "notify.send"  # the job that delivers a message (paging.delivery)


@dataclass(frozen=True)
class QueuedMessage:
    row: dict[str, Any]  # the outgoing_messages columns
    job: JobSpec


def queued_message(
    *,
    key: str,
    channel: str,
    address: str,
    subject: str,
    body: str,
    due: datetime,
    now: datetime,
    escalation_id: int | None = None,
    alert_id: int | None = None,
    user_id: int | None = None,
    contact_method_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> QueuedMessage:
    """`key` makes the message idempotent (a unique column); `payload` is what a webhook is sent instead of
        the usual envelope, or extra email headers. The job holds only the message's key: anything secret (a
    page's acknowledge link) is made when the message is sent, so no stored row carries it."""
    row = {
        "idempotency_key": key, "escalation_id": escalation_id, "alert_id": alert_id, "user_id": user_id,
        "contact_method_id": contact_method_id, "channel": channel, "address": address,
        "subject": subject[:SUBJECT_MAX], "body": body, "payload": payload, "state": "pending", "attempts": 0,
        "due_at": due, "created_at": now,
    }  # fmt: skip
    job = JobSpec(
        SEND_KIND,
        {"message_key": key},
        queue=f"notify.{channel}",
        run_at=due,
        idempotency_key=f"send:{key}",
        max_attempts=NOTIFY_ATTEMPTS,
    )
    return QueuedMessage(row, job)

"""Notices to subscribers: one message per confirmed subscriber per public update, through the notification
engine (a durable `notify.send` job each, idempotent by subscriber and update). Publishing stages one
`statuspage.notify` job; the worker writes the messages a chunk of subscribers at a time.

Email: the text of the update, a link to the incident and a one-click unsubscribe link in the body, and the
headers bulk senders are expected to carry: List-Unsubscribe with List-Unsubscribe-Post (RFC 8058: the mail
client's one-click POST to the URL, token in it) and List-Id (every warroom mail is also Auto-Submitted).
Webhook: the JSON Statuspage sends its webhook subscribers, {meta, page, incident}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue, insert_jobs
from warroom.notify.outbox import MESSAGES, QueuedMessage, queued_message
from warroom.statuspage import domain, views
from warroom.statuspage.models import (
    StatusIncident,
    StatusIncidentUpdate,
    StatusSubscriber,
    StatusSubscriberComponent,
)
from warroom.statuspage.views import Json, PageInfo

CHUNK = 500  # subscribers per transaction: a few hundred ms of writing, so other writers get their turn


def unsubscribe_url(page: PageInfo, subscriber: StatusSubscriber) -> str:
    return f"{page.url}/subscriptions/{subscriber.id}/unsubscribe?token={subscriber.unsubscribe_token}"


def confirm_url(page: PageInfo, subscriber_id: int, token: str) -> str:
    return f"{page.url}/subscriptions/{subscriber_id}/confirm?token={token}"


async def _audience(
    session: AsyncSession, components: set[int], after: int
) -> tuple[list[StatusSubscriber], int]:
    """The next chunk of confirmed subscribers (ids above `after`), less those limited to components this
    notice does not touch (a notice touching no component reaches everyone); and the last id looked at."""
    chunk = (
        await session.scalars(
            select(StatusSubscriber)
            .where(
                StatusSubscriber.id > after,
                or_(StatusSubscriber.kind == "webhook", StatusSubscriber.confirmed_at.is_not(None)),
            )
            .order_by(StatusSubscriber.id)
            .limit(CHUNK)
        )
    ).all()
    if not chunk:
        return [], after
    limits: dict[int, set[int]] = {}
    rows = await session.execute(
        select(StatusSubscriberComponent.subscriber_id, StatusSubscriberComponent.component_id).where(
            StatusSubscriberComponent.subscriber_id.in_([s.id for s in chunk])
        )
    )
    for subscriber_id, component_id in rows.all():
        limits.setdefault(subscriber_id, set()).add(component_id)
    wanted = [s for s in chunk if not components or s.id not in limits or limits[s.id] & components]
    return wanted, chunk[-1].id


def subject(page: PageInfo, item: StatusIncident, update: StatusIncidentUpdate) -> str:
    label = domain.LABELS.get(update.status, update.status)
    if item.kind == "maintenance":
        label = "Scheduled maintenance" if update.status == "scheduled" else f"Maintenance {label.lower()}"
    return f"[{page.name}] {label}: {item.name}"


def email_body(page: PageInfo, item: StatusIncident, update: StatusIncidentUpdate, unsubscribe: str) -> str:
    lines = [item.name, "", f"{domain.LABELS.get(update.status, update.status)}: {update.body}", ""]
    if item.kind == "maintenance" and item.scheduled_for and item.scheduled_until:
        window = f"{item.scheduled_for:%Y-%m-%d %H:%M} to {item.scheduled_until:%Y-%m-%d %H:%M} UTC"
        lines += [f"Window: {window}", ""]
    for change in update.affected_components or []:
        lines.append(f"{change['name']}: {domain.LABELS.get(change['new_status'], change['new_status'])}")
    lines += [
        f"Details: {page.incident_url(item.id)}",
        "",
        f"You are receiving this because you subscribed to {page.name}.",
        f"Unsubscribe with one click: {unsubscribe}",
    ]
    return "\n".join(lines)


async def webhook_document(session: AsyncSession, item: StatusIncident, page: PageInfo) -> Json:
    """{page, incident} as Statuspage posts them; the caller adds each subscriber's meta."""
    board = await views.board(session)
    data = await views.load(session, select(StatusIncident).where(StatusIncident.id == item.id))
    open_items = (
        await session.scalars(views.published("incident").where(StatusIncident.status != "resolved"))
    ).all()
    indicator, description = views.overall(board, open_items)
    return {
        "page": {"id": page.id, "status_indicator": indicator, "status_description": description},
        "incident": views.incident_json(item, data, board, page),
    }


def notice_job(update_id: int, after: int = 0) -> JobSpec:
    """One chunk of an update's notices; the first is staged with the update, each chunk stages the next."""
    payload = {"update_id": update_id, "after": after}
    return JobSpec("statuspage.notify", payload, idempotency_key=f"statuspage.notify:{update_id}:{after}")


async def stage_notices(*, session: AsyncSession, update: StatusIncidentUpdate, now: datetime) -> None:
    """Publishing an update costs one job row, however many subscribers there are: the notices are written
    by the worker, CHUNK subscribers to a transaction (2,000 written in the request took 3 s, holding
    SQLite's only writer and so every page behind it)."""
    await session.flush()
    await enqueue(session=session, spec=notice_job(update.id), now=now)


async def send_notices(run: JobRun, payload: dict[str, Any]) -> None:
    """The `statuspage.notify` job: queue one chunk's messages set-wise and stage the next chunk, all in the
    job's own transaction (a run that fails wrote nothing, so its retry writes each message once; the
    messages' unique keys, by update and subscriber, would refuse a second)."""
    session, update_id, after = run.session, int(payload["update_id"]), int(payload["after"])
    update = await session.get(StatusIncidentUpdate, update_id)
    item = await session.get(StatusIncident, update.status_incident_id) if update else None
    if update is None or item is None:
        return  # the incident was deleted before its notices went out
    page = views.page_info(run.context.settings)
    touched = {int(c["code"]) for c in update.affected_components or []}
    data = await views.load(session, select(StatusIncident).where(StatusIncident.id == item.id))
    touched |= set(data.components.get(item.id, []))
    audience, last = await _audience(session, touched, after)
    if last == after:
        return
    document = (
        await webhook_document(session, item, page) if any(s.kind == "webhook" for s in audience) else {}
    )
    messages = [_message(page, item, update, s, document, run.now) for s in audience]
    if messages:
        await session.execute(insert(MESSAGES), [m.row for m in messages])
    specs = [m.job for m in messages]
    await insert_jobs(session=session, specs=[*specs, notice_job(update_id, last)], now=run.now)


def _message(
    page: PageInfo,
    item: StatusIncident,
    update: StatusIncidentUpdate,
    subscriber: StatusSubscriber,
    document: Json,
    now: datetime,
) -> QueuedMessage:
    unsubscribe = unsubscribe_url(page, subscriber)
    webhook = subscriber.kind == "webhook"
    return queued_message(
        key=f"statuspage:{update.id}:{subscriber.id}", channel=subscriber.kind, address=subscriber.address,
        subject=subject(page, item, update), body=email_body(page, item, update, unsubscribe), due=now,
        now=now,
        payload={"meta": {"unsubscribe": unsubscribe}, **document}
        if webhook
        else email_headers(page, unsubscribe),
    )  # fmt: skip


def email_headers(page: PageInfo, unsubscribe: str) -> dict[str, dict[str, str]]:
    host = urlsplit(page.url).hostname or "localhost"
    return {
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{page.name} <status.{host}>",
        }
    }

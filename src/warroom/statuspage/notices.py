"""Notices to subscribers: one message per confirmed subscriber per public update, through the notification
engine (a durable `notify.send` job each, idempotent by subscriber and update).

Email: the text of the update, a link to the incident and a one-click unsubscribe link in the body, and the
headers bulk senders are expected to carry: List-Unsubscribe with List-Unsubscribe-Post (RFC 8058: the mail
client's one-click POST to the URL, token in it), List-Id, and Auto-Submitted (RFC 3834, so out-of-office
replies stay away). Webhook: the JSON Statuspage sends its webhook subscribers, {meta, page, incident}.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.notify.service import queue_to_address
from warroom.statuspage import domain, views
from warroom.statuspage.models import (
    StatusIncident,
    StatusIncidentUpdate,
    StatusSubscriber,
    StatusSubscriberComponent,
)
from warroom.statuspage.views import Json, PageInfo


def unsubscribe_url(page: PageInfo, subscriber: StatusSubscriber) -> str:
    return f"{page.url}/subscriptions/{subscriber.id}/unsubscribe?token={subscriber.unsubscribe_token}"


def confirm_url(page: PageInfo, subscriber_id: int, token: str) -> str:
    return f"{page.url}/subscriptions/{subscriber_id}/confirm?token={token}"


async def _audience(session: AsyncSession, components: set[int]) -> list[StatusSubscriber]:
    """Confirmed subscribers, less those limited to components this notice does not touch (a notice
    touching no component reaches everyone)."""
    confirmed = await session.scalars(
        select(StatusSubscriber)
        .where(or_(StatusSubscriber.kind == "webhook", StatusSubscriber.confirmed_at.is_not(None)))
        .order_by(StatusSubscriber.id)
    )
    limits: dict[int, set[int]] = {}
    for subscriber_id, component_id in (
        await session.execute(
            select(StatusSubscriberComponent.subscriber_id, StatusSubscriberComponent.component_id)
        )
    ).all():
        limits.setdefault(subscriber_id, set()).add(component_id)
    return [s for s in confirmed.all() if not components or s.id not in limits or limits[s.id] & components]


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


async def notify_subscribers(
    *,
    session: AsyncSession,
    item: StatusIncident,
    update: StatusIncidentUpdate,
    page: PageInfo,
    now: datetime,
) -> int:
    """Queue this update for everyone who should hear of it; returns how many messages were queued."""
    await session.flush()
    touched = {int(c["code"]) for c in update.affected_components or []}
    data = await views.load(session, select(StatusIncident).where(StatusIncident.id == item.id))
    touched |= set(data.components.get(item.id, []))
    audience = await _audience(session, touched)
    document = (
        await webhook_document(session, item, page) if any(s.kind == "webhook" for s in audience) else {}
    )
    title = subject(page, item, update)
    for subscriber in audience:
        unsubscribe = unsubscribe_url(page, subscriber)
        await queue_to_address(
            session=session,
            channel=subscriber.kind,
            address=subscriber.address,
            key=f"statuspage:{update.id}:{subscriber.id}",
            subject=title,
            body=email_body(page, item, update, unsubscribe),
            now=now,
            payload={"meta": {"unsubscribe": unsubscribe}, **document}
            if subscriber.kind == "webhook"
            else email_headers(page, unsubscribe),
        )
    return len(audience)


def email_headers(page: PageInfo, unsubscribe: str) -> dict[str, dict[str, str]]:
    host = urlsplit(page.url).hostname or "localhost"
    return {
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{page.name} <status.{host}>",
            "Auto-Submitted": "auto-generated",
        }
    }

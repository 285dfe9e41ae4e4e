"""Contact methods and notification rules. Callers commit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import apprise
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.errors import NotFound, invalid
from warroom.jobs.service import enqueue
from warroom.notify.channels import CHANNELS
from warroom.notify.models import ContactMethod, NotificationRule, OutgoingMessage
from warroom.notify.outbox import queued_message
from warroom.notify.schemas import MethodPatch, RulePatch

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _check_address(kind: str, address: str) -> None:
    if kind not in CHANNELS:
        raise invalid("kind", f"unknown kind {kind!r}; allowed: {', '.join(CHANNELS)}")
    if kind == "email" and not EMAIL.match(address):
        raise invalid("address", "is not an email address")
    if kind == "webhook" and not address.startswith(("http://", "https://")):
        raise invalid("address", "a webhook address is an http(s) URL")
    if kind == "apprise" and "://" not in address:
        raise invalid("address", "an Apprise address is a URL such as slack://... or ntfy://...")
    if kind == "apprise" and apprise.Apprise.instantiate(address, suppress_exceptions=True) is None:
        scheme = address.split("://", 1)[0][:20]
        raise invalid(
            "address", f"Apprise cannot use this {scheme}:// URL (unknown service, or a part missing)"
        )
    if kind == "webhook" and not _has_host(address):
        raise invalid("address", "a webhook address needs a host name")


def _has_host(url: str) -> bool:
    try:
        return bool(httpx.URL(url).host)
    except httpx.InvalidURL:
        return False


async def add_contact_method(
    *, session: AsyncSession, user_id: int, kind: str, address: str, label: str, now: datetime
) -> ContactMethod:
    _check_address(kind, address)
    method = ContactMethod(user_id=user_id, kind=kind, address=address, label=label or kind, created_at=now)
    session.add(method)
    await session.flush()
    return method


async def get_method(*, session: AsyncSession, user_id: int, method_id: int) -> ContactMethod:
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound(f"no contact method {method_id}")
    return method


async def update_method(*, session: AsyncSession, method: ContactMethod, patch: MethodPatch) -> ContactMethod:
    """Messages already created keep the address they were made with; later pages use the new one."""
    changes = patch.changes()
    kind, address = changes.get("kind", method.kind), changes.get("address", method.address)
    if "kind" in changes or "address" in changes:
        _check_address(kind, address)
    method.kind, method.address = kind, address
    if "label" in changes:
        method.label = changes["label"] or kind
    await session.flush()
    return method


async def _check_rule(session: AsyncSession, user_id: int, contact_method_id: int, urgency: str) -> None:
    method = await session.get(ContactMethod, contact_method_id)
    if method is None or method.user_id != user_id:
        raise invalid("contact_method", f"no contact method {contact_method_id} of yours")
    if urgency not in ("high", "low"):
        raise invalid("urgency", "must be high or low")


async def add_rule(
    *, session: AsyncSession, user_id: int, contact_method_id: int, delay_seconds: int, urgency: str
) -> NotificationRule:
    await _check_rule(session, user_id, contact_method_id, urgency)
    rule = NotificationRule(
        user_id=user_id, contact_method_id=contact_method_id, delay_seconds=delay_seconds, urgency=urgency
    )
    session.add(rule)
    await session.flush()
    return rule


async def list_methods(*, session: AsyncSession, user_id: int) -> list[ContactMethod]:
    query = select(ContactMethod).where(ContactMethod.user_id == user_id).order_by(ContactMethod.id)
    return list((await session.scalars(query)).all())


async def list_rules(*, session: AsyncSession, user_id: int) -> list[NotificationRule]:
    query = select(NotificationRule).where(NotificationRule.user_id == user_id)
    return list(
        (
            await session.scalars(query.order_by(NotificationRule.urgency, NotificationRule.delay_seconds))
        ).all()
    )


async def plan_for(
    *, session: AsyncSession, user_id: int, urgency: str
) -> list[tuple[NotificationRule | None, ContactMethod]]:
    """How to reach someone: their rules for this urgency, else those for the other, else every method now."""
    rules = await list_rules(session=session, user_id=user_id)
    chosen = [r for r in rules if r.urgency == urgency] or rules
    methods = {m.id: m for m in await list_methods(session=session, user_id=user_id)}
    if chosen:
        return [
            (rule, methods[rule.contact_method_id]) for rule in chosen if rule.contact_method_id in methods
        ]
    return [(None, method) for method in methods.values()]


async def delete_method(*, session: AsyncSession, user_id: int, method_id: int) -> None:
    await session.delete(await get_method(session=session, user_id=user_id, method_id=method_id))
    await session.flush()


async def get_rule(*, session: AsyncSession, user_id: int, rule_id: int) -> NotificationRule:
    rule = await session.get(NotificationRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"no notification rule {rule_id}")
    return rule


async def update_rule(*, session: AsyncSession, rule: NotificationRule, patch: RulePatch) -> NotificationRule:
    changes = patch.changes()
    method_id = changes.get("contact_method", rule.contact_method_id)
    urgency = changes.get("urgency", rule.urgency)
    await _check_rule(session, rule.user_id, method_id, urgency)
    rule.contact_method_id, rule.urgency = method_id, urgency
    if "delay_seconds" in changes:
        rule.delay_seconds = changes["delay_seconds"]
    await session.flush()
    return rule


async def delete_rule(*, session: AsyncSession, rule: NotificationRule) -> None:
    await session.delete(rule)
    await session.flush()


async def queue_message(
    *, session: AsyncSession, method: ContactMethod, key: str, subject: str, body: str, now: datetime
) -> OutgoingMessage:
    """A message to one contact method through the durable `notify.send` job; `key` makes it idempotent."""
    return await queue_to_address(
        session=session, channel=method.kind, address=method.address, key=key, subject=subject, body=body,
        now=now, user_id=method.user_id, contact_method_id=method.id,
    )  # fmt: skip


async def queue_to_address(
    *,
    session: AsyncSession,
    channel: str,
    address: str,
    key: str,
    subject: str,
    body: str,
    now: datetime,
    user_id: int | None = None,
    contact_method_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> OutgoingMessage:
    """A message to any address on a channel (a stakeholder list, a status-page subscriber), through the
    durable `notify.send` job on the channel's own queue. A second call with the same `key` returns the
    first message instead of sending twice. A webhook with a `payload` is sent that JSON document instead of
    the usual envelope (a Statuspage-shaped notice)."""
    if channel not in CHANNELS:
        raise invalid("channel", f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}")
    existing = await session.scalar(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key))
    if existing is not None:
        return existing
    queued = queued_message(
        key=key, channel=channel, address=address, subject=subject, body=body, due=now, now=now,
        user_id=user_id, contact_method_id=contact_method_id, payload=payload,
    )  # fmt: skip
    message = OutgoingMessage(**queued.row)
    session.add(message)
    await session.flush()
    await enqueue(session=session, spec=queued.job, now=now)
    return message


async def queue_test_message(
    *, session: AsyncSession, user_id: int, method_id: int, now: datetime
) -> OutgoingMessage:
    """A real message to one of my contact methods, through the same durable `notify.send` job as a page (no
    alert, no escalation): proves the address works before an incident depends on it."""
    method = await get_method(session=session, user_id=user_id, method_id=method_id)
    body = f"This is a test from warroom to your contact method {method.label!r}. Nothing is wrong."
    return await queue_message(
        session=session,
        method=method,
        key=f"test:{method.id}:{now.timestamp():.6f}",
        subject="warroom test message",
        body=body,
        now=now,
    )

"""Contact methods and notification rules. Callers commit."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.errors import NotFound, invalid
from warroom.notify.channels import CHANNELS
from warroom.notify.models import ContactMethod, NotificationRule

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


async def add_contact_method(
    *, session: AsyncSession, user_id: int, kind: str, address: str, label: str, now: datetime
) -> ContactMethod:
    _check_address(kind, address)
    method = ContactMethod(user_id=user_id, kind=kind, address=address, label=label or kind, created_at=now)
    session.add(method)
    await session.flush()
    return method


async def add_rule(
    *, session: AsyncSession, user_id: int, contact_method_id: int, delay_seconds: int, urgency: str
) -> NotificationRule:
    method = await session.get(ContactMethod, contact_method_id)
    if method is None or method.user_id != user_id:
        raise invalid("contact_method", f"no contact method {contact_method_id} of yours")
    if urgency not in ("high", "low"):
        raise invalid("urgency", "must be high or low")
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
    method = await session.get(ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound(f"no contact method {method_id}")
    await session.delete(method)
    await session.flush()

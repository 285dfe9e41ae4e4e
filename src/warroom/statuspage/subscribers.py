"""Subscribing: email by double opt-in (a confirmation link first; only confirmed addresses get notices),
webhooks added by the communications lead. Tokens come from `secrets.token_urlsafe`; the confirmation token
is kept hashed, the unsubscribe token (needed in every notice) is compared in constant time. Callers commit.

The public form is rate limited in the database, so every server process counts alike: a few confirmation
mails per hour per source address (kept only as a keyed hash), one per address per ten minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.errors import DomainError, NotFound, invalid
from warroom.notify.service import queue_to_address
from warroom.statuspage.models import StatusComponent, StatusSubscriber, StatusSubscriberComponent
from warroom.statuspage.notices import confirm_url
from warroom.statuspage.views import PageInfo

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
PER_SOURCE_PER_HOUR = 5
RESEND_AFTER = timedelta(minutes=10)


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def source_hash(secret: str, client: str) -> str:
    return hmac.new(secret.encode(), f"subscribe:{client}".encode(), hashlib.sha256).hexdigest()


def check_address(kind: str, address: str) -> str:
    address = address.strip()
    if kind == "email" and (len(address) > 320 or not EMAIL.match(address)):
        raise invalid("email", "is not an email address (like name@example.com)")
    if kind == "webhook" and not re.match(r"^https?://[^\s/]+", address):
        raise invalid("address", "a webhook is an http(s) URL")
    return address


async def _check_components(session: AsyncSession, component_ids: Sequence[int]) -> list[int]:
    wanted = list(dict.fromkeys(component_ids))
    if not wanted:
        return []
    found = set(
        (
            await session.scalars(
                select(StatusComponent.id).where(
                    StatusComponent.id.in_(wanted), StatusComponent.is_group.is_(False)
                )
            )
        ).all()
    )
    missing = [c for c in wanted if c not in found]
    if missing:
        raise invalid("components", f"no component {missing[0]}")
    return wanted


async def _send_confirmation(
    session: AsyncSession, subscriber: StatusSubscriber, page: PageInfo, now: datetime
) -> None:
    token = secrets.token_urlsafe(32)
    subscriber.confirm_token_hash, subscriber.confirmation_sent_at = token_hash(token), now
    await session.flush()
    body = (
        f"Someone (we hope you) asked to receive {page.name} notices at this address.\n\n"
        f"Confirm: {confirm_url(page, subscriber.id, token)}\n\n"
        "If it was not you, ignore this message: nothing is sent unless the link is opened and confirmed."
    )
    await queue_to_address(
        session=session,
        channel="email",
        address=subscriber.address,
        key=f"statuspage:confirm:{subscriber.id}:{now.timestamp():.6f}",
        subject=f"Confirm your subscription to {page.name}",
        body=body,
        now=now,
    )


async def _set_components(
    session: AsyncSession, subscriber: StatusSubscriber, component_ids: list[int]
) -> None:
    existing = await session.scalars(
        select(StatusSubscriberComponent).where(StatusSubscriberComponent.subscriber_id == subscriber.id)
    )
    for row in existing.all():
        await session.delete(row)
    session.add_all(
        StatusSubscriberComponent(subscriber_id=subscriber.id, component_id=c) for c in component_ids
    )
    await session.flush()


async def subscribe_email(
    *,
    session: AsyncSession,
    address: str,
    component_ids: Sequence[int],
    source: str | None,
    page: PageInfo,
    now: datetime,
) -> None:
    """Send a confirmation link, and nothing else. The caller answers alike whether or not the address was
    already subscribed (that is the address owner's business); a confirmed address is sent nothing."""
    address = check_address("email", address)
    components = await _check_components(session, component_ids)
    subscriber = await session.scalar(
        select(StatusSubscriber).where(StatusSubscriber.kind == "email", StatusSubscriber.address == address)
    )
    if subscriber is not None and (
        subscriber.confirmed_at is not None
        or (subscriber.confirmation_sent_at and subscriber.confirmation_sent_at > now - RESEND_AFTER)
    ):
        return  # confirmed already, or mailed in the last ten minutes (whoever asks): nothing to send
    await _check_rate(session, source, now)
    if subscriber is None:
        subscriber = StatusSubscriber(
            kind="email", address=address, unsubscribe_token=secrets.token_urlsafe(32), created_at=now
        )
        session.add(subscriber)
        await session.flush()
    subscriber.requested_from = source
    await _set_components(session, subscriber, components)
    await _send_confirmation(session, subscriber, page, now)


async def _check_rate(session: AsyncSession, source: str | None, now: datetime) -> None:
    if source is None:
        return
    recent = await session.scalar(
        select(func.count())
        .select_from(StatusSubscriber)
        .where(
            StatusSubscriber.requested_from == source,
            StatusSubscriber.confirmation_sent_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= PER_SOURCE_PER_HOUR:
        raise TooManyRequests("too many subscriptions from here in the last hour; try again later")


async def _by_token(
    session: AsyncSession, subscriber_id: int, token: str, *, confirm: bool
) -> StatusSubscriber:
    subscriber = await session.get(StatusSubscriber, subscriber_id)
    expected = (
        (subscriber.confirm_token_hash if confirm else subscriber.unsubscribe_token) if subscriber else None
    )
    given = token_hash(token) if confirm else token
    if subscriber is None or not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise NotFound("this link is not valid (any more): it may have been used already")
    return subscriber


async def check_link(
    *, session: AsyncSession, subscriber_id: int, token: str, confirm: bool
) -> StatusSubscriber:
    return await _by_token(session, subscriber_id, token, confirm=confirm)


async def confirm(
    *, session: AsyncSession, subscriber_id: int, token: str, now: datetime
) -> StatusSubscriber:
    subscriber = await _by_token(session, subscriber_id, token, confirm=True)
    subscriber.confirmed_at, subscriber.confirm_token_hash = now, None
    await session.flush()
    return subscriber


async def unsubscribe(*, session: AsyncSession, subscriber_id: int, token: str) -> None:
    """The subscriber is removed altogether: nothing of them is kept."""
    subscriber = await _by_token(session, subscriber_id, token, confirm=False)
    await session.delete(subscriber)
    await session.flush()


async def add_subscriber(
    *,
    session: AsyncSession,
    kind: str,
    address: str,
    component_ids: Sequence[int],
    page: PageInfo,
    now: datetime,
) -> StatusSubscriber:
    """By the communications lead: a webhook is subscribed at once; an email still has to confirm."""
    address = check_address(kind, address)
    components = await _check_components(session, component_ids)
    exists = await session.scalar(
        select(StatusSubscriber.id).where(StatusSubscriber.kind == kind, StatusSubscriber.address == address)
    )
    if exists is not None:
        raise invalid("address", f"already subscribed (subscriber {exists})")
    subscriber = StatusSubscriber(
        kind=kind,
        address=address,
        unsubscribe_token=secrets.token_urlsafe(32),
        created_at=now,
        confirmed_at=now if kind == "webhook" else None,
    )
    session.add(subscriber)
    await session.flush()
    await _set_components(session, subscriber, components)
    if kind == "email":
        await _send_confirmation(session, subscriber, page, now)
    return subscriber


async def list_subscribers(*, session: AsyncSession) -> list[tuple[StatusSubscriber, list[int]]]:
    rows = (await session.scalars(select(StatusSubscriber).order_by(StatusSubscriber.id))).all()
    links = (
        await session.execute(
            select(StatusSubscriberComponent.subscriber_id, StatusSubscriberComponent.component_id)
        )
    ).all()
    by_subscriber: dict[int, list[int]] = {}
    for subscriber_id, component_id in links:
        by_subscriber.setdefault(subscriber_id, []).append(component_id)
    return [(s, sorted(by_subscriber.get(s.id, []))) for s in rows]


async def remove_subscriber(*, session: AsyncSession, subscriber_id: int) -> None:
    subscriber = await session.get(StatusSubscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber {subscriber_id}")
    await session.delete(subscriber)
    await session.flush()

"""Web sign-in sessions stored server-side: start, find, touch, revoke. Functions flush; the caller commits.

The browser's cookie holds only the session's random id; the row (found by the id's SHA-256) says whose it
is and until when. Signing out, changing a password or "sign out everywhere" revokes rows, so a copied
cookie stops working at once on every server process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import SESSION_TOUCH_AFTER, hash_token, session_end
from warroom.auth.models import User, WebSessionRecord


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class FoundSession:
    record_id: int
    user: User | None  # None: the session was revoked or has expired, or its user was deactivated
    needs_touch: bool  # live, and last_seen_at is old enough to be written again


async def start_session(
    *,
    session: AsyncSession,
    user: User,
    session_id: str,
    now: datetime,
    limits: SessionLimits,
    address: str,
    user_agent: str,
) -> WebSessionRecord:
    record = WebSessionRecord(
        id_hash=hash_token(session_id),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
        address=address[:64],
        user_agent=user_agent[:300],
    )
    session.add(record)
    await session.flush()
    return record


async def find_session(
    *, session: AsyncSession, session_id: str, now: datetime, limits: SessionLimits
) -> FoundSession | None:
    """The session with this id (None: there never was one) and, while it lives, its user."""
    row = (
        await session.execute(
            select(WebSessionRecord, User)
            .join(User, User.id == WebSessionRecord.user_id)
            .where(WebSessionRecord.id_hash == hash_token(session_id))
        )
    ).first()
    if row is None:
        return None
    record, user = row
    end = session_end(last_seen_at=record.last_seen_at, expires_at=record.expires_at, idle=limits.idle)
    if record.revoked_at is not None or now >= end or not user.is_active:
        return FoundSession(record.id, None, needs_touch=False)
    return FoundSession(record.id, user, needs_touch=now - record.last_seen_at >= SESSION_TOUCH_AFTER)


async def touch_session(*, session: AsyncSession, record_id: int, now: datetime) -> None:
    """Record use (for idle expiry); never moves last_seen_at backwards when two requests race."""
    await session.execute(
        update(WebSessionRecord)
        .where(WebSessionRecord.id == record_id, WebSessionRecord.last_seen_at < now)
        .values(last_seen_at=now)
    )


async def revoke_session(*, session: AsyncSession, session_id: str, now: datetime) -> int:
    """Sign one session out; the number of sessions revoked (0 when it was not signed in)."""
    result = await session.execute(
        update(WebSessionRecord)
        .where(WebSessionRecord.id_hash == hash_token(session_id), WebSessionRecord.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0))


async def revoke_user_sessions(
    *, session: AsyncSession, user_id: int, now: datetime, keep_session_id: str | None = None
) -> int:
    """Sign a user out everywhere (but in the session `keep_session_id`, if given); how many ended."""
    query = update(WebSessionRecord).where(
        WebSessionRecord.user_id == user_id, WebSessionRecord.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        query = query.where(WebSessionRecord.id_hash != hash_token(keep_session_id))
    result = await session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0))


async def list_live_sessions(
    *, session: AsyncSession, user_id: int, now: datetime, limits: SessionLimits
) -> list[WebSessionRecord]:
    """A user's sessions that still work, most recently used first (shown on their account page)."""
    records = await session.scalars(
        select(WebSessionRecord)
        .where(
            WebSessionRecord.user_id == user_id,
            WebSessionRecord.revoked_at.is_(None),
            WebSessionRecord.expires_at > now,
            WebSessionRecord.last_seen_at > now - limits.idle,
        )
        .order_by(WebSessionRecord.last_seen_at.desc())
    )
    return list(records)


async def prune_ended_sessions(
    *, session: AsyncSession, now: datetime, limits: SessionLimits, kept_for: timedelta
) -> int:
    """Delete sessions that ended (revoked, idle or past their expiry) more than `kept_for` ago."""
    before = now - kept_for
    result = await session.execute(
        delete(WebSessionRecord).where(
            or_(
                WebSessionRecord.revoked_at < before,
                WebSessionRecord.expires_at < before,
                WebSessionRecord.last_seen_at < before - limits.idle,
            )
        )
    )
    return int(getattr(result, "rowcount", 0))

"""Sign-in throttling: failed attempts counted per account and per client address, in the database (so
every server process shares them), with an exponential back-off (warroom.auth.domain.BackOff).

Functions flush; the caller commits. A refused attempt is not counted: the back-off grows with guesses
that were actually checked, not with impatience.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.domain import (
    ACCOUNT_BACKOFF,
    ADDRESS_BACKOFF,
    FORGET_FAILURES_AFTER,
    BackOff,
    account_key,
    address_key,
    blocked_for,
)
from warroom.auth.models import SignInFailures


def _keys(email: str, address: str) -> dict[str, BackOff]:
    keys = {address_key(address): ADDRESS_BACKOFF}
    if email.strip():
        keys[account_key(email)] = ACCOUNT_BACKOFF
    return keys


async def refused_for(*, session: AsyncSession, email: str, address: str, now: datetime) -> timedelta:
    """How long sign-in for this email from this address stays refused; zero when it may be tried now."""
    keys = _keys(email, address)
    rows = await session.scalars(select(SignInFailures).where(SignInFailures.key.in_(keys)))
    waits = [
        blocked_for(keys[row.key], failures=row.failures, last_failure_at=row.last_failure_at, now=now)
        for row in rows
    ]
    return max(waits, default=timedelta(0))


async def record_failure(*, session: AsyncSession, email: str, address: str, now: datetime) -> None:
    """Count one failed attempt against the account and the address: one upsert per key, so attempts
    arriving together on several processes are all counted (no read-modify-write)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key in _keys(email, address):
        statement = insert(SignInFailures).values(key=key, failures=1, last_failure_at=now)
        forgotten = SignInFailures.last_failure_at <= now - FORGET_FAILURES_AFTER
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[SignInFailures.key],
                set_={
                    "failures": case((forgotten, 1), else_=SignInFailures.failures + 1),
                    "last_failure_at": now,
                },
            )
        )


async def forget_account_failures(*, session: AsyncSession, email: str) -> None:
    """A successful sign-in clears the account's count. The address's count stays (it decays with time):
    otherwise one known password would let an address reset its count between guesses at other accounts."""
    await session.execute(delete(SignInFailures).where(SignInFailures.key == account_key(email)))


async def prune_forgotten_failures(*, session: AsyncSession, now: datetime) -> int:
    """Delete counts no longer counted (a day without failures), so sprayed emails do not pile up."""
    result = await session.execute(
        delete(SignInFailures).where(SignInFailures.last_failure_at <= now - FORGET_FAILURES_AFTER)
    )
    return int(getattr(result, "rowcount", 0))

"""A worker process's cache of the configuration its grouped jobs read, trusted while it is current.

Triage and escalation steps read the same routing and alert rules, maintenance windows, policies, steps,
slugs, emails and contact plans for every group (13 of a triage group's ~38 statements at 50 alerts/s). A
handler memoises such a lookup under a key starting with `CACHED` (its result must depend on nothing but
rows of `TABLES` and the `COLUMNS` named: not on the time, not on alerts); the worker keeps those entries
after the group commits and seeds the next group's memo with them, as long as the database's configuration
token (migrations 0037 and 0039: triggers give it a new random value on every write) is still the one the
entries were read under. A group with nothing cached reads the token first, in its own transaction, so
whatever it reads after is at least as new as the token it will be kept under. On PostgreSQL, a group of a
session holding writes (jobs.held) with entries cached reads nothing first: it checks, with its commit (a
held write, in the commit's pipeline: no wait of its own), that the token is still the cached one (migration
0038's function fails the transaction if not). Tokens never repeat, so a commit that passes the check saw no
configuration change from the moment the entries were read to its end. A group that fails (that check, or
anything else) empties the cache (`forget`); its jobs then run again at once with a fresh read. Every change
of the token is also notified (NOTIFY_PAYLOAD on the jobs' channel), and a listening worker empties its
cache then, so a change seldom costs a group at all.

Cached ORM objects are shared read-only by later groups' sessions, detached: only objects with every
column loaded are kept (a rolled-back savepoint expires what it loaded), and none has relationships.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.db import Base
from warroom.jobs import held

CACHED = "config:"
TABLE = "config_version"
TABLES = (
    "routing_rules",
    "alert_rules",
    "maintenance_windows",
    "escalation_policies",
    "escalation_steps",
    "services",
    "users",
    "contact_methods",
    "notification_rules",
    "incident_services",
)
# Tables watched for some columns only (migration 0039): an incident's recovery is read with the
# configuration (the last recovery on a service), but its timeline's writes must not empty the cache.
COLUMNS = {"incidents": ("status", "resolved_at", "drill")}
_READ_TOKEN = sa.text(f"SELECT token FROM {TABLE} WHERE id = 1")
_TOKEN_IS = sa.text("SELECT warroom_config_is(:token)")  # raises serialization_failure if not
CHANGED = "the configuration changed under this transaction"  # as migration 0038's function says it
SERIALIZATION_FAILURE = "40001"  # the SQLSTATE it raises
NOTIFY_PAYLOAD = "config"  # on the jobs' channel, with each change of the token (migration 0038)


@dataclass
class ConfigCache:
    """The cached entries and the token they were read under (None: nothing cached yet)."""

    token: str | None = None
    entries: dict[str, Any] = field(default_factory=dict)

    async def seed(self, session: AsyncSession) -> tuple[str | None, dict[str, Any]]:
        """The token, and a memo holding the entries cached under it (none if it changed): read now, or
        (PostgreSQL, writes held, a token cached) checked with the commit."""
        if self.token is not None and checked_at_commit(session):
            await held.write(session, _TOKEN_IS, {"token": self.token})
            return self.token, dict(self.entries)
        token = await session.scalar(_READ_TOKEN)
        if token is None or token != self.token:
            self.token, self.entries = token, {}
        return token, dict(self.entries)

    def forget(self) -> None:
        """A group failed: perhaps the check of its token, so trust nothing cached (the next group reads)."""
        self.token, self.entries = None, {}

    def keep(self, token: str | None, memo: dict[str, Any]) -> None:
        """After a group committed: its configuration lookups, if the token it read is still current."""
        if token is None or token != self.token:
            return  # a later group saw a newer token (or the row is missing): this memo may be stale
        for key, value in memo.items():
            if key.startswith(CACHED) and key not in self.entries and fully_loaded(value):
                self.entries[key] = value


def changed_under(error: BaseException) -> bool:
    """Whether `error` is the check's: the configuration changed while the group ran (psycopg's own, or
    as SQLAlchemy wraps it)."""
    found: BaseException | None = error
    while found is not None:  # read off the error's SQLSTATE and text: psycopg is not imported for SQLite
        said = getattr(getattr(found, "diag", None), "message_primary", None)
        if getattr(found, "sqlstate", None) == SERIALIZATION_FAILURE and said == CHANGED:
            return True
        found = getattr(found, "orig", None) or found.__cause__
    return False


def checked_at_commit(session: AsyncSession) -> bool:
    """Whether a cached token can be checked with the commit rather than read first."""
    return held.held_count(session) is not None and session.get_bind().dialect.name == "postgresql"


def fully_loaded(value: Any) -> bool:
    """Whether a value can be read without its session: plain data, or ORM objects with every column
    loaded (an expired or deferred attribute would need the session that is gone)."""
    if isinstance(value, Base):
        return not sa.inspect(value).unloaded
    if isinstance(value, list | tuple):
        return all(fully_loaded(item) for item in value)
    if isinstance(value, dict):
        return all(fully_loaded(item) for item in value.values())
    return True

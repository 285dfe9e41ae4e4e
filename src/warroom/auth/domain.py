"""Who may do what, and the shape of secrets. Pure: no I/O."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    responder = "responder"
    viewer = "viewer"
    stakeholder = "stakeholder"


class Permission(StrEnum):
    incident_read = "incident:read"  # an incident's status, severity, phase and stakeholder updates
    incident_internal = "incident:internal"  # timeline, internal notes, roles, tasks
    incident_write = "incident:write"
    catalog_read = "catalog:read"
    catalog_write = "catalog:write"
    users_manage = "users:manage"
    # The job table: payloads hold ids, addresses and errors from every domain, so admins only.
    jobs_read = "jobs:read"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.responder: frozenset(
        {
            Permission.incident_read,
            Permission.incident_internal,
            Permission.incident_write,
            Permission.catalog_read,
        }
    ),
    Role.viewer: frozenset({Permission.incident_read, Permission.incident_internal, Permission.catalog_read}),
    Role.stakeholder: frozenset({Permission.incident_read, Permission.catalog_read}),
}

TOKEN_PREFIX = "wr_"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def may_read_team_secret(role: str, owner_team_id: int | None, member_of: frozenset[int]) -> bool:
    """A team's write credential (an integration's intake key: whoever holds it can raise alerts) is for
    admins and the owning team's responders. Viewers and stakeholders are read-only even on the owning
    team, and a credential no team owns is for admins alone."""
    if role == Role.admin.value:
        return True
    if owner_team_id is None or not allows(role, Permission.incident_write):
        return False
    return owner_team_id in member_of


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if len(email) > 320:
        return "is longer than 320 characters"
    return None if EMAIL_PATTERN.match(email) else "is not an email address"


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > 1024:
        return "is longer than 1024 characters"
    return None


def new_password() -> str:
    return secrets.token_urlsafe(15)


def self_change_problem(
    *, actor_id: int, target_id: int, role: str | None = None, active: bool | None = None
) -> str | None:
    """An admin may not lock themselves out: no deactivating or demoting their own account."""
    if actor_id != target_id:
        return None
    if active is False:
        return "you cannot deactivate your own account: ask another admin"
    if role is not None and role != Role.admin.value:
        return "you cannot take away your own admin role: ask another admin"
    return None


# Web sessions: the cookie holds a random id (token_urlsafe(32): 43 characters of this alphabet).
SESSION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
SESSION_TOUCH_AFTER = timedelta(minutes=1)  # last_seen_at is written at most this often per session


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_end(*, last_seen_at: datetime, expires_at: datetime, idle: timedelta) -> datetime:
    """When a session ends: after `idle` without use, or at its absolute expiry, whichever comes first."""
    return min(last_seen_at + idle, expires_at)


@dataclass(frozen=True)
class BackOff:
    """`free` failures cost nothing; then each one doubles the wait, from `first` up to `most`."""

    free: int
    first: timedelta
    most: timedelta

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 40)  # 2**40 s is far past any `most`; no overflow
        wait: timedelta = self.first * 2**doublings
        return min(wait, self.most)


# Per account: a guesser gets 5 tries, then ~one a quarter hour. Per address: more room, because one
# office behind one NAT address holds many people who mistype.
ACCOUNT_BACKOFF = BackOff(free=5, first=timedelta(seconds=1), most=timedelta(minutes=15))
ADDRESS_BACKOFF = BackOff(free=20, first=timedelta(seconds=1), most=timedelta(minutes=15))
FORGET_FAILURES_AFTER = timedelta(days=1)  # a day without a failure starts the count again


def account_key(email: str) -> str:
    return f"account:{normalise_email(email)}"[:400]


def address_key(address: str) -> str:
    return f"address:{address}"[:400]


def blocked_for(backoff: BackOff, *, failures: int, last_failure_at: datetime, now: datetime) -> timedelta:
    """How much longer sign-in stays refused for a key with these failures (zero: not refused)."""
    if now - last_failure_at >= FORGET_FAILURES_AFTER:
        return timedelta(0)
    return max(last_failure_at + backoff.wait_after(failures) - now, timedelta(0))

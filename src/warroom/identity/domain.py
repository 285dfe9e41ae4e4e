"""Pure identity rules: which role and teams a person's groups give them, and the claims an ID token must
carry. No rule matching means no access: a person removed from every mapped group is let go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ROLE_RANK = {"stakeholder": 1, "viewer": 2, "responder": 3, "admin": 4}
MAX_GROUPS = 1_000
MAX_GROUP_NAME = 255


class ClaimsRefused(ValueError):
    """The identity provider's claims cannot sign anyone in; the message says which claim and why."""


@dataclass(frozen=True)
class Rule:
    group: str
    role: str
    team_id: int | None = None


@dataclass(frozen=True)
class Access:
    role: str
    team_ids: frozenset[int]


def groups_of(value: object) -> list[str]:
    """A groups claim as a list of names: a JSON list, or one comma-separated string; bounded and cleaned."""
    if value is None:
        return []
    items: Iterable[object] = (
        value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    )
    names = [str(item).strip() for item in items if isinstance(item, str | int)]
    return sorted({n for n in names if n and len(n) <= MAX_GROUP_NAME and "\x00" not in n})[:MAX_GROUPS]


def decide(groups: Iterable[str], rules: Iterable[Rule]) -> Access | None:
    """The highest role any of the person's groups gives, and every team they give; None: no access."""
    mine = set(groups)
    matched = [rule for rule in rules if rule.group in mine]
    if not matched:
        return None
    role = max((rule.role for rule in matched), key=lambda r: ROLE_RANK.get(r, 0))
    return Access(role, frozenset(rule.team_id for rule in matched if rule.team_id is not None))


def managed_team_ids(rules: Iterable[Rule]) -> frozenset[int]:
    """Teams some rule hands out: membership of these follows the groups; other teams are left alone."""
    return frozenset(rule.team_id for rule in rules if rule.team_id is not None)


@dataclass(frozen=True)
class Person:
    subject: str
    email: str
    name: str
    groups: list[str]


def person_from_claims(
    claims: dict[str, Any], *, email_claim: str, name_claim: str, groups_claim: str
) -> Person:
    """Who the token says this is; an unverified or missing email is refused (it is the account's key)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise ClaimsRefused("the ID token has no usable subject (sub)")
    email = claims.get(email_claim)
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        raise ClaimsRefused(f"the ID token has no email in its {email_claim!r} claim")
    if claims.get("email_verified") is False:
        raise ClaimsRefused("the identity provider says this email is not verified")
    name = claims.get(name_claim)
    shown = name.strip()[:200] if isinstance(name, str) and name.strip() else email
    return Person(subject, email.strip().lower(), shown, groups_of(claims.get(groups_claim)))

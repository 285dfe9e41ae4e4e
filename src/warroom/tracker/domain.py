"""Pure Jira logic: which rule an incident falls under, the fields of its issue (priority from severity,
a description in Atlassian Document Format on REST v3, wiki text on v2), a webhook's signature, and what a
webhook's changelog asks of warroom."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

DEFAULT_PRIORITIES = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
ATTEMPT_LABEL_PREFIX = "warroom-"
WEBHOOK_MAX_AGE_MS = 5 * 60 * 1000  # a delivery older than this is refused as a replay


class RuleLike(Protocol):
    service_id: int | None
    incident_type: str | None
    restricted: bool
    position: int
    id: int


R = TypeVar("R", bound=RuleLike)


def choose_rule(
    rules: Sequence[R], *, service_ids: set[int], incident_type: str, restricted: bool
) -> R | None:
    """The first rule (by position) for the incident's services and type; a restricted incident takes only
    a restricted rule and an open one never does, so a restricted title never lands in an open project."""
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if rule.restricted != restricted:
            continue
        if rule.service_id is not None and rule.service_id not in service_ids:
            continue
        if rule.incident_type is not None and rule.incident_type != incident_type:
            continue
        return rule
    return None


def priority_for(severity: str, mapping: dict[str, str]) -> str | None:
    return (mapping or DEFAULT_PRIORITIES).get(severity)


def severity_for(priority: str, mapping: dict[str, str]) -> str | None:
    """The severity a Jira priority maps back to, if exactly one does."""
    found = [sev for sev, name in (mapping or DEFAULT_PRIORITIES).items() if name.lower() == priority.lower()]
    return found[0] if len(found) == 1 else None


def document(api_version: str, paragraphs: Sequence[str]) -> str | dict[str, Any]:
    """Text as the API version wants it: ADF on v3 (Cloud), plain wiki text on v2 (Data Center)."""
    kept = [p for p in paragraphs if p.strip()]
    if api_version != "3":
        return "\n\n".join(kept)
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": p}]} for p in kept],
    }


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Jira's `X-Hub-Signature: sha256=<hex HMAC of the raw body>`, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def fresh(timestamp_ms: Any, now_ms: int) -> bool:
    """A delivery's own `timestamp` (ms) within five minutes of now, either way."""
    return isinstance(timestamp_ms, int) and abs(now_ms - timestamp_ms) <= WEBHOOK_MAX_AGE_MS


@dataclass(frozen=True)
class Change:
    field: str  # status | priority | summary
    old: str
    new: str


def changes(payload: dict[str, Any]) -> list[Change]:
    """The status, priority and summary changes of a `jira:issue_updated` delivery's changelog."""
    items = ((payload.get("changelog") or {}).get("items")) or []
    found = []
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("field", "")).lower()
        if name in ("status", "priority", "summary"):
            found.append(
                Change(name, str(item.get("fromString") or "")[:300], str(item.get("toString") or "")[:300])
            )
    return found


def status_done(payload: dict[str, Any]) -> bool:
    """Whether the issue now sits in a status of Jira's `done` category."""
    status = (((payload.get("issue") or {}).get("fields") or {}).get("status")) or {}
    return str((status.get("statusCategory") or {}).get("key", "")) == "done"


def attempt_label(base_url: str, issue_id: int) -> str:
    """The label that names the issue warroom means to make for its row `issue_id`: a create whose answer
    was lost (Jira made the issue, warroom's commit then failed) finds it by this label and adopts it instead
    of making a second. The base URL's hash keeps two warroom sites writing to one project apart."""
    site = hashlib.sha256(base_url.encode()).hexdigest()[:8]
    return f"{ATTEMPT_LABEL_PREFIX}{site}-{issue_id}"

"""What every intake adapter produces, and the pure rules on it: severity, dedup keys, state changes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from warroom.inbound import fit_identifier, fit_text

Action = Literal["trigger", "acknowledge", "unacknowledge", "resolve", "note", "update"]
Severity = Literal["critical", "error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning", "info")
AlertStatus = Literal["triggered", "acknowledged", "resolved"]


@dataclass(frozen=True)
class Problem:
    """One reason a sender's request was refused, in the words the sender's format uses."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class IntakeRejected(Exception):
    """The request is invalid in the sender's format; the route answers in that sender's error shape."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class AlertEventIn:
    """One normalised event: a trigger, acknowledge or resolve of the alert named by `dedup_key`.

    `dedup_key` None on a trigger means "generate one" (PagerDuty does); acknowledge/resolve always name one.
    `details` keeps everything the sender sent that has no field here, so unknown fields survive.
    """

    action: Action
    dedup_key: str | None
    title: str = ""
    description: str = ""
    severity: Severity = "error"
    raw_severity: str | None = None
    source: str = ""
    group_key: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    note: str | None = None
    actor: str | None = None  # who acknowledged/resolved, where the sender says


# Column sizes of the alert row: over them, what identifies is hashed (two long keys stay apart, one long key
# stays itself) and what describes is shortened, so PostgreSQL and SQLite store the same thing.
KEY_MAX, TITLE_MAX, SOURCE_MAX, RAW_SEVERITY_MAX, ACTOR_MAX = 255, 1024, 255, 64, 320


def _fits(event: AlertEventIn) -> bool:
    return (
        len(event.title) <= TITLE_MAX
        and len(event.source) <= SOURCE_MAX
        and (event.dedup_key is None or len(event.dedup_key) <= KEY_MAX)
        and (event.group_key is None or len(event.group_key) <= KEY_MAX)
        and (event.raw_severity is None or len(event.raw_severity) <= RAW_SEVERITY_MAX)
        and (event.actor is None or len(event.actor) <= ACTOR_MAX)
    )


def fitted(event: AlertEventIn) -> AlertEventIn:
    """`event` with every field fitted to its column (see KEY_MAX above); never refused, never dropped.
    The same event when all fit, as nearly all do (a copy took ~5 µs of the intake writer's GIL time)."""
    if _fits(event):
        return event
    return replace(
        event,
        dedup_key=None if event.dedup_key is None else fit_identifier(event.dedup_key, KEY_MAX),
        group_key=None if event.group_key is None else fit_identifier(event.group_key, KEY_MAX),
        title=fit_text(event.title, TITLE_MAX),
        source=fit_text(event.source, SOURCE_MAX),
        raw_severity=None if event.raw_severity is None else fit_text(event.raw_severity, RAW_SEVERITY_MAX),
        actor=None if event.actor is None else fit_text(event.actor, ACTOR_MAX),
    )


SEVERITY_SPELLINGS: dict[str, Severity] = {
    "critical": "critical",
    "crit": "critical",
    "p1": "critical",
    "disaster": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "page": "critical",
    "error": "error",
    "high": "error",
    "p2": "error",
    "major": "error",
    "err": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "p3": "warning",
    "minor": "warning",
    "average": "warning",
    "info": "info",
    "information": "info",
    "informational": "info",
    "low": "info",
    "p4": "info",
    "p5": "info",
    "none": "info",
    "ok": "info",
    "debug": "info",
}


def normalise_severity(raw: str | None, *, default: Severity = "error") -> Severity:
    """Map the senders' many spellings onto four levels; unknown values fall back to `default`."""
    if raw is None:
        return default
    value = str(raw).strip().lower()
    return SEVERITY_SPELLINGS.get(value, default)


def generated_dedup_key(integration_id: int, event: AlertEventIn) -> str:
    """A stable key for a trigger that names none: same title, source and labels -> same alert."""
    basis = json.dumps(
        {"i": integration_id, "t": event.title, "s": event.source, "l": event.labels}, sort_keys=True
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def next_status(current: AlertStatus | None, action: Action) -> AlertStatus | None:
    """The alert's status after `action`; None means "no open alert to act on: drop the event".

    A repeated trigger keeps an acknowledged alert acknowledged (PagerDuty and Opsgenie do the same).
    """
    if action == "trigger":
        return "acknowledged" if current == "acknowledged" else "triggered"
    if current is None or current == "resolved":
        return None
    transitions: dict[str, AlertStatus] = {
        "acknowledge": "acknowledged",
        "unacknowledge": "triggered",
        "resolve": "resolved",
        "note": current,
        "update": current,
    }
    return transitions[action]


@dataclass(frozen=True)
class Lookup:
    """An action naming its alert by our id (Opsgenie identifierType id or tiny), not a dedup key."""

    identifier: str
    identifier_type: str  # "id" (the alert's uid), "tiny" (its number) or "alias" (the dedup key)


COUNT_CAP = 10_000  # alert lists count their matches up to here, then say "10,000+"


def count_label(total: int) -> str:
    """A list's match count as people read it: past COUNT_CAP, "10,000+"."""
    return f"{COUNT_CAP:,}+" if total > COUNT_CAP else f"{total:,}"

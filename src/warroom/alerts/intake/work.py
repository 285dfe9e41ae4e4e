"""What the intake writer is handed (one request's normalised events) and what it answers per event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.alerts.domain import AlertEventIn, Lookup


@dataclass
class IntakeWork:
    integration_id: int
    service_id: int
    request_id: str
    received_at: datetime
    content_type: str
    headers: dict[str, str]
    body: bytes
    route: dict[str, Any]
    events: list[AlertEventIn]
    lookup: Lookup | None = None
    change: dict[str, Any] | None = None  # a change event's ServiceChange columns (summary, source, ...)
    raw_id: int | None = None  # its raw_events row's id, if stored before it is derived (backlog, replay)


@dataclass(frozen=True)
class EventOutcome:
    action: str
    outcome: str  # created, updated, acknowledged, unacknowledged, resolved, noted, dropped
    dedup_key: str | None
    alert_id: int | None = None
    alert_uid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "outcome": self.outcome,
            "dedup_key": self.dedup_key,
            "alert_id": self.alert_id,
            "alert_uid": self.alert_uid,
        }

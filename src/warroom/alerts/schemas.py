from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.alerts.domain import COUNT_CAP

IntegrationKind = Literal[
    "pagerduty", "opsgenie", "alertmanager", "grafana", "datadog", "newrelic", "webhook"
]
INTEGRATION_KINDS: tuple[str, ...] = IntegrationKind.__args__  # type: ignore[attr-defined]


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: IntegrationKind
    service: str = Field(max_length=64, description="The default service's slug.")
    name: str = Field(default="", max_length=200)
    signing_secret: str | None = Field(
        default=None, max_length=200, description="Grafana: verify signatures."
    )
    config: dict[str, Any] = Field(default_factory=dict, description="Generic webhook: JMESPath expressions.")
    rate_limit_per_minute: int = Field(default=6000, ge=1, le=1_000_000)


class IntegrationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=200)
    service: str | None = Field(default=None, max_length=64)
    signing_secret: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)


class IntegrationOut(BaseModel):
    id: int
    kind: str
    name: str
    service: str
    key: str | None = Field(
        description="The intake key: shown to admins and the owning team's responders, else null."
    )
    intake_url: str
    how_to: str
    signing_secret_set: bool
    config: dict[str, Any]
    rate_limit_per_minute: int
    created_at: datetime
    key_rotated_at: datetime | None
    last_event_at: datetime | None


class AlertOut(BaseModel):
    id: int
    uid: str
    integration_id: int
    service: str | None
    incident: str | None
    dedup_key: str
    group_key: str | None
    status: str
    severity: str
    raw_severity: str | None
    title: str
    description: str
    source: str
    labels: dict[str, str]
    links: list[dict[str, str]]
    details: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    count: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    suppressed: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int = Field(description="Matching alerts, counted up to 10,000 (see total_exact)")
    total_exact: bool = Field(
        True, description="False when more than 10,000 alerts match: total is then 10,000, a lower bound"
    )
    limit: int
    offset: int

    @classmethod
    def of(cls, items: list[AlertOut], counted: int, limit: int, offset: int) -> AlertPage:
        """`counted` as list_alerts gives it: up to COUNT_CAP + 1."""
        exact = counted <= COUNT_CAP
        total = counted if exact else COUNT_CAP
        return cls(items=items, total=total, total_exact=exact, limit=limit, offset=offset)


class AlertEventOut(BaseModel):
    at: datetime
    action: str
    actor: str | None
    request_id: str | None
    data: dict[str, Any]


class AttachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident: str = Field(max_length=32, description="INC-42 or 42.")


class ChangeOut(BaseModel):
    """A deploy or config change to one of an incident's services (PagerDuty change events)."""

    id: int
    service: str
    at: datetime
    summary: str
    source: str
    links: list[dict[str, str]]


class NeighbourOut(BaseModel):
    service: str
    name: str
    depth: int = Field(description="1 for a direct dependency or dependant.")
    open_alerts: int
    incidents: list[str] = Field(description="Open incidents on it that you may see.")
    hidden_incidents: int = Field(description="Open incidents on it you may not see: counted, not named.")
    in_incident: bool


class BlastRadiusOut(BaseModel):
    upstream: list[NeighbourOut] = Field(description="What its services depend on that is in trouble.")
    downstream: list[NeighbourOut] = Field(description="What depends on its services: likely affected.")

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RoutingRuleCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    conditions: list[dict[str, Any]] = Field(max_length=50)
    service: str = Field(max_length=64)


class RoutingRuleOut(BaseModel):
    id: int
    position: int
    name: str
    conditions: list[dict[str, Any]]
    service: str
    enabled: bool


class AlertRuleCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    conditions: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    action: str = Field(
        description="page (only page), declare (a new incident), group (join the group's open one)"
    )
    incident_severity: str | None = Field(
        default=None, description="Default: mapped from the alert's severity."
    )
    incident_type: str | None = None


class AlertRuleOut(BaseModel):
    id: int
    position: int
    name: str
    conditions: list[dict[str, Any]]
    action: str
    incident_severity: str | None
    incident_type: str | None


class WindowCreate(Strict):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class WindowOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str


class HeartbeatCreate(Strict):
    service: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=200)
    interval_seconds: int = Field(ge=30, le=7 * 86_400)


class HeartbeatOut(BaseModel):
    id: int
    name: str
    service: str
    interval_seconds: int
    last_ping_at: datetime | None
    missing: bool
    ping_url: str


class ChangeOut(BaseModel):
    at: datetime
    summary: str
    source: str
    links: list[dict[str, str]]
    details: dict[str, Any]

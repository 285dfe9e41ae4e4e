"""Request and response shapes of the management API (/api/v1/status-page/...). The public Statuspage-shaped
JSON is built in views.py, field by field, as plain dicts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.patch import Patch

ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceStatus = Literal["scheduled", "in_progress", "verifying", "completed"]
Impact = Literal["none", "minor", "major", "critical"]
Name = Field(min_length=1, max_length=200)
Body = Field(min_length=1, max_length=20_000)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GroupCreate(Strict):
    name: str = Name
    description: str = Field(default="", max_length=2_000)
    position: int | None = Field(default=None, ge=0, description="Default: after the last one.")


class GroupPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    position: int | None = Field(default=None, ge=0)


class ComponentCreate(Strict):
    name: str = Name
    description: str = Field(default="", max_length=2_000)
    group_id: int | None = None
    position: int | None = Field(default=None, ge=0, description="Default: after the last one.")
    status: ComponentStatus = "operational"
    services: list[str] = Field(default_factory=list, max_length=50, description="Catalog service slugs.")
    showcase: bool = True
    only_show_if_degraded: bool = False
    start_date: date | None = None


class ComponentPatch(Patch):
    nullable = frozenset({"group_id", "start_date"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    group_id: int | None = None
    position: int | None = Field(default=None, ge=0)
    status: ComponentStatus | None = None
    services: list[str] | None = Field(default=None, max_length=50)
    showcase: bool | None = None
    only_show_if_degraded: bool | None = None
    start_date: date | None = None


class ComponentOut(BaseModel):
    id: int
    name: str
    description: str
    is_group: bool
    group_id: int | None
    position: int
    status: str
    services: list[str]
    showcase: bool
    only_show_if_degraded: bool
    start_date: date | None
    created_at: datetime
    updated_at: datetime


class ComponentChange(Strict):
    id: int
    status: ComponentStatus


class IncidentCreate(Strict):
    name: str = Field(min_length=1, max_length=300, description="The PUBLIC title.")
    status: IncidentStatus = "investigating"
    impact: Impact = "minor"
    body: str = Body
    components: list[ComponentChange] = Field(default_factory=list, max_length=200)
    incident: str | None = Field(default=None, max_length=32, description="An internal incident to link.")
    publish: bool = Field(default=True, description="False keeps it a draft, invisible to the public.")
    started_at: AwareDatetime | None = None


class IncidentPatch(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=300)
    impact: Impact | None = None


class DraftEdits(Strict):
    """What the person publishing a draft may change first: its public title and first message."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, min_length=1, max_length=20_000)


class UpdateCreate(Strict):
    status: str = Field(max_length=16)
    body: str = Body
    components: list[ComponentChange] = Field(default_factory=list, max_length=200)


class MaintenanceCreate(Strict):
    name: str = Field(min_length=1, max_length=300)
    body: str = Body
    scheduled_for: AwareDatetime
    scheduled_until: AwareDatetime
    components: list[int] = Field(default_factory=list, max_length=200)
    incident: str | None = Field(default=None, max_length=32)


class AffectedOut(BaseModel):
    id: int
    name: str
    status: str


class UpdateOut(BaseModel):
    id: int
    status: str
    body: str
    affected_components: list[dict[str, str]] | None
    created_at: datetime


class StatusIncidentOut(BaseModel):
    id: int
    kind: str
    name: str
    status: str
    impact: str
    published: bool
    incident: str | None = Field(description="The linked internal incident's ref (never shown publicly).")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    scheduled_for: datetime | None
    scheduled_until: datetime | None
    public_url: str
    components: list[AffectedOut]
    updates: list[UpdateOut]


class SubscriberCreate(Strict):
    kind: Literal["email", "webhook"]
    address: str = Field(min_length=3, max_length=1000)
    components: list[int] = Field(default_factory=list, max_length=200)


class SubscriberOut(BaseModel):
    id: int
    kind: str
    address: str
    confirmed: bool
    components: list[int]
    created_at: datetime
    confirmed_at: datetime | None

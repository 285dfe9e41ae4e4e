"""Request and response shapes for incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Text300 = Field(min_length=1, max_length=300)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class IncidentCreate(Strict):
    title: str = Text300
    severity: str = Field(max_length=16)
    type: str | None = Field(default=None, max_length=64, description="Default: the procedure's first type.")
    summary: str = Field(default="", max_length=20_000)
    customer_impact: str = Field(default="", max_length=20_000)
    services: list[str] = Field(default_factory=list, max_length=100, description="Service slugs.")
    detected_at: AwareDatetime | None = None
    impact_started_at: AwareDatetime | None = None
    drill: bool = Field(default=False, description="A drill: runs the real procedure, left out of metrics.")
    restricted: bool = Field(
        default=False,
        description="Only participants, the security team and admins see it (a restricted type always is).",
    )


class IncidentPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    customer_impact: str | None = Field(default=None, max_length=20_000)
    type: str | None = Field(default=None, max_length=64)
    services: list[str] | None = Field(default=None, max_length=100)
    severity: str | None = Field(default=None, max_length=16)
    severity_reason: str | None = Field(default=None, max_length=2_000)
    restricted: bool | None = Field(
        default=None, description="Restrict to participants (or lift it): the commander or an admin only."
    )


class RoleChange(Strict):
    role: str = Field(max_length=64)
    user: str = Field(min_length=1, max_length=320, description="The user's email or id.")
    action: Literal["assign", "unassign"] = "assign"


class RoleWaiver(Strict):
    roles: list[str] = Field(min_length=1, max_length=20, description="Role ids the severity requires.")
    reason: str = Field(min_length=1, max_length=2_000, description="Why the incident can do without them.")


class MilestoneRecord(Strict):
    milestone: Literal["compromised", "contained", "eradicated", "recovered", "notified"] = Field(
        description="compromised: the first malicious activity, an estimate that may be recorded again."
    )
    at: AwareDatetime | None = Field(default=None, description="When it happened; default now.")
    note: str = Field(default="", max_length=2_000, description="How it was established (log, EDR, ...).")


class PhaseChange(Strict):
    phase: str = Field(max_length=64)
    reason: str = Field(default="", max_length=2_000)


class ResolveRequest(Strict):
    reason: str = Field(default="", max_length=2_000)


class TaskCreate(Strict):
    title: str = Text300
    assignee: str | None = Field(default=None, max_length=320, description="Email or id.")
    due_at: AwareDatetime | None = None


class TaskPatch(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    assignee: str | None = Field(default=None, max_length=320, description="Email or id; empty unassigns.")
    due_at: AwareDatetime | None = None
    done: bool | None = None
    note: str | None = Field(
        default=None, max_length=5_000, description="What was done: the answer to the step's evidence prompt."
    )


class UpdateCreate(Strict):
    audience: Literal["internal", "stakeholder"] = "internal"
    body: str = Field(min_length=1, max_length=20_000)
    audiences: list[str] | None = Field(
        default=None,
        max_length=20,
        description="For a stakeholder update: the procedure's audiences to send it to (default: every "
        "audience that hears about this severity).",
    )


class LinkCreate(Strict):
    title: str = Field(max_length=1_000, description="1 to 200 characters.")
    url: str = Field(max_length=10_000, description="An http:// or https:// address with a host.")


class UserRef(BaseModel):
    id: int
    email: str
    name: str


class RoleHolding(BaseModel):
    role: str
    user: UserRef
    assigned_at: datetime
    unassigned_at: datetime | None


class LinkOut(BaseModel):
    id: int
    title: str
    url: str
    added_by: UserRef | None
    added_at: datetime


class TargetClock(BaseModel):
    target: str
    started_at: datetime | None = Field(default=None, description="When the clock started (the declaration).")
    deadline: datetime
    acknowledged_at: datetime | None
    met: bool | None
    overdue: bool
    remaining_seconds: float
    state: Literal["ok", "warn", "urgent", "overdue", "met", "missed"] = Field(
        default="ok",
        description="Running: ok, warn (half the target gone), urgent (80%), overdue; then met or missed.",
    )


class IncidentOut(BaseModel):
    id: int
    ref: str
    title: str
    severity: str
    type: str
    phase: str
    status: str
    summary: str
    customer_impact: str
    services: list[str]
    procedure_version: str
    declared_at: datetime
    declared_by: UserRef | None
    detected_at: datetime | None
    impact_started_at: datetime | None
    acknowledged_at: datetime | None
    contained_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    compromised_at: datetime | None = Field(default=None, description="First malicious activity, estimated.")
    eradicated_at: datetime | None = None
    recovered_at: datetime | None = None
    notified_at: datetime | None = None
    drill: bool = False
    restricted: bool = False
    next_update_due_at: datetime | None = Field(
        default=None, description="When the severity's update cadence wants the next stakeholder update."
    )
    update_overdue: bool = False
    updated_at: datetime
    roles: list[RoleHolding] | None = Field(description="Current holders; hidden from stakeholders.")
    missing_roles: list[str]
    response_target: TargetClock
    links: list[LinkOut] | None = Field(default=None, description="Oldest first; hidden from stakeholders.")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int
    limit: int
    offset: int


class TaskOut(BaseModel):
    id: int
    title: str
    assignee: UserRef | None
    due_at: datetime | None
    done: bool
    done_at: datetime | None
    created_at: datetime
    step_id: str | None = Field(default=None, description="The playbook step this task is, if any.")
    phase: str | None = None
    role: str | None = None
    mandatory: bool = False
    gate: bool = Field(default=False, description="Holds the incident in `phase` until done or waived.")
    action: str | None = None
    evidence_prompt: str = ""
    links: list[dict[str, str]] = Field(default_factory=list)
    started_at: datetime | None = None
    done_by: UserRef | None = None
    done_note: str = ""
    waived_at: datetime | None = None
    waived_by: UserRef | None = None
    waived_reason: str = ""


class UpdateOut(BaseModel):
    id: int
    audience: str
    body: str
    author: UserRef | None
    posted_at: datetime


class TimelineEventOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]
    hash: str


class ParticipantAdd(Strict):
    user: str = Field(min_length=1, max_length=320, description="The user's email or id.")


class ParticipantOut(BaseModel):
    user: UserRef
    added_by: UserRef | None
    added_at: datetime


class RolesOut(BaseModel):
    current: list[RoleHolding]
    history: list[RoleHolding]
    missing: list[str] = Field(description="Required by the severity, neither held nor waived.")
    waived: list[str] = Field(default_factory=list, description="Waived by the commander, with a reason.")

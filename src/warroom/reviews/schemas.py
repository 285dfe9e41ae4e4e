from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.patch import Patch

Long = Field(default=None, max_length=20_000)
ActionType = Literal["mitigate", "prevent", "process", "other"]
ActionStatus = Literal["open", "in_progress", "done", "wont_do"]


class ReviewPatch(Patch):
    nullable = frozenset({"customers_affected"})

    summary: str | None = Long
    impact: str | None = Long
    customers_affected: int | None = Field(default=None, ge=0)
    trigger: str | None = Long
    five_whys: list[str] | None = Field(default=None, max_length=20)
    contributing_factors: list[str] | None = Field(default=None, max_length=50)
    detection: str | None = Long
    detection_improvement: str | None = Long
    went_well: str | None = Long
    went_wrong: str | None = Long
    got_lucky: str | None = Long
    answers: dict[str, str] | None = Field(default=None, description="The template's questions -> answers.")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str = Field(max_length=16)


class ReviewerAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=320, description="The user's email or id.")


class CurationPatch(Patch):
    nullable = frozenset({"at"})

    hidden: bool | None = None
    highlighted: bool | None = None
    note: str | None = Field(default=None, max_length=5_000)
    at: AwareDatetime | None = Field(default=None, description="The corrected time; the event keeps its own.")


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: AwareDatetime
    note: str = Field(min_length=1, max_length=5_000)
    highlighted: bool = False


class ActionItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    type: ActionType = "other"
    owner: str | None = Field(default=None, max_length=320, description="The owner's email or id.")
    due_on: date | None = None
    tracker_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class ActionItemPatch(Patch):
    nullable = frozenset({"owner", "due_on", "tracker_url"})

    title: str | None = Field(default=None, min_length=1, max_length=300)
    type: ActionType | None = None
    owner: str | None = Field(default=None, max_length=320)
    due_on: date | None = None
    status: ActionStatus | None = None
    tracker_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class ActionItemOut(BaseModel):
    id: int
    incident: str
    title: str
    type: str
    owner: str | None
    due_on: date | None
    status: str
    tracker_url: str | None
    overdue: bool


class TimelineLineOut(BaseModel):
    seq: int | None
    at: datetime
    original_at: datetime | None
    kind: str
    actor: str
    summary: str
    note: str
    highlighted: bool
    hidden: bool


class ReviewOut(BaseModel):
    incident: str
    status: str
    template: str
    summary: str
    impact: str
    customers_affected: int | None
    impact_minutes: float | None
    cost_estimate: float | None
    services: list[str]
    trigger: str
    five_whys: list[str]
    contributing_factors: list[str]
    detection: str
    detection_improvement: str
    went_well: str
    went_wrong: str
    got_lucky: str
    questions: list[str]
    answers: dict[str, str]
    reviewers: list[str]
    drafted_at: datetime
    updated_at: datetime
    published_at: datetime | None
    action_items: list[ActionItemOut]

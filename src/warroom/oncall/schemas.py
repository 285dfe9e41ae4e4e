from __future__ import annotations

from datetime import datetime, time
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from warroom.patch import Patch

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RestrictionIn(Strict):
    days: list[int] = Field(min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday")
    start: time
    end: time


class LayerIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(default=0, ge=-1000, le=1000)
    participants: list[str] = Field(min_length=1, max_length=200, description="Emails or user ids, in order.")
    start: AwareDatetime = Field(description="The first handoff; its local time of day is the handoff time.")
    end: AwareDatetime | None = None
    shift_length: int = Field(ge=1, le=10_000)
    shift_unit: Literal["hours", "days", "weeks"]
    time_zone: str = Field(max_length=64)
    restrictions: list[RestrictionIn] = Field(default_factory=list, max_length=50)


class LayerPatch(Patch):
    """A layer's fields to change; `end: null` makes the rotation open-ended again."""

    nullable: ClassVar[frozenset[str]] = frozenset({"end"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    participants: list[str] | None = Field(default=None, min_length=1, max_length=200)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    shift_length: int | None = Field(default=None, ge=1, le=10_000)
    shift_unit: Literal["hours", "days", "weeks"] | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    restrictions: list[RestrictionIn] | None = Field(default=None, max_length=50)


class ScheduleCreate(Strict):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    time_zone: str = Field(default="UTC", max_length=64)
    layers: list[LayerIn] = Field(default_factory=list, max_length=20)


class SchedulePatch(Patch):
    slug: str | None = Field(default=None, pattern=SLUG)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)


class OverrideCreate(Strict):
    user: str = Field(min_length=1, max_length=320)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class OverridePatch(Patch):
    user: str | None = Field(default=None, min_length=1, max_length=320)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None


class SpanOut(BaseModel):
    start: datetime
    end: datetime
    user: str | None
    source: str


class OverrideOut(SpanOut):
    """An override as stored: the span it covers (source: override), its id, and who made it."""

    id: int
    created_by: str
    created_at: datetime


class ScheduleOut(BaseModel):
    id: int
    slug: str
    name: str
    time_zone: str
    layers: list[dict[str, object]]
    ical_url: str


class OnCallOut(BaseModel):
    schedule: str
    user: str | None
    source: str
    until: datetime


class StepIn(Strict):
    delay_seconds: int = Field(ge=0, le=7 * 86_400, description="Wait before this step (after the previous).")
    targets: list[dict[str, str]] = Field(
        min_length=1, max_length=50, description='[{"type": "user"|"schedule"|"team", "ref": email/slug}]'
    )


class PolicyCreate(Strict):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    repeat: int = Field(default=0, ge=0, le=20)
    unack_timeout_seconds: int | None = Field(default=None, ge=60, le=7 * 86_400)
    steps: list[StepIn] = Field(min_length=1, max_length=20)
    services: list[str] = Field(
        default_factory=list, description="Service slugs that page through this policy."
    )


class PolicyPatch(Patch):
    """`steps` replaces every step, in order; `services` replaces the set of services paging through it (those
    left out stop paging through this policy); `unack_timeout_seconds: null` turns the re-page off."""

    nullable: ClassVar[frozenset[str]] = frozenset({"unack_timeout_seconds"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    repeat: int | None = Field(default=None, ge=0, le=20)
    unack_timeout_seconds: int | None = Field(default=None, ge=60, le=7 * 86_400)
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=20)
    services: list[str] | None = Field(default=None, max_length=200)


class PolicyOut(BaseModel):
    id: int
    slug: str
    name: str
    repeat: int
    unack_timeout_seconds: int | None
    steps: list[dict[str, object]]
    services: list[str]

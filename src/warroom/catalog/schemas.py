from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ServiceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5_000)
    team: str | None = Field(default=None, max_length=64, description="The owning team's slug.")
    cost_per_minute: float | None = Field(
        default=None, ge=0, description="What a minute of outage costs, for review impact estimates."
    )


class ServiceOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str
    cost_per_minute: float | None = None
    created_at: datetime

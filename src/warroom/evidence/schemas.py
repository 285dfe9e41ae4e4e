from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warroom.incidents.schemas import UserRef


class EvidenceOut(BaseModel):
    id: int
    sha256: str
    size: int
    filename: str
    description: str
    collected_from: str
    collected_at: datetime
    collected_by: UserRef | None
    holder: UserRef | None = Field(description="Who holds it now (the last hand-over).")
    uploaded_at: datetime


class HandOver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=320, description="The new holder: an email or user id.")
    note: str = Field(default="", max_length=2_000)


class CustodyOut(BaseModel):
    seq: int = Field(description="The event's place in the incident's hash chain.")
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]
    hash: str

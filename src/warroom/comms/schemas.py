from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RecipientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: str = Field(max_length=64, description="An audience id from the procedure's communications.")
    channel: str = Field(default="email", max_length=16, description="email, webhook, apprise or log.")
    address: str = Field(max_length=1000, description="Email address, webhook URL or Apprise URL.")
    label: str = Field(default="", max_length=200)


class RecipientOut(BaseModel):
    id: int
    audience: str
    channel: str
    address: str
    label: str
    created_at: datetime


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20_000)
    audiences: list[str] | None = Field(default=None, max_length=20)


class RenderedOut(BaseModel):
    audience: str
    subject: str
    body: str
    recipients: int

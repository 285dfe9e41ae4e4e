"""Request and response shapes for my contact methods and notification rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from warroom.patch import Patch


class MethodIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(description="email, webhook or apprise")
    address: str = Field(min_length=3, max_length=1000)
    label: str = Field(default="", max_length=200)


class MethodPatch(Patch):
    """A new address is checked against the kind (the new one if sent); pages already queued keep the old."""

    kind: str | None = Field(default=None, description="email, webhook or apprise")
    address: str | None = Field(default=None, min_length=3, max_length=1000)
    label: str | None = Field(default=None, max_length=200)


class MethodOut(BaseModel):
    id: int
    kind: str
    address: str
    label: str


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_method: int
    delay_seconds: int = Field(default=0, ge=0, le=86_400)
    urgency: str = Field(default="high", description="high (P1/P2, critical) or low")


class RulePatch(Patch):
    contact_method: int | None = None
    delay_seconds: int | None = Field(default=None, ge=0, le=86_400)
    urgency: str | None = Field(default=None, description="high or low")


class RuleOut(BaseModel):
    id: int
    contact_method: int
    delay_seconds: int
    urgency: str

"""Request and response shapes of the threat-intel API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warroom.intel.vulnerability import parse_cpe

FeedKind = Literal["stix", "taxii", "misp", "misp-api", "csv", "text", "cve"]
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedIn(_Strict):
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    kind: FeedKind
    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^(https?|file)://\S+$",
        description="The bundle, list or MISP feed root; TAXII: the collection's URL.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description='csv: {"value_column": 0, "type": "ip"}; '
        'text: {"type": "domain"}; taxii: {"user", "password"}; '
        'misp-api: {"key", "tags", "published", "verify_tls"}.',
    )
    interval_seconds: int = Field(default=3600, ge=60, le=7 * 86_400)
    enabled: bool = True
    tlp: Tlp = "amber"
    confidence: int = Field(default=50, ge=0, le=100)
    raise_to: Literal["critical", "error", "warning"] | None = Field(
        default=None, description="A matching alert's severity is raised to this."
    )
    declare_type: str | None = Field(
        default=None, max_length=64, description="Open (or join) an incident of it."
    )
    declare_severity: str | None = Field(default=None, max_length=16)
    team: str | None = Field(default=None, max_length=64, description="Told of what a retro-hunt finds.")


class FeedPatch(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=8, max_length=2000, pattern=r"^(https?|file)://\S+$")
    options: dict[str, Any] | None = None
    interval_seconds: int | None = Field(default=None, ge=60, le=7 * 86_400)
    enabled: bool | None = None
    raise_to: Literal["critical", "error", "warning"] | None = None
    declare_type: str | None = Field(default=None, max_length=64)
    declare_severity: str | None = Field(default=None, max_length=16)


class FeedOut(BaseModel):
    slug: str
    name: str
    kind: str
    url: str
    interval_seconds: int
    enabled: bool
    tlp: str
    raise_to: str | None
    declare_type: str | None
    declare_severity: str | None
    indicators: int
    last_polled_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_error: str | None
    last_counts: dict[str, int]


class IndicatorOut(BaseModel):
    id: int
    feed: str
    type: str | None
    value: str | None
    pattern: str | None
    name: str
    confidence: int
    tlp: str
    valid_from: datetime | None
    valid_until: datetime | None
    revoked: bool
    labels: list[str]


class SightingOut(BaseModel):
    id: int
    indicator: IndicatorOut
    matched: str
    alert_id: int | None
    incident: str | None
    via: str
    first_seen: datetime
    last_seen: datetime
    count: int


class HuntIn(_Strict):
    value: str = Field(min_length=1, max_length=2000, description="A value (its type guessed unless given).")
    type: str | None = Field(default=None, max_length=16)
    days: int = Field(default=90, ge=1, le=3650)


class HuntResult(BaseModel):
    surface: str
    where: str = Field(description="alert #12, or INC-3")
    value: str
    seen_at: datetime


class HuntOut(BaseModel):
    type: str
    value: str
    by_surface: dict[str, list[HuntResult]]


class SoftwareIn(_Strict):
    name: str | None = Field(
        default=None, min_length=1, max_length=200, description="The product, as vulnerability lists name it."
    )
    version: str | None = Field(default=None, max_length=100)
    cpe: str | None = Field(
        default=None,
        max_length=400,
        description="A CPE 2.3 name (cpe:2.3:a:openssl:openssl:3.0.1:...) or 2.2 URI: name and version.",
    )

    @model_validator(mode="after")
    def _named(self) -> SoftwareIn:
        if self.cpe is not None:
            product = parse_cpe(self.cpe)  # NotACpe is a ValueError: a 422 saying why
            self.name, self.version = product.name, self.version or product.version
        if not self.name or not self.name.strip():
            raise ValueError("name the product, or give its cpe")
        return self


class SoftwareList(_Strict):
    software: list[SoftwareIn] = Field(max_length=500, description="Replaces what the service declared.")


class FindingOut(BaseModel):
    id: int
    service: str
    team: str | None
    cve: str
    software: str
    severity: str
    exploited: bool
    ransomware: bool
    description: str
    due_on: date
    status: str


class FindingPatch(_Strict):
    status: Literal["open", "done", "wont_fix"]

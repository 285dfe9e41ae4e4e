from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.incidents.schemas import UserRef

Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
Pap = Literal["clear", "green", "amber", "red"]
Surface = Literal["endpoint", "cloud", "network", "identity", "email", "application"]
AssetKind = Literal["host", "account", "cloud_resource", "service", "mailbox", "network", "other"]
Tag = Field(min_length=1, max_length=64)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObservableAdd(_Strict):
    """One observable (`type` and `value`), or `text`: a pasted list, one per line (`type: value`, or a bare
    value whose type is guessed). TLP, PAP, flags and tags apply to each."""

    type: str | None = Field(default=None, max_length=16)
    value: str | None = Field(default=None, max_length=2_000)
    text: str | None = Field(default=None, max_length=200_000, description="A pasted list, one per line.")
    tlp: Tlp | None = Field(default=None, description="Default: amber on restricted incidents, else green.")
    pap: Pap = "amber"
    ioc: bool = False
    sighted: bool = False
    tags: list[str] = Field(default_factory=list, max_length=20)
    note: str = Field(default="", max_length=2_000)
    asset: int | None = Field(default=None, description="The asset it was seen on.")


class ObservablePatch(_Strict):
    tlp: Tlp | None = None
    pap: Pap | None = None
    ioc: bool | None = None
    sighted: bool | None = None
    tags: list[str] | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=2_000)
    asset: int | None = Field(default=None, description="0 unlinks.")


class ObservableOut(BaseModel):
    id: int
    type: str
    value: str
    tlp: str
    pap: str
    ioc: bool
    sighted: bool
    tags: list[str]
    note: str
    source: str
    alert_id: int | None
    asset_id: int | None
    first_seen: datetime
    last_seen: datetime
    added_by: UserRef | None


class Refused(BaseModel):
    line: int = Field(description="1-based line of the pasted text (1 for a single value).")
    value: str
    problem: str


class ObservablesAdded(BaseModel):
    added: list[ObservableOut]
    merged: list[ObservableOut] = Field(description="Already there: their last_seen moved on.")
    refused: list[Refused]


class ExtractedOut(BaseModel):
    type: str
    value: str
    where: str = Field(description="Where in the alert it was found, e.g. labels.src_ip.")


class AssetIn(_Strict):
    kind: AssetKind
    name: str = Field(min_length=1, max_length=300)
    surface: Surface
    description: str = Field(default="", max_length=2_000)


class AssetOut(BaseModel):
    id: int
    kind: str
    name: str
    surface: str
    description: str


class AssetLink(_Strict):
    asset: int | None = Field(default=None, description="An existing asset's id.")
    new: AssetIn | None = Field(default=None, description="Or a new asset to create and link.")


class SurfacesOut(BaseModel):
    assets: list[AssetOut]
    surfaces: list[str] = Field(
        description="Every surface involved: its assets' and its services' (application)."
    )
    multi_vector: bool = Field(description="Three surfaces or more: an attack moving across them.")

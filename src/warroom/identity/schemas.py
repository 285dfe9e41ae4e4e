"""Request and response shapes of single sign-on's admin API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProviderIn(_Strict):
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$", description="Used in its URLs.")
    name: str = Field(min_length=1, max_length=200, description='Shown as "Sign in with <name>".')
    issuer: str = Field(
        min_length=8,
        max_length=500,
        pattern=r"^https?://[^\s]+$",
        description="The issuer URL, exactly as in its tokens' `iss`; discovery is read from it.",
    )
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: str = Field(min_length=1, max_length=500)
    scopes: str = Field(default="openid email profile groups", max_length=500, pattern=r"(^|\s)openid(\s|$)")
    email_claim: str = Field(default="email", min_length=1, max_length=100)
    name_claim: str = Field(default="name", min_length=1, max_length=100)
    groups_claim: str = Field(default="groups", min_length=1, max_length=100)


class ProviderOut(BaseModel):
    slug: str
    name: str
    issuer: str
    client_id: str
    scopes: str
    source: Literal["environment", "database"]
    sign_in_url: str


class RuleIn(_Strict):
    group: str = Field(min_length=1, max_length=255, description="A group name as the provider sends it.")
    role: Literal["admin", "responder", "viewer", "stakeholder"]
    team: str | None = Field(default=None, max_length=64, description="A team slug its members join.")


class RuleOut(BaseModel):
    id: int
    group: str
    role: str
    team: str | None


class DeviceStart(BaseModel):
    """Where the person approves this sign-in, and the code to enter there."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    interval: int = 5
    expires_in: int
    device_code: str = Field(description="Poll .../device/token with it; keep it to yourself.")


class DevicePoll(_Strict):
    device_code: str = Field(min_length=1, max_length=1_000)


class DeviceToken(BaseModel):
    state: Literal["pending", "signed_in"]
    interval: int | None = Field(
        default=None, description="While pending: seconds to wait before asking again."
    )
    token: str | None = Field(default=None, description="Once signed in: a new API token, shown once.")
    email: str | None = None
    role: str | None = None

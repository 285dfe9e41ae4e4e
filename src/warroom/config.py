"""Settings from the environment (prefix WARROOM_), with a secret key generated on first run."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")
SUPPORTED_DATABASES = ("sqlite:", "sqlite+aiosqlite:", "postgresql:", "postgresql+psycopg:")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where the SQLite file and secret live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default: SQLite under data_dir.")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    base_url: str = Field(default="", description="Public URL used in links; default http://host:port.")
    secret_key: SecretStr | None = None
    procedure: Path | None = Field(default=None, description="procedure.yaml; default: the shipped one.")
    log_level: str = "info"
    admin_email: str = "admin@warroom.local"
    max_body_bytes: int = 5 * 1_048_576
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "warroom@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    notify_timeout_seconds: float = 15.0
    raw_event_retention_days: int = Field(
        default=30, ge=0, le=3650, description="Raw intake requests kept this long (0: forever); alerts stay."
    )
    recent_changes_hours: float = Field(
        default=4.0,
        gt=0,
        le=24 * 30,
        description="How long before an incident's impact a change is 'recent'.",
    )
    status_page_name: str = Field(
        default="Service status", max_length=200, description="The public page's name."
    )
    status_page_time_zone: str = Field(default="Etc/UTC", description="IANA zone of the public page's times.")
    job_lease_seconds: float = Field(
        default=120.0, gt=0, description="A dead worker's jobs return after this."
    )
    queue_per_minute: dict[str, int] = Field(
        default_factory=dict,
        description='Jobs a minute per queue and worker process, over the defaults: {"notify.apprise": 60}.',
    )
    # Chat war rooms (warroom.chat). Nothing is staged for a tool that is not configured.
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channel_template: str = Field(
        default="inc-{number}-{slug}", description="Fields: {number}, {slug} (of the title), {severity}."
    )
    slack_broadcast_channel: str | None = Field(
        default=None, description="A channel id for stakeholders: no internal notes or roles there."
    )
    slack_capture_reaction: str = Field(default=":pushpin:", description="Marks a message for the timeline.")
    teams_webhook_url: SecretStr | None = None
    teams_internal: bool = Field(default=False, description="The Teams channel may see internal notes.")
    mattermost_webhook_url: SecretStr | None = None
    mattermost_internal: bool = False
    mattermost_command_token: SecretStr | None = None
    mattermost_api_url: str | None = Field(default=None, description="Looks up who sent a command.")
    mattermost_bot_token: SecretStr | None = None
    chat_timeout_seconds: float = Field(default=10.0, gt=0, description="How long one chat call may take.")
    # Jira (warroom.tracker): Cloud with an account email and API token (REST v3), Data Center with a
    # personal access token (REST v2). Nothing is staged while jira_url is unset.
    jira_url: str | None = Field(default=None, description="https://yours.atlassian.net or the DC base URL.")
    jira_email: str | None = Field(default=None, description="Cloud: the account the API token belongs to.")
    jira_token: SecretStr | None = None
    jira_api_version: Literal["2", "3"] | None = Field(
        default=None, description="Default: 3 on *.atlassian.net (Cloud), else 2 (Data Center)."
    )
    # HubSpot (warroom.crm): a private app's access token (scopes tickets, crm.objects.companies.read,
    # crm.objects.contacts.read) and the app's client secret for its webhook.
    hubspot_token: SecretStr | None = None
    hubspot_client_secret: SecretStr | None = Field(
        default=None, description="Checks X-HubSpot-Signature-v3; unset, /hooks/hubspot refuses."
    )
    hubspot_api_url: str = Field(default="https://api.hubapi.com", description="A fake's URL in tests.")
    hubspot_company_properties: list[str] = Field(
        default_factory=lambda: ["plan", "annualrevenue", "tier"],
        description="The company properties shown with an incident's customers.",
    )
    hubspot_value_property: str = Field(
        default="annualrevenue", description="The company property summed as the customers' value."
    )
    hubspot_status_property: str | None = Field(
        default="warroom_status", description="A ticket property warroom writes the incident's status to."
    )
    hubspot_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    jira_timeout_seconds: float = Field(
        default=20.0, gt=0, le=300, description="How long one Jira call may take."
    )
    jira_webhook_secret: SecretStr | None = Field(
        default=None,
        description="The secret of the Jira webhook (X-Hub-Signature); unset, /hooks/jira refuses.",
    )
    # Web sign-in sessions (warroom.auth.sessions) and the proxies whose forwarded headers count.
    session_idle_minutes: int = Field(
        default=720, ge=1, le=525_600, description="A session unused this long ends (12 h)."
    )
    session_max_hours: int = Field(
        default=168, ge=1, le=87_600, description="A session ends this long after sign-in, used or not (7 d)."
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma list of addresses/CIDRs whose X-Forwarded-Proto/For are honoured; default none.",
    )
    # Audit checkpoints (warroom.incidents.checkpoints): the key must never be stored in the database.
    audit_key: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key that signs the audit checkpoints."
    )
    audit_checkpoints: Path | None = Field(default=None, description="JSON lines file of signed checkpoints.")
    audit_checkpoint_seconds: float = Field(default=300.0, gt=0, description="How often heads are compared.")
    audit_witness_url: SecretStr | None = Field(default=None, description="Receives each checkpoint too.")
    # Evidence files (warroom.evidence): content-addressed under this directory, never served inline.
    evidence_dir: Path | None = Field(
        default=None, description="Where evidence files live; default data_dir/evidence."
    )
    evidence_max_mb: int = Field(
        default=100, ge=1, le=100_000, description="The largest evidence upload, in MiB."
    )
    # Playbook actions (warroom.actions): the shared secret the organisation's automation checks each call by.
    action_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key signing playbook action calls; unset: actions cannot run."
    )
    # Identity (warroom.identity): single sign-on, local passwords, SCIM provisioning.
    local_passwords: Literal["on", "break_glass_only"] = Field(
        default="on", description="break_glass_only: only break-glass admins sign in with a password."
    )
    oidc_issuer: str | None = Field(default=None, description="An OpenID provider's issuer URL (discovery).")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_name: str = Field(default="single sign-on", max_length=200, description="Shown on the sign-in page.")
    oidc_slug: str = Field(default="oidc", pattern=r"^[a-z][a-z0-9-]{0,63}$", description="In its URLs.")
    oidc_scopes: str = "openid email profile groups"
    oidc_email_claim: str = "email"
    oidc_name_claim: str = "name"
    oidc_groups_claim: str = "groups"
    scim_token: SecretStr | None = Field(
        default=None, description="The bearer token the identity provider sends to /scim/v2; unset: off."
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if value and not value.startswith(SUPPORTED_DATABASES):
            raise ValueError(f"use a sqlite:/// or postgresql:// URL, not {value.split(':', 1)[0]!r}")
        return value

    @field_validator("queue_per_minute")
    @classmethod
    def _positive_rates(cls, value: dict[str, int]) -> dict[str, int]:
        # The queue names are checked against the worker's table where it is built (warroom.wiring).
        for queue, per_minute in value.items():
            if per_minute < 1:
                raise ValueError(f"{queue}: at least 1 a minute, not {per_minute}")
        return value

    @field_validator("status_page_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from None
        return value

    @field_validator("slack_channel_template")
    @classmethod
    def _known_channel_fields(cls, value: str) -> str:
        try:
            value.format(number=1, slug="x", severity="P1")
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"use only {{number}}, {{slug}} and {{severity}} ({error})") from None
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for item in _comma_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies as addresses and networks (`10.0.0.0/8`), none by default."""
        return _comma_list(self.trusted_proxies)

    @field_validator("audit_key")
    @classmethod
    def _long_audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("use at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'warroom.db').as_posix()}"

    def resolved_evidence_dir(self) -> Path:
        return self.evidence_dir or self.data_dir / "evidence"

    def resolved_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_secret_key(self) -> SecretStr:
        """Return the configured key, else the one stored under data_dir, created on first use.

        Several processes may start together on a fresh data dir: the key is written to a private temporary
        file and linked into place, so exactly one wins and everyone reads the winner's key back.
        """
        if self.secret_key is not None:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = self.data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        key = path.read_text().strip()
        if not key:
            raise ValueError(f"{path} is empty; remove it to have a new key generated")
        self.secret_key = SecretStr(key)
        return self.secret_key


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]

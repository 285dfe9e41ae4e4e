"""One check per configured integration, each without side effects: nothing is posted, sent or created.
Each answers a Finding: ok, warn (works, but something is off) or fail, what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Literal

import apprise
import httpx
from jira import JIRA
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.chat import slack
from warroom.config import Settings
from warroom.crm import client as hubspot
from warroom.intel.models import Feed
from warroom.jobs.domain import RetryLater
from warroom.notify.models import ContactMethod
from warroom.tracker import client as jira
from warroom.tracker.models import JiraRule

Status = Literal["ok", "warn", "fail"]
# The bot token scopes the README asks for (section "Chat war rooms").
SLACK_SCOPES = (
    "channels:manage", "channels:read", "channels:history", "chat:write", "users:read", "users:read.email",
    "pins:read", "reactions:read", "commands",
)  # fmt: skip
JIRA_PERMISSIONS = ("BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "ADD_COMMENTS", "TRANSITION_ISSUES")
TIMEOUT = 8.0


@dataclass(frozen=True)
class Finding:
    check: str  # e.g. "slack", "jira:OPS", "apprise:12"
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def check_slack(settings: Settings) -> list[Finding]:
    if settings.slack_bot_token is None:
        return []
    try:
        response = await slack.client(settings).auth_test()
    except SlackApiError as error:
        code = error.response.data.get("error") if isinstance(error.response.data, dict) else None
        why = f"Slack refused the bot token ({code or error.response.status_code})"
        return [
            Finding(
                "slack", "fail", why, "Reinstall the Slack app; set WARROOM_SLACK_BOT_TOKEN to its token."
            )
        ]
    except (httpx.HTTPError, OSError, TimeoutError) as error:
        why = f"Slack unreachable: {type(error).__name__}"
        return [Finding("slack", "fail", why, "Check WARROOM_SLACK_API_URL and this host's outbound access.")]
    granted = {s.strip() for s in str(response.headers.get("x-oauth-scopes", "")).split(",") if s.strip()}
    missing = [s for s in SLACK_SCOPES if s not in granted]
    team = response.data.get("team", "?") if isinstance(response.data, dict) else "?"
    if missing:
        why = f"the bot token for {team} lacks {', '.join(missing)}"
        return [
            Finding("slack", "fail", why, "Add those bot token scopes to the Slack app and reinstall it.")
        ]
    return [Finding("slack", "ok", f"signed in to {team} with every scope warroom uses")]


async def _reachable(name: str, url: str, fix: str) -> Finding:
    """Any HTTP answer to a HEAD counts: an incoming webhook cannot be tried without posting to it."""
    host = httpx.URL(url).host
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            answer = await client.head(url)
    except httpx.HTTPError as error:
        return Finding(name, "fail", f"{host} unreachable: {type(error).__name__}", fix)
    if answer.status_code in (401, 403, 404, 410):
        return Finding(name, "fail", f"{host} answered {answer.status_code}: the URL is gone", fix)
    return Finding(name, "ok", f"{host} answers (posting is not tried)")


async def check_chat_webhooks(settings: Settings) -> list[Finding]:
    found = []
    urls = (("teams", settings.teams_webhook_url), ("mattermost", settings.mattermost_webhook_url))
    for name, secret in urls:
        if secret is not None:
            fix = f"Create a new incoming webhook and set WARROOM_{name.upper()}_WEBHOOK_URL."
            found.append(await _reachable(name, secret.get_secret_value(), fix))
    return found


def _smtp_login(settings: Settings) -> str:
    """Connect, EHLO, STARTTLS if asked, log in if a user is set: no mail is sent."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as server:
        server.ehlo()
        if settings.smtp_starttls:
            server.starttls(context=ssl.create_default_context())
            server.ehlo()
        if settings.smtp_username and settings.smtp_password is not None:
            server.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            return "logged in"
        return "connected"


async def check_smtp(session: AsyncSession, settings: Settings) -> list[Finding]:
    used = await session.scalar(select(ContactMethod.id).where(ContactMethod.kind == "email").limit(1))
    if used is None:
        return []
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        outcome = await asyncio.to_thread(_smtp_login, settings)
    except smtplib.SMTPAuthenticationError:
        fix = "Check WARROOM_SMTP_USERNAME and WARROOM_SMTP_PASSWORD."
        return [Finding("smtp", "fail", f"{where} refused the login", fix)]
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        fix = "Check WARROOM_SMTP_HOST, _PORT and _STARTTLS, and that the server is up."
        return [Finding("smtp", "fail", f"{where}: {type(error).__name__} {error}"[:300], fix)]
    return [Finding("smtp", "ok", f"{where} {outcome} (no mail sent)")]


async def check_contact_methods(session: AsyncSession) -> list[Finding]:
    """Apprise URLs that Apprise cannot use, and webhook hosts that do not answer."""
    found = []
    query = select(ContactMethod).where(ContactMethod.kind.in_(("apprise", "webhook")))
    methods = await session.scalars(query.order_by(ContactMethod.id))
    for method in methods:
        name = f"{method.kind}:{method.id}"
        fix = f"Edit contact method {method.id} ({method.label}) of user {method.user_id}."
        if method.kind == "apprise":
            usable = apprise.Apprise.instantiate(method.address, suppress_exceptions=True) is not None
            if not usable:
                found.append(Finding(name, "fail", "Apprise cannot use this URL", fix))
        else:
            found.append(await _reachable(name, method.address, fix))
    return found


def _jira_findings(client: JIRA, projects: list[str]) -> list[Finding]:
    me = jira.call(client.myself)
    found = [Finding("jira", "ok", f"signed in as {me.get('displayName') or me.get('emailAddress')}")]
    wanted = ",".join(JIRA_PERMISSIONS)
    for key in projects:
        granted = jira.call(partial(client.my_permissions, projectKey=key, permissions=wanted))
        held = granted.get("permissions", {})
        missing = [p for p in JIRA_PERMISSIONS if not held.get(p, {}).get("havePermission")]
        if missing:
            fix = f"Grant the account those permissions in {key}'s permission scheme."
            found.append(Finding(f"jira:{key}", "fail", f"project {key}: missing {', '.join(missing)}", fix))
        else:
            found.append(Finding(f"jira:{key}", "ok", f"project {key}: create, edit, comment, transition"))
    return found


async def check_jira(session: AsyncSession, settings: Settings) -> list[Finding]:
    config = jira.JiraConfig.of(settings)
    if config is None:
        return []
    projects = sorted(set(await session.scalars(select(JiraRule.project))))
    try:
        return await asyncio.to_thread(lambda: _jira_findings(jira.connect(config), projects))
    except jira.JiraCallFailed as error:
        fix = "Check WARROOM_JIRA_URL and WARROOM_JIRA_TOKEN (with WARROOM_JIRA_EMAIL on Cloud)."
        return [Finding("jira", "fail", str(error), fix)]
    except RetryLater as error:  # a 429: try again later
        return [Finding("jira", "warn", f"Jira could not be checked now: {error}"[:300])]


async def check_hubspot(settings: Settings) -> list[Finding]:
    if settings.hubspot_token is None:
        return []
    fix = "Check WARROOM_HUBSPOT_TOKEN: a private app token with the tickets, companies and contacts scopes."
    try:
        await asyncio.to_thread(
            lambda: hubspot.can_read_tickets(hubspot.connect(settings), settings.hubspot_timeout_seconds)
        )
    except hubspot.CrmCallFailed as error:
        return [Finding("hubspot", "fail", str(error), fix)]
    except RetryLater as error:
        return [Finding("hubspot", "warn", f"HubSpot could not be checked now: {error}")]
    secret = "" if settings.hubspot_client_secret else "; webhooks off (no WARROOM_HUBSPOT_CLIENT_SECRET)"
    return [Finding("hubspot", "ok" if not secret else "warn", f"the token reads tickets{secret}")]


async def check_feeds(session: AsyncSession) -> list[Finding]:
    """From each feed's own state: polling a feed is its job's business, not the doctor's."""
    found = []
    for feed in await session.scalars(select(Feed).where(Feed.enabled.is_(True)).order_by(Feed.slug)):
        name = f"feed:{feed.slug}"
        if feed.last_error and feed.last_success_at is None:
            fix = f"Check the feed's URL and options (PATCH /api/v1/intel/feeds/{feed.slug})."
            found.append(Finding(name, "fail", f"never polled successfully: {feed.last_error}"[:300], fix))
        elif feed.last_error:
            found.append(Finding(name, "warn", f"last poll: {feed.last_error}"[:300]))
        else:
            found.append(Finding(name, "ok", f"last success {feed.last_success_at or 'pending'}"))
    return found


Check = Callable[[AsyncSession, Settings], Awaitable[list[Finding]]]

"""The calls warroom makes to Jira, through the `jira` package (synchronous: the jobs run them in a
thread). Its own retrying is off: a 429 becomes RetryLater(Retry-After) and anything else JiraCallFailed,
which the job system retries with backoff and shows as the job's error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import requests
from jira import JIRA, JIRAError

from warroom.config import Settings
from warroom.jobs.domain import RetryLater

T = TypeVar("T")


class JiraCallFailed(RuntimeError):
    """Jira said no, or could not be reached; the message says which and why."""


class JiraNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class JiraConfig:
    url: str
    email: str | None
    token: str
    api_version: str
    timeout: float = 20.0

    @classmethod
    def of(cls, settings: Settings) -> JiraConfig | None:
        if not settings.jira_url or settings.jira_token is None:
            return None
        version = settings.jira_api_version or ("3" if ".atlassian.net" in settings.jira_url else "2")
        token = settings.jira_token.get_secret_value()
        url = settings.jira_url.rstrip("/")
        return cls(url, settings.jira_email, token, version, settings.jira_timeout_seconds)


def connect(config: JiraConfig) -> JIRA:
    """Cloud: the account's email and an API token (basic auth); Data Center: a personal access token."""
    auth: dict[str, Any] = (
        {"basic_auth": (config.email, config.token)} if config.email else {"token_auth": config.token}
    )
    return call(
        lambda: JIRA(
            server=config.url,
            options={"rest_api_version": config.api_version},
            max_retries=0,
            timeout=config.timeout,
            **auth,
        )
    )


def _retry_after(error: JIRAError) -> float | None:
    if error.status_code != 429:
        return None
    header = error.response.headers.get("retry-after") if error.response is not None else None
    try:
        return float(header) if header else 30.0
    except ValueError:
        return 30.0


def call(action: Callable[[], T]) -> T:
    """One Jira call with its failures said plainly."""
    try:
        return action()
    except JIRAError as error:
        wait = _retry_after(error)
        if wait is not None:
            raise RetryLater(wait, "Jira rate limit (429)") from None
        text = " ".join(str(error.text or "").split())[:300]
        raise JiraCallFailed(f"Jira answered {error.status_code}: {text}") from None
    except requests.RequestException as error:
        raise JiraCallFailed(f"Jira unreachable: {type(error).__name__}") from None


def create_issue(client: JIRA, fields: dict[str, Any]) -> tuple[str, str]:
    """Make the issue; answers its key and its browse URL."""
    issue = call(lambda: client.create_issue(fields=fields, prefetch=False))
    return str(issue.key), f"{client.server_url}/browse/{issue.key}"


def find_labelled(client: JIRA, project: str, label: str) -> tuple[str, str] | None:
    """The key and browse URL of an issue of `project` carrying `label`, if there is one."""
    jql = f'project = "{project}" AND labels = "{label}"'
    found = call(lambda: client.search_issues(jql, maxResults=1, fields="key", json_result=True))
    issues = found.get("issues") or []
    if not issues:
        return None
    key = str(issues[0]["key"])
    return key, f"{client.server_url}/browse/{key}"


def create_once(client: JIRA, fields: dict[str, Any], label: str) -> tuple[str, str]:
    """create_issue, unless an earlier attempt already made the issue labelled `label`: then that one."""
    found = find_labelled(client, str(fields["project"]["key"]), label)
    return found or create_issue(client, {**fields, "labels": [*fields.get("labels", []), label]})


def update_issue(client: JIRA, key: str, fields: dict[str, Any]) -> None:
    issue = call(lambda: client.issue(key, fields="summary,priority,status"))
    call(lambda: issue.update(fields=fields, notify=False))


def comment(client: JIRA, key: str, body: str | dict[str, Any]) -> None:
    # On REST v3 the body is an ADF document: the package passes it through as given.
    call(lambda: client.add_comment(key, cast(str, body)))


def move_to_status(client: JIRA, key: str, status: str) -> bool:
    """Take the transition that leads to `status`, if the workflow offers one from where the issue is."""
    offered = call(lambda: client.transitions(key))
    chosen = next(
        (t for t in offered if str(t.get("to", {}).get("name", "")).lower() == status.lower()), None
    )
    if chosen is None:
        return False
    call(lambda: client.transition_issue(key, str(chosen["id"])))
    return True


def account_for(client: JIRA, email: str, cloud: bool) -> dict[str, str] | None:
    """The assignee field for a person, found by email (Cloud: `query`, accountId; Data Center:
    `username`, name)."""
    found = call(
        lambda: (
            client.search_users(query=email, maxResults=5)
            if cloud
            else client.search_users(user=email, maxResults=5)
        )
    )
    for user in found:
        raw = user.raw
        if str(raw.get("emailAddress", "")).lower() == email.lower() or len(found) == 1:
            return {"accountId": raw["accountId"]} if "accountId" in raw else {"name": str(raw.get("name"))}
    return None

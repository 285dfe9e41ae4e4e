"""The Jira jobs (queue `tracker.jira`): each reads what warroom holds now, makes its calls in a thread,
and records what Jira answered. A failure is the job's error, retried with backoff; a 429 waits for its
Retry-After. Jira being down holds up only this queue."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.config import Settings
from warroom.incidents.collaboration import add_link
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.jobs.kinds import JobRun
from warroom.reviews.models import ActionItem
from warroom.tracker import client as jira
from warroom.tracker.domain import attempt_label, document, priority_for
from warroom.tracker.models import JiraIssue, JiraRule


def _config(settings: Settings) -> jira.JiraConfig:
    config = jira.JiraConfig.of(settings)
    if config is None:
        raise jira.JiraCallFailed("Jira is not configured (WARROOM_JIRA_URL and WARROOM_JIRA_TOKEN)")
    return config


async def _loaded(session: AsyncSession, issue_id: int) -> tuple[JiraIssue, Incident, JiraRule | None]:
    issue = await session.get(JiraIssue, issue_id)
    incident = await session.get(Incident, issue.incident_id) if issue is not None else None
    if issue is None or incident is None:
        raise jira.JiraCallFailed(f"Jira issue record {issue_id} is gone")
    rule = await session.get(JiraRule, issue.rule_id) if issue.rule_id is not None else None
    return issue, incident, rule


async def locked(session: AsyncSession, incident_id: int) -> Incident:
    """The incident row locked and read afresh, as every timeline writer takes it (after any network call)."""
    query = (
        select(Incident)
        .where(Incident.id == incident_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = await session.scalar(query)
    if found is None:
        raise jira.JiraCallFailed(f"incident {incident_id} is gone")
    return found


def _incident_fields(incident: Incident, rule: JiraRule | None) -> dict[str, Any]:
    """What warroom keeps in step: the summary and the priority."""
    fields: dict[str, Any] = {"summary": f"{incident_ref(incident.id)}: {incident.title}"[:250]}
    priority = priority_for(incident.severity, rule.priorities if rule else {})
    if priority:
        fields["priority"] = {"name": priority}
    return fields


async def create_issue(run: JobRun, payload: dict[str, Any]) -> None:
    issue, incident, rule = await _loaded(run.session, int(payload["issue_id"]))
    if issue.key is not None:
        return  # made by an earlier attempt whose outcome was recorded
    config = _config(run.context.settings)
    link = f"{run.context.settings.resolved_base_url()}/incidents/{incident_ref(incident.id)}"
    impact = f"Customer impact: {incident.customer_impact}" if incident.customer_impact else ""
    lines = [f"Severity {incident.severity}, {incident.type}.", incident.summary, impact, f"War room: {link}"]
    description = document(config.api_version, lines)
    fields = {
        "project": {"key": issue.project},
        "issuetype": {"name": rule.issue_type if rule else "Task"},
        "description": description,
        "labels": list(rule.labels) if rule else [],
        "components": [{"name": c} for c in (rule.components if rule else [])],
        **_incident_fields(incident, rule),
    }
    label = attempt_label(run.context.settings.resolved_base_url(), issue.id)
    key, url = await asyncio.to_thread(lambda: jira.create_once(jira.connect(config), fields, label))
    issue.key, issue.url, issue.fields = key, url, _incident_fields(incident, rule)
    incident = await locked(run.session, incident.id)  # its timeline grows: read its head under a lock
    await add_link(
        session=run.session, incident=incident, title=f"Jira {key}", url=url, actor="jira", now=run.now
    )


def _wanted_status(incident: Incident, rule: JiraRule | None) -> str | None:
    """The Jira status the rule maps the incident's phase to, if any."""
    return next(
        (status for status, phase in (rule.statuses if rule else {}).items() if phase == incident.phase), None
    )


async def update_issue(run: JobRun, payload: dict[str, Any]) -> None:
    issue, incident, rule = await _loaded(run.session, int(payload["issue_id"]))
    if issue.key is None:
        raise jira.JiraCallFailed("the issue is not made yet")
    key, config = issue.key, _config(run.context.settings)
    wanted = _incident_fields(incident, rule)
    changed = {name: value for name, value in wanted.items() if issue.fields.get(name) != value}
    status = _wanted_status(incident, rule)
    move = status if status and (issue.status or "").lower() != status.lower() else None

    def work() -> bool:
        client = jira.connect(config)
        if changed:
            jira.update_issue(client, key, changed)
        return jira.move_to_status(client, key, move) if move else False

    if await asyncio.to_thread(work):
        issue.status = move
    issue.fields = wanted


async def comment(run: JobRun, payload: dict[str, Any]) -> None:
    issue, _incident, _rule = await _loaded(run.session, int(payload["issue_id"]))
    if issue.key is None:
        raise jira.JiraCallFailed("the issue is not made yet")
    key, config = issue.key, _config(run.context.settings)
    body = document(config.api_version, str(payload["text"]).split("\n"))
    await asyncio.to_thread(lambda: jira.comment(jira.connect(config), key, body))


async def action_item_issue(run: JobRun, payload: dict[str, Any]) -> None:
    """A review action item as an issue in its incident's project: assignee by email, due date."""
    issue, incident, rule = await _loaded(run.session, int(payload["issue_id"]))
    item = await run.session.get(ActionItem, issue.action_item_id or 0)
    if issue.key is not None or item is None:
        return
    config = _config(run.context.settings)
    owner = await run.session.get(User, item.owner_id) if item.owner_id else None
    link = f"{run.context.settings.resolved_base_url()}/incidents/{incident_ref(incident.id)}/review"
    fields: dict[str, Any] = {
        "project": {"key": issue.project},
        "issuetype": {"name": rule.issue_type if rule else "Task"},
        "summary": item.title[:250],
        "description": document(
            config.api_version,
            [f"Follow-up ({item.type}) from the review of {incident_ref(incident.id)}: {link}"],
        ),
        "labels": ["warroom-action-item"],
        **({"duedate": item.due_on.isoformat()} if item.due_on else {}),
    }

    label = attempt_label(run.context.settings.resolved_base_url(), issue.id)

    def work() -> tuple[str, str]:
        client = jira.connect(config)
        if owner is not None:
            assignee = jira.account_for(client, owner.email, cloud=config.api_version == "3")
            if assignee is not None:
                fields["assignee"] = assignee
        return jira.create_once(client, fields, label)

    issue.key, issue.url = await asyncio.to_thread(work)
    item.tracker_url = issue.url

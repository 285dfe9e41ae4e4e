"""What a Jira webhook delivery does in warroom. A change made by someone who is an active responder or
admin here (matched by email) is applied as them, under the procedure's rules: a status the rule maps to a
phase moves the incident, a priority maps back to a severity, a new summary becomes the title. Anything
else (an unknown person, an unmapped status, a move the procedure refuses) is noted on the timeline, so
the war room still sees it. A review action item's issue reaching Jira's `done` category marks it done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.context import AppContext
from warroom.errors import DomainError
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentPatch
from warroom.incidents.service import move_phase, update_incident
from warroom.reviews.models import ActionItem
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record
from warroom.tracker.domain import Change, changes, severity_for, status_done
from warroom.tracker.models import JiraIssue, JiraRule

ACTING_ROLES = ("admin", "responder")


async def _acting_user(session: AsyncSession, payload: dict[str, Any]) -> User | None:
    email = str((payload.get("user") or {}).get("emailAddress") or "").strip().lower()
    if not email:
        return None
    return await session.scalar(
        select(User).where(
            func.lower(User.email) == email, User.is_active.is_(True), User.role.in_(ACTING_ROLES)
        )
    )


async def _apply(
    context: AppContext, session: AsyncSession, incident: Incident, rule: JiraRule | None, change: Change,
    actor: User, now: datetime,
) -> bool:  # fmt: skip
    """Apply one change as `actor`; False when it maps to nothing warroom would do."""
    reason = f"changed in Jira {incident_ref(incident.id)}"
    if change.field == "status":
        phase = (rule.statuses if rule else {}).get(change.new)
        if phase is None:
            return False
        if phase != incident.phase:
            await move_phase(
                session=session, loaded=context.procedure, actor=actor, incident=incident, target=phase,
                reason=f"Jira status {change.new}", now=now, review_published=context.review_published,
            )  # fmt: skip
        return True
    if change.field == "priority":
        severity = severity_for(change.new, rule.priorities if rule else {})
        if severity is None:
            return False
        patch = (
            IncidentPatch(severity=severity, severity_reason=reason)
            if severity != incident.severity
            else None
        )
    else:
        title = (
            change.new.split(": ", 1)[1]
            if change.new.startswith(f"{incident_ref(incident.id)}: ")
            else change.new
        )
        patch = IncidentPatch(title=title[:300]) if title.strip() and title != incident.title else None
    if patch is not None:
        await update_incident(
            session=session, loaded=context.procedure, actor=actor, incident=incident, patch=patch, now=now
        )
    return True


async def _incident_changes(
    context: AppContext, session: AsyncSession, issue: JiraIssue, payload: dict[str, Any], now: datetime
) -> None:
    query = select(Incident).where(Incident.id == issue.incident_id).with_for_update()
    incident = await session.scalar(query)  # every timeline writer takes the incident's row lock
    if incident is None:
        return
    rule = await session.get(JiraRule, issue.rule_id) if issue.rule_id is not None else None
    actor = await _acting_user(session, payload)
    who = str((payload.get("user") or {}).get("displayName") or "someone")[:100]
    for change in changes(payload):
        if change.field == "status":
            issue.status = change.new
        why = "" if actor else f" (not applied: {who} is not a responder here)"
        try:
            applied = actor is not None and await _apply(context, session, incident, rule, change, actor, now)
        except DomainError as refused:
            applied, why = False, f" (not applied: {refused})"
        if not applied:
            body = (
                f"Jira {issue.key}: {who} changed {change.field} from {change.old!r} to {change.new!r}{why}"
            )
            await record(session, incident, f"jira:{who}", EventKind.note, now, body=body[:2000])


async def _action_item_state(
    session: AsyncSession, issue: JiraIssue, payload: dict[str, Any], now: datetime
) -> None:
    item = await session.get(ActionItem, issue.action_item_id or 0)
    if item is None:
        return
    done = status_done(payload)
    if done and item.status != "done":
        item.status, item.done_at, item.updated_at = "done", now, now
    elif not done and item.status == "done":
        item.status, item.done_at, item.updated_at = "open", None, now


async def take_delivery(
    context: AppContext, session: AsyncSession, payload: dict[str, Any], now: datetime
) -> str:
    """Apply a verified delivery; answers what it did, for the sender's log."""
    if payload.get("webhookEvent") != "jira:issue_updated":
        return "ignored: not an issue update"
    key = str((payload.get("issue") or {}).get("key") or "")
    issue = await session.scalar(select(JiraIssue).where(JiraIssue.key == key)) if key else None
    if issue is None:
        return "ignored: not an issue warroom made"
    if issue.action_item_id is not None:
        await _action_item_state(session, issue, payload, now)
        return "action item updated"
    await _incident_changes(context, session, issue, payload, now)
    return "incident updated"

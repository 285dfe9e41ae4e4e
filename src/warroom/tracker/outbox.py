"""The timeline observer that stages Jira work in the transaction of the event that causes it: a
declaration under a rule makes an issue; later title, severity and phase changes update it; phase changes,
stakeholder updates and resolution become comments. Nothing is staged while Jira is not configured, for
drills, or for an incident restricted after its issue went to an open project (no title leaks there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.config import Settings
from warroom.incidents.models import Incident, IncidentService
from warroom.jobs.service import JobSpec, stage
from warroom.procedure.loader import LoadedProcedure
from warroom.reviews.actions import OPEN_STATUSES
from warroom.reviews.models import ActionItem
from warroom.timeline.describe import chat_line, names_of
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.tracker.domain import choose_rule
from warroom.tracker.models import JiraIssue, JiraRule

QUEUE = "tracker.jira"
CREATE_KIND, UPDATE_KIND, COMMENT_KIND, ACTION_ITEM_KIND = (
    "jira.create_issue",
    "jira.update_issue",
    "jira.comment",
    "jira.action_item",
)
UPDATING = frozenset({EventKind.updated, EventKind.severity_changed, EventKind.phase_changed})
COMMENTED = frozenset({EventKind.phase_changed, EventKind.stakeholder_update, EventKind.resolved})
ATTEMPTS = 8


def subject_of(incident_id: int) -> str:
    return f"incident:{incident_id}"


async def stage_call(session: AsyncSession, kind: str, payload: dict[str, object], now: datetime) -> None:
    spec = JobSpec(kind, payload, queue=QUEUE, max_attempts=ATTEMPTS)
    await stage(session=session, spec=spec, now=now)


async def _open_issue(session: AsyncSession, incident: Incident, now: datetime) -> None:
    rules = list(await session.scalars(select(JiraRule)))
    services = set(
        await session.scalars(
            select(IncidentService.service_id).where(IncidentService.incident_id == incident.id)
        )
    )
    rule = choose_rule(
        rules, service_ids=services, incident_type=incident.type, restricted=incident.restricted
    )
    if rule is None:
        return
    issue = JiraIssue(
        subject=subject_of(incident.id), incident_id=incident.id, rule_id=rule.id, project=rule.project,
        restricted_project=rule.restricted, fields={}, created_at=now,
    )  # fmt: skip
    session.add(issue)
    await session.flush()
    await stage_call(session, CREATE_KIND, {"issue_id": issue.id}, now)


@dataclass(frozen=True)
class JiraOutbox:
    """Registered by warroom.wiring; reads the settings when an event lands (they may change at run time)."""

    settings: Settings
    loaded: LoadedProcedure

    async def __call__(self, session: AsyncSession, incident: Incident, added: TimelineEvent) -> None:
        if not self.settings.jira_url or incident.drill:
            return
        if added.kind == EventKind.declared:
            await _open_issue(session, incident, added.at)
            return
        if added.kind not in UPDATING | COMMENTED:
            return
        issue = await session.scalar(select(JiraIssue).where(JiraIssue.subject == subject_of(incident.id)))
        if issue is None or (incident.restricted and not issue.restricted_project):
            return
        if added.kind in UPDATING:
            await stage_call(session, UPDATE_KIND, {"issue_id": issue.id}, added.at)
        if added.kind in COMMENTED:
            text = chat_line(added, names_of(self.loaded.procedure))
            await stage_call(session, COMMENT_KIND, {"issue_id": issue.id, "text": text[:30_000]}, added.at)


async def stage_action_items(session: AsyncSession, now: datetime) -> int:
    """An issue for each open review action item whose incident has a Jira issue (in the same project),
    once; answers how many were staged. Action items are not timeline events, so a periodic check finds
    them rather than an observer."""
    made = select(JiraIssue.action_item_id).where(JiraIssue.action_item_id.is_not(None))
    found = await session.execute(
        select(ActionItem, JiraIssue)
        .join(
            JiraIssue, (JiraIssue.incident_id == ActionItem.incident_id) & JiraIssue.action_item_id.is_(None)
        )
        .join(Incident, Incident.id == ActionItem.incident_id)
        .where(
            ActionItem.status.in_(OPEN_STATUSES),
            ActionItem.tracker_url.is_(None),
            ActionItem.id.not_in(made),
            JiraIssue.key.is_not(None),
            (Incident.restricted.is_(False)) | JiraIssue.restricted_project.is_(True),
        )
        .limit(200)
    )
    count = 0
    for item, parent in found:
        issue = JiraIssue(
            subject=f"action_item:{item.id}", incident_id=item.incident_id, action_item_id=item.id,
            rule_id=parent.rule_id, project=parent.project, restricted_project=parent.restricted_project,
            fields={}, created_at=now,
        )  # fmt: skip
        session.add(issue)
        await session.flush()
        await stage_call(session, ACTION_ITEM_KIND, {"issue_id": issue.id}, now)
        count += 1
    return count

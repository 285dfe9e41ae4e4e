"""Review use cases: draft, edit, curate, review, publish. Every change lands on the incident timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.incident_changes import DEFAULT_WINDOW, recent_changes
from warroom.alerts.models import Alert
from warroom.auth.models import User
from warroom.auth.service import resolve_user
from warroom.catalog.models import Service
from warroom.errors import NotFound
from warroom.incidents.collaboration import list_tasks
from warroom.incidents.models import Incident, IncidentService
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.schemas import Procedure
from warroom.reviews import domain
from warroom.reviews.models import ActionItem, Review, ReviewReviewer, ReviewTimelineEntry
from warroom.reviews.schemas import CurationPatch, NoteCreate, ReviewPatch
from warroom.timeline.describe import describe_all
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import list_events, record


async def find_review(*, session: AsyncSession, incident_id: int) -> Review | None:
    found: Review | None = await session.scalar(select(Review).where(Review.incident_id == incident_id))
    return found


async def get_review(*, session: AsyncSession, incident: Incident) -> Review:
    review = await find_review(session=session, incident_id=incident.id)
    if review is None:
        raise NotFound(f"INC-{incident.id} has no review yet (POST to draft one)")
    return review


async def services_of(*, session: AsyncSession, incident_id: int) -> list[Service]:
    query = select(Service).join(IncidentService, IncidentService.service_id == Service.id)
    rows = await session.scalars(
        query.where(IncidentService.incident_id == incident_id).order_by(Service.slug)
    )
    return list(rows.all())


async def _detection(session: AsyncSession, incident: Incident) -> str:
    alerts = (await session.scalars(select(Alert.title).where(Alert.incident_id == incident.id))).all()
    found = f"Detected at {incident.detected_at or incident.declared_at:%Y-%m-%d %H:%M} UTC"
    return found + (f" from alert(s): {', '.join(alerts)}." if alerts else ", declared by hand.")


async def _changes_before(session: AsyncSession, incident: Incident, now: datetime) -> list[str]:
    """Recent deploys and config changes to its services: contributing factors to confirm or drop."""
    found = await recent_changes(session=session, incident=incident, window=DEFAULT_WINDOW, now=now)
    return [
        f"Change on {slug} at {change.at:%Y-%m-%d %H:%M} UTC: {change.summary} (recent: confirm or remove)"
        for change, slug in reversed(found)
    ]


async def draft_review(
    *, session: AsyncSession, procedure: Procedure, incident: Incident, actor: User | str, now: datetime
) -> tuple[Review, bool]:
    """The incident's review, drafted from what the incident knows if it has none; (review, drafted now)."""
    existing = await find_review(session=session, incident_id=incident.id)
    if existing is not None:
        return existing, False
    review = Review(
        incident_id=incident.id,
        status="draft",
        template=template.id if (template := procedure.review_template_for(incident.type)) else "standard",
        summary=incident.summary,
        impact=incident.customer_impact,
        detection=await _detection(session, incident),
        five_whys=[],
        contributing_factors=await _changes_before(session, incident, now),
        answers={},
        drafted_at=now,
        updated_at=now,
    )
    session.add(review)
    await session.flush()
    await refresh_impact(session=session, incident=incident, review=review)
    for task in await list_tasks(session=session, incident_id=incident.id):
        if not task.done:
            session.add(_action_from_task(review, incident, task.title, task.assignee_id, now))
    await record(session, incident, actor, EventKind.review_drafted, now)
    await session.flush()
    return review, True


def _action_from_task(
    review: Review, incident: Incident, title: str, owner: int | None, now: datetime
) -> ActionItem:
    return ActionItem(
        review_id=review.id, incident_id=incident.id, title=title, type="other", owner_id=owner,
        status="open", created_at=now, updated_at=now,
    )  # fmt: skip


async def refresh_impact(*, session: AsyncSession, incident: Incident, review: Review) -> None:
    """Impact minutes and cost follow the incident's milestones and service costs until publication."""
    review.impact_minutes = domain.impact_minutes(
        impact_started=incident.impact_started_at,
        detected=incident.detected_at,
        mitigated=incident.mitigated_at,
        resolved=incident.resolved_at,
    )
    costs = [s.cost_per_minute for s in await services_of(session=session, incident_id=incident.id)]
    review.cost_estimate = domain.cost_estimate(review.impact_minutes, costs)


def questions(procedure: Procedure, review: Review) -> list[str]:
    """The questions of the template the review was drafted with (none if the procedure dropped it)."""
    found = [t for t in procedure.review_templates if t.id == review.template]
    return list(found[0].questions) if found else []


async def update_review(
    *,
    session: AsyncSession,
    procedure: Procedure,
    incident: Incident,
    review: Review,
    patch: ReviewPatch,
    actor: User,
    now: datetime,
) -> Review:
    domain.check_editable(review.status)
    changes = patch.changes()
    if "answers" in changes:
        changes["answers"] = domain.checked_answers(questions(procedure, review), changes["answers"])
    for name, value in changes.items():
        setattr(review, name, value)
    review.updated_at = now
    await refresh_impact(session=session, incident=incident, review=review)
    await record(session, incident, actor, EventKind.review_edited, now, fields=sorted(changes))
    await session.flush()
    return review


async def reviewer_ids(*, session: AsyncSession, review: Review) -> list[int]:
    query = select(ReviewReviewer.user_id).where(ReviewReviewer.review_id == review.id)
    return list((await session.scalars(query.order_by(ReviewReviewer.id))).all())


async def add_reviewer(
    *, session: AsyncSession, incident: Incident, review: Review, user_ref: str, actor: User, now: datetime
) -> None:
    domain.check_editable(review.status)
    user = await resolve_user(session=session, ref=user_ref)
    if user.id in await reviewer_ids(session=session, review=review):
        return
    session.add(ReviewReviewer(review_id=review.id, user_id=user.id, added_at=now))
    await record(session, incident, actor, EventKind.review_reviewer_added, now, reviewer=user.email)
    await session.flush()


async def change_status(
    *, session: AsyncSession, incident: Incident, review: Review, target: str, actor: User, now: datetime
) -> Review:
    reviewers = await reviewer_ids(session=session, review=review)
    domain.check_status_change(current=review.status, target=target, reviewers=len(reviewers))
    old, review.status, review.updated_at = review.status, target, now
    if target == "published":
        await refresh_impact(session=session, incident=incident, review=review)
        review.published_at, review.published_by_id = now, actor.id
    kind = EventKind.review_published if target == "published" else EventKind.review_status_changed
    await record(session, incident, actor, kind, now, old=old, new=target)
    await session.flush()
    return review


async def curate(
    *, session: AsyncSession, review: Review, seq: int, patch: CurationPatch, actor: User, now: datetime
) -> None:
    """Hide, highlight, annotate or re-time one event of this incident; the event itself never changes."""
    domain.check_editable(review.status)
    events = {e.seq: e.id for e in await list_events(session=session, incident_id=review.incident_id)}
    if seq not in events:
        raise NotFound(f"no timeline event #{seq} on this incident")
    event_id = events[seq]
    query = select(ReviewTimelineEntry).where(
        ReviewTimelineEntry.review_id == review.id, ReviewTimelineEntry.event_id == event_id
    )
    entry = await session.scalar(query)
    if entry is None:
        entry = ReviewTimelineEntry(
            review_id=review.id, event_id=event_id, hidden=False, highlighted=False, note=""
        )
        session.add(entry)
    for name, value in patch.changes().items():
        setattr(entry, name, value)
    entry.author, entry.updated_at = actor.email, now
    await session.flush()


async def add_note(
    *, session: AsyncSession, review: Review, data: NoteCreate, actor: User, now: datetime
) -> None:
    domain.check_editable(review.status)
    session.add(
        ReviewTimelineEntry(
            review_id=review.id,
            event_id=None,
            at=data.at,
            note=data.note,
            highlighted=data.highlighted,
            hidden=False,
            author=actor.email,
            updated_at=now,
        )
    )
    await session.flush()


async def curated_timeline(
    *, session: AsyncSession, procedure: Procedure, review: Review, include_hidden: bool
) -> list[domain.TimelineLine]:
    events = await list_events(session=session, incident_id=review.incident_id)
    views = {e.id: v for e, v in zip(events, describe_all(events, procedure), strict=True)}
    query = select(ReviewTimelineEntry).where(ReviewTimelineEntry.review_id == review.id)
    entries = {e.event_id: e for e in (await session.scalars(query)).all() if e.event_id is not None}
    notes = (await session.scalars(query.where(ReviewTimelineEntry.event_id.is_(None)))).all()
    lines = [
        _event_line(e.seq, e.at, e.kind, e.actor, views[e.id].summary, entries.get(e.id)) for e in events
    ]
    lines += [
        domain.TimelineLine(
            seq=None,
            at=n.at or n.updated_at,
            original_at=None,
            kind="review_note",
            actor=n.author,
            summary=n.note,
            note="",
            highlighted=n.highlighted,
            hidden=n.hidden,
        )
        for n in notes
    ]
    return domain.ordered(lines, include_hidden=include_hidden)


def _event_line(
    seq: int, at: datetime, kind: str, actor: str, summary: str, entry: ReviewTimelineEntry | None
) -> domain.TimelineLine:
    corrected = entry.at if entry is not None else None
    return domain.TimelineLine(
        seq=seq,
        at=corrected or at,
        original_at=at if corrected is not None else None,
        kind=kind,
        actor=actor,
        summary=summary,
        note=entry.note if entry is not None else "",
        highlighted=entry.highlighted if entry is not None else False,
        hidden=entry.hidden if entry is not None else False,
    )


async def is_published(*, session: AsyncSession, incident_id: int) -> bool:
    review = await find_review(session=session, incident_id=incident_id)
    return review is not None and review.status == "published"


async def note_recurrence(*, session: AsyncSession, incident: Incident, added: TimelineEvent) -> None:
    """A recurrence after recovery is a contributing factor for the review to confirm or drop."""
    review = await find_review(session=session, incident_id=incident.id)
    if review is None or review.published_at is not None:
        return
    d = added.data or {}
    line = (
        f"Recurred? Alert #{d.get('alert_id')} on {d.get('service')} at {added.at:%Y-%m-%d %H:%M} UTC, "
        f"{d.get('minutes_after_recovery')} min after recovery: {d.get('title', '')}"
    )
    review.contributing_factors = [*review.contributing_factors, line[:1000]]
    review.updated_at = added.at


@dataclass(frozen=True)
class ReviewDrafter:
    """The timeline observer (registered by warroom.wiring) that drafts an incident's review when it is
    resolved: the `resolved` milestone, recorded on entering a phase whose status is resolved (the review
    phase), after the phase change and its other milestones; and notes a recurrence on it."""

    loaded: LoadedProcedure

    async def __call__(self, session: AsyncSession, incident: Incident, added: TimelineEvent) -> None:
        if added.kind == EventKind.resolved and incident.status == "resolved":
            await draft_review(
                session=session, procedure=self.loaded.procedure, incident=incident, actor=added.actor,
                now=added.at,
            )  # fmt: skip
        elif added.kind == EventKind.recurrence:
            await note_recurrence(session=session, incident=incident, added=added)

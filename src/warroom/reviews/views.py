"""Shape a review for the API and for export (Markdown)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.durations import spoken
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident
from warroom.incidents.service import get_incident
from warroom.incidents.visibility import SYSTEM, Viewer
from warroom.procedure.schemas import Procedure
from warroom.reviews import actions, domain, service
from warroom.reviews.models import ActionItem, Review
from warroom.reviews.schemas import ActionItemOut, ReviewOut


async def emails(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    rows = await session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in rows}


async def action_items_out(
    session: AsyncSession, items: list[ActionItem], today: date
) -> list[ActionItemOut]:
    owners = await emails(session, {i.owner_id for i in items if i.owner_id is not None})
    return [
        ActionItemOut(
            id=i.id,
            incident=incident_ref(i.incident_id),
            title=i.title,
            type=i.type,
            owner=owners.get(i.owner_id) if i.owner_id is not None else None,
            due_on=i.due_on,
            status=i.status,
            tracker_url=i.tracker_url,
            overdue=actions.is_overdue(i, today),
        )
        for i in items
    ]


async def review_out(
    *, session: AsyncSession, procedure: Procedure, incident: Incident, review: Review, today: date
) -> ReviewOut:
    reviewers = await emails(session, set(await service.reviewer_ids(session=session, review=review)))
    items = await actions.list_action_items(
        session=session, viewer=SYSTEM, today=today, incident_id=incident.id
    )  # the caller already checked the incident
    services = await service.services_of(session=session, incident_id=incident.id)
    return ReviewOut(
        incident=incident_ref(incident.id),
        status=review.status,
        template=review.template,
        summary=review.summary,
        impact=review.impact,
        customers_affected=review.customers_affected,
        impact_minutes=review.impact_minutes,
        cost_estimate=review.cost_estimate,
        services=[s.slug for s in services],
        trigger=review.trigger,
        five_whys=list(review.five_whys),
        contributing_factors=list(review.contributing_factors),
        detection=review.detection,
        detection_improvement=review.detection_improvement,
        went_well=review.went_well,
        went_wrong=review.went_wrong,
        got_lucky=review.got_lucky,
        questions=service.questions(procedure, review),
        answers=dict(review.answers),
        reviewers=sorted(reviewers.values()),
        drafted_at=review.drafted_at,
        updated_at=review.updated_at,
        published_at=review.published_at,
        action_items=await action_items_out(session, items, today),
    )


async def review_markdown(
    *, session: AsyncSession, procedure: Procedure, incident: Incident, review: Review, today: date
) -> str:
    shown = await review_out(
        session=session, procedure=procedure, incident=incident, review=review, today=today
    )
    timeline = await service.curated_timeline(
        session=session, procedure=procedure, review=review, include_hidden=False
    )
    cost = "-" if shown.cost_estimate is None else f"{shown.cost_estimate:,.2f} {procedure.currency}"
    facts = [
        ("Incident", f"{shown.incident} {incident.title}"),
        ("Severity", incident.severity),
        ("Status", shown.status),
        ("Affected services", ", ".join(shown.services) or "-"),
        ("Impact duration", "-" if shown.impact_minutes is None else spoken(shown.impact_minutes * 60)),
        ("Customers affected", "-" if shown.customers_affected is None else str(shown.customers_affected)),
        ("Cost estimate", cost),
        ("Reviewers", ", ".join(shown.reviewers) or "-"),
    ]
    sections = [
        ("Summary", shown.summary), ("Impact", shown.impact), ("Trigger", shown.trigger),
        ("Detection", shown.detection), ("How we could detect it sooner", shown.detection_improvement),
        ("What went well", shown.went_well), ("What went wrong", shown.went_wrong),
        ("Where we got lucky", shown.got_lucky),
    ]  # fmt: skip
    sections += [(q, shown.answers.get(q, "")) for q in shown.questions]
    lists = [("Five whys", shown.five_whys), ("Contributing factors", shown.contributing_factors)]
    rows = [
        [a.title, a.type, a.owner or "-", str(a.due_on or "-"), _status(a), a.tracker_url or "-"]
        for a in shown.action_items
    ]
    title = f"Post-incident review: {shown.incident} {incident.title}"
    return domain.markdown(
        title=title, facts=facts, sections=sections, lists=lists, timeline=timeline, actions=rows
    )


def _status(item: ActionItemOut) -> str:
    return item.status + (" (overdue)" if item.overdue else "")


async def exported_markdown(
    *, session: AsyncSession, procedure: Procedure, ref: str, viewer: Viewer, today: date
) -> tuple[Incident, str]:
    """The incident and its review as Markdown: what every export (Markdown, HTML, PDF) starts from."""
    incident = await get_incident(session=session, ref=ref, viewer=viewer)
    review = await service.get_review(session=session, incident=incident)
    text = await review_markdown(
        session=session, procedure=procedure, incident=incident, review=review, today=today
    )
    return incident, text

"""A drill's findings onto its review: when the drill ends (or is resolved), each gap its report finds
becomes an action item on the drill's review (drafted if it has none), owned by whoever scheduled the drill
and due in two weeks. The review meeting keeps, re-owns or drops them ("won't do"): proposals, not orders."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.drills.domain import findings
from warroom.drills.models import DrillRun
from warroom.drills.report import drill_report
from warroom.incidents.models import Incident
from warroom.procedure.loader import LoadedProcedure
from warroom.reviews.models import ActionItem
from warroom.reviews.service import draft_review
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

FINDING_DUE = timedelta(days=14)
TITLE_PREFIX = "Drill finding: "
NOT_ON_THE_REVIEW = ("review held",)  # the review itself is where the findings go


async def put_findings_on_review(
    *, session: AsyncSession, loaded: LoadedProcedure, incident: Incident, now: datetime
) -> list[ActionItem]:
    """The findings not yet on the review (one per measure), as open action items; [] if not a drill run."""
    run = await session.scalar(select(DrillRun).where(DrillRun.incident_id == incident.id))
    if run is None:
        return []
    measures = [
        m
        for m in await drill_report(session=session, run=run, loaded=loaded, now=now)
        if m.name not in NOT_ON_THE_REVIEW
    ]
    review, _ = await draft_review(
        session=session, procedure=loaded.procedure, incident=incident, actor="warroom", now=now
    )
    present = set(await session.scalars(select(ActionItem.title).where(ActionItem.review_id == review.id)))
    added = []
    for proposal in findings(measures, owner="", now=now, due_in=FINDING_DUE):
        measure = proposal.title.removeprefix(TITLE_PREFIX).split(":", 1)[0]
        if any(t.startswith(f"{TITLE_PREFIX}{measure}:") for t in present):
            continue
        item = ActionItem(
            review_id=review.id, incident_id=incident.id, title=proposal.title[:300], type="process",
            owner_id=run.created_by, due_on=proposal.due.date(), status="open", created_at=now,
            updated_at=now,
        )  # fmt: skip
        session.add(item)
        added.append(item)
    await session.flush()
    for item in added:
        await record(
            session, incident, "warroom", EventKind.action_item_added, now, id=item.id, title=item.title
        )
    return added

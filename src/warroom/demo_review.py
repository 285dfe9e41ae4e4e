"""The demo's published review: what a finished blameless review of the checkout outage looks like."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.incidents.models import Incident
from warroom.procedure.schemas import Procedure
from warroom.reviews import actions, service
from warroom.reviews.schemas import ActionItemCreate, CurationPatch, NoteCreate, ReviewPatch
from warroom.timeline.service import list_events

COSTS = {"checkout": 40.0, "payments-api": 85.0}  # per minute of outage, in the organisation's currency
TEXT = ReviewPatch(
    summary="A connection-pool change in payments-api deploy 4812 exhausted connections under peak load; "
    "card authorisations timed out until the deploy was rolled back.",
    customers_affected=1840,
    trigger="Deploy 4812 lowered the payments-api database pool from 50 to 10 connections.",
    five_whys=[
        "Why did card checkouts fail? Authorisation calls to payments-api timed out.",
        "Why did they time out? Every request waited for a database connection.",
        "Why was there no connection? The pool had 10 connections, down from 50.",
        "Why was it lowered? A config clean-up copied the staging value into production.",
        "Why was that not caught? Pool size has no production check and no load test covers it.",
    ],
    contributing_factors=["Staging and production config share one file", "No alert on pool saturation"],
    detection="Alertmanager fired CheckoutErrorRate 5 minutes after impact began; on-call acknowledged in 3.",
    detection_improvement="Alert on connection-pool saturation, which rose 4 minutes before errors did.",
    went_well="Rollback took 6 minutes; stakeholder updates went out on time.",
    went_wrong="The first responder looked at the card network before recent deploys.",
    got_lucky="Traffic was at 60% of peak; at full peak the queue would have spilled into refunds.",
)


async def _curate(session: AsyncSession, incident: Incident, actor: User, at: datetime) -> None:
    review = await service.get_review(session=session, incident=incident)
    events = await list_events(session=session, incident_id=incident.id)
    rollback = next(e for e in events if e.kind == "phase_changed" and e.data.get("new") == "recovery")
    highlight = CurationPatch(highlighted=True, note="Rollback of deploy 4812 finished: the turning point.")
    await service.curate(
        session=session, review=review, seq=rollback.seq, patch=highlight, actor=actor, now=at
    )
    first_signal = NoteCreate(
        at=incident.declared_at - timedelta(minutes=8),
        note="Pool saturation graph crosses 95% (found afterwards in the dashboards).",
    )
    await service.add_note(session=session, review=review, data=first_signal, actor=actor, now=at)


async def publish_demo_review(
    *, session: AsyncSession, procedure: Procedure, incident: Incident, people: list[User], at: datetime
) -> None:
    """Fill in the drafted review, add owned action items (one overdue by now), and publish it."""
    commander, lead, comms = people
    for slug, cost in COSTS.items():
        await session.execute(update(Service).where(Service.slug == slug).values(cost_per_minute=cost))
    review, _ = await service.draft_review(
        session=session, procedure=procedure, incident=incident, actor=commander, now=at
    )
    await service.update_review(
        session=session,
        procedure=procedure,
        incident=incident,
        review=review,
        patch=TEXT,
        actor=commander,
        now=at,
    )
    await _curate(session, incident, commander, at)
    items = [
        ActionItemCreate(title="Alert on payments-api connection-pool saturation", type="prevent",
                         owner=lead.email, due_on=(at + timedelta(days=2)).date()),
        ActionItemCreate(title="Split staging and production pool settings", type="prevent",
                         owner=commander.email, due_on=(at + timedelta(days=21)).date(),
                         tracker_url="https://tracker.demo.warroom/PAY-812"),
        ActionItemCreate(title="Runbook: check recent deploys first", type="process",
                         owner=comms.email, due_on=(at + timedelta(days=14)).date()),
    ]  # fmt: skip
    for item in items:
        await actions.add_action_item(
            session=session, incident=incident, review=review, data=item, actor=commander, now=at
        )
    await service.add_reviewer(
        session=session, incident=incident, review=review, user_ref=comms.email, actor=commander, now=at
    )
    for status in ("in_review", "published"):
        await service.change_status(
            session=session, incident=incident, review=review, target=status, actor=commander, now=at
        )

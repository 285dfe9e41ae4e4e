"""A small demo organisation: teams, people, services, and one closed incident with a full timeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.integrations import create_integration
from warroom.alerts.rules.service import create_alert_rule
from warroom.alerts.schemas import IntegrationCreate
from warroom.auth import service as auth
from warroom.auth.models import User
from warroom.catalog.dependencies import set_dependencies
from warroom.catalog.service import create_service
from warroom.comms import service as comms
from warroom.demo_review import publish_demo_review
from warroom.incidents import collaboration, service
from warroom.incidents.models import Incident
from warroom.incidents.schemas import IncidentCreate, IncidentPatch, TaskCreate, TaskPatch, UpdateCreate
from warroom.notify.service import add_contact_method
from warroom.oncall.policy_service import create_policy
from warroom.oncall.schemas import LayerIn, PolicyCreate, ScheduleCreate, StepIn
from warroom.oncall.service import create_schedule
from warroom.procedure.loader import LoadedProcedure
from warroom.reviews import service as reviews
from warroom.statuspage.demo import load_status_page_demo

PEOPLE = [
    ("alice@demo.warroom", "Alice Okafor", "responder", "payments"),
    ("bob@demo.warroom", "Bob Lindqvist", "responder", "payments"),
    ("carol@demo.warroom", "Carol Mendes", "responder", "platform"),
    ("dan@demo.warroom", "Dan Whitaker", "viewer", "platform"),
    ("erin@demo.warroom", "Erin Park", "stakeholder", None),
]
TEAMS = [("payments", "Payments"), ("platform", "Platform")]
STAKEHOLDERS = [
    ("internal", "support-leads@demo.warroom", "Support leads"),
    ("executives", "leadership@demo.warroom", "Leadership team"),
    ("customers", "key-accounts@demo.warroom", "Key account contacts"),
]
SERVICES = [
    ("checkout", "Checkout", "Cart and checkout pages", "payments"),
    ("payments-api", "Payments API", "Card authorisation and capture", "payments"),
    ("web", "Web front end", "The public web site", "platform"),
    ("search", "Search", "Product search", "platform"),
]
DEPENDS_ON = {"checkout": ["payments-api"], "web": ["checkout", "search"]}


async def demo_loaded(*, session: AsyncSession) -> bool:
    return bool(
        await session.scalar(select(func.count()).select_from(User).where(User.email == PEOPLE[0][0]))
    )


async def load_demo(
    *, session: AsyncSession, loaded: LoadedProcedure, now: datetime, base_url: str
) -> Incident | None:
    """Idempotent: returns None when the demo is already there."""
    if await demo_loaded(session=session):
        return None
    teams = {
        slug: await auth.create_team(session=session, slug=slug, name=name, now=now) for slug, name in TEAMS
    }
    people: dict[str, User] = {}
    for email, name, role, team in PEOPLE:
        people[email] = await auth.create_user(session=session, email=email, name=name, role=role, now=now)
        if team:
            await auth.add_team_member(session=session, team=teams[team], user=people[email])
    made = {
        slug: await create_service(
            session=session, slug=slug, name=name, description=description, team_slug=team, now=now
        )
        for slug, name, description, team in SERVICES
    }
    for slug, needs in DEPENDS_ON.items():  # for each incident's blast radius
        await set_dependencies(session=session, service=made[slug], slugs=needs)
    await _alerting(session, loaded, now)
    await _on_call(session, people, now)
    await load_status_page_demo(session=session, now=now)
    incident = await _closed_incident(session, loaded, people, now - timedelta(days=6), base_url)
    await _stakeholder_lists(session, loaded, now)
    return incident


async def _stakeholder_lists(session: AsyncSession, loaded: LoadedProcedure, now: datetime) -> None:
    """After the story, so its past updates send nothing; on the `log` channel, so a stakeholder update
    posted in the demo shows up in the server's log instead of failing on a mail server nobody set up."""
    for audience, address, label in STAKEHOLDERS:
        await comms.add_recipient(
            session=session, loaded=loaded, audience=audience, channel="log", address=address, label=label,
            now=now,
        )  # fmt: skip


async def _on_call(session: AsyncSession, people: dict[str, User], now: datetime) -> None:
    """Alice and Bob share a weekly rotation (Berlin time); Carol backs them up after 5 minutes. Carol and
    Alice take turns as the incident commander on duty.

    The demo people are paged in the server's log (the `log` channel), so a first run shows paging work.
    """
    for email in ("alice@demo.warroom", "bob@demo.warroom", "carol@demo.warroom"):
        await add_contact_method(
            session=session,
            user_id=people[email].id,
            kind="log",
            address=email,
            label="server log (demo)",
            now=now,
        )
    berlin = now.astimezone(ZoneInfo("Europe/Berlin"))
    monday = (berlin - timedelta(days=berlin.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)
    # The procedure's P1 and P2 page the incident commander on duty as well (procedure `page:`).
    for slug, name, participants in (
        ("payments-oncall", "Payments on call", ["alice@demo.warroom", "bob@demo.warroom"]),
        ("incident-commander", "Incident commander on duty", ["carol@demo.warroom", "alice@demo.warroom"]),
        ("engineering-manager", "Engineering manager on duty", ["dan@demo.warroom", "erin@demo.warroom"]),
    ):
        weekly = LayerIn(
            name="weekly",
            participants=participants,
            start=monday,
            shift_length=1,
            shift_unit="weeks",
            time_zone="Europe/Berlin",
        )
        await create_schedule(
            session=session, data=ScheduleCreate(slug=slug, name=name, layers=[weekly]), now=now
        )
    steps = [
        StepIn(delay_seconds=0, targets=[{"type": "schedule", "ref": "payments-oncall"}]),
        StepIn(delay_seconds=300, targets=[{"type": "user", "ref": "carol@demo.warroom"}]),
    ]
    policy = PolicyCreate(
        slug="payments", name="Payments", steps=steps, services=["checkout", "payments-api"]
    )
    await create_policy(session=session, data=policy, now=now)


async def _alerting(session: AsyncSession, loaded: LoadedProcedure, now: datetime) -> None:
    """Two integrations to point senders at; critical checkout alerts open (or join) an incident."""
    for kind, slug in (("alertmanager", "checkout"), ("pagerduty", "payments-api")):
        data = IntegrationCreate(kind=kind, service=slug, name=f"demo {kind}")
        await create_integration(session=session, data=data, now=now)
    await create_alert_rule(
        session=session,
        procedure=loaded.procedure,
        service_slug="checkout",
        name="critical checkout alerts",
        conditions=[{"field": "severity", "op": "equals", "value": "critical"}],
        action="group",
        incident_severity="P1",
        incident_type=None,
        now=now,
    )


class _Story:
    """Plays one incident forward in time through the same services the API uses."""

    def __init__(
        self,
        session: AsyncSession,
        loaded: LoadedProcedure,
        incident: Incident,
        start: datetime,
        base_url: str,
    ) -> None:
        self.session, self.loaded, self.incident, self.at = session, loaded, incident, start
        self.base_url = base_url

    def after(self, minutes: int) -> datetime:
        self.at += timedelta(minutes=minutes)
        return self.at

    async def assign(self, minutes: int, actor: User, role: str, user: User) -> None:
        await collaboration.assign_role(
            session=self.session,
            loaded=self.loaded,
            incident=self.incident,
            actor=actor,
            role=role,
            user_ref=user.email,
            now=self.after(minutes),
        )

    async def say(self, minutes: int, actor: User, audience: str, body: str) -> None:
        data = UpdateCreate(audience=audience, body=body)
        await comms.post_update(
            session=self.session, loaded=self.loaded, actor=actor, incident=self.incident, data=data,
            now=self.after(minutes), base_url=self.base_url,
        )  # fmt: skip

    async def phase(self, minutes: int, actor: User, target: str, reason: str) -> None:
        await service.move_phase(
            session=self.session,
            loaded=self.loaded,
            incident=self.incident,
            actor=actor,
            target=target,
            reason=reason,
            now=self.after(minutes),
            review_published=reviews.is_published,
        )

    async def task_done(self, minutes: int, actor: User, title: str, assignee: User) -> None:
        task = await collaboration.add_task(
            session=self.session,
            actor=actor,
            incident=self.incident,
            now=self.after(minutes),
            data=TaskCreate(title=title, assignee=assignee.email),
        )
        await collaboration.update_task(
            session=self.session,
            actor=assignee,
            incident=self.incident,
            task=task,
            patch=TaskPatch(done=True),
            now=self.after(12),
        )

    async def finish_playbook(self, minutes: int, actor: User) -> None:
        for task in await collaboration.list_tasks(session=self.session, incident_id=self.incident.id):
            if not task.done:
                await collaboration.update_task(
                    session=self.session,
                    actor=actor,
                    incident=self.incident,
                    task=task,
                    patch=TaskPatch(done=True),
                    now=self.after(minutes),
                )

    async def escalate(self, minutes: int, actor: User, severity: str, reason: str) -> None:
        await service.update_incident(
            session=self.session,
            loaded=self.loaded,
            actor=actor,
            incident=self.incident,
            patch=IncidentPatch(severity=severity, severity_reason=reason),
            now=self.after(minutes),
        )


async def _closed_incident(
    session: AsyncSession, loaded: LoadedProcedure, people: dict[str, User], start: datetime, base_url: str
) -> Incident:
    alice, bob, carol = (people[e] for e in ("alice@demo.warroom", "bob@demo.warroom", "carol@demo.warroom"))
    data = IncidentCreate(
        title="Checkout payments failing for card customers",
        severity="P2",
        type="outage",
        services=["checkout", "payments-api"],
        summary="Card authorisations timed out after a connection-pool change in payments-api.",
        customer_impact="About 30% of card checkouts failed for 41 minutes.",
        impact_started_at=start - timedelta(minutes=9),
        detected_at=start - timedelta(minutes=4),
    )
    incident = await service.declare_incident(session=session, loaded=loaded, actor=bob, data=data, now=start)
    story = _Story(session, loaded, incident, start, base_url)
    await story.assign(3, bob, "incident_commander", alice)
    await story.assign(1, alice, "technical_lead", bob)
    await story.say(
        2, alice, "internal", "Error rate on /authorize at 31%; pool exhausted since deploy 4812."
    )
    await story.phase(4, alice, "containment", "cause suspected: deploy 4812")
    await story.say(1, alice, "stakeholder", "Some card payments are failing. We are rolling back a change.")
    await story.task_done(1, alice, "Roll back payments-api deploy 4812", bob)
    await story.escalate(1, alice, "P1", "impact confirmed on all card brands")
    await story.assign(1, alice, "communications_lead", carol)
    await story.phase(6, alice, "recovery", "rollback done, errors falling")
    await story.say(20, carol, "stakeholder", "Card payments are working again. A review will follow.")
    await story.finish_playbook(1, bob)
    await story.phase(1, alice, "review", "error rate normal for 20 minutes")
    await publish_demo_review(
        session=session,
        procedure=loaded.procedure,
        incident=incident,
        people=[alice, bob, carol],
        at=story.after(1440),
    )
    await story.phase(1440, alice, "closed", "review published, follow-ups owned")
    return incident

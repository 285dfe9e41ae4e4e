"""The composition root: the one module that knows every domain.

Each domain package knows only the layers below it. What ties them together lives here and nowhere else:
the job kinds the worker runs (and the shape of each), its queues, the checks it makes on every pass, the
observers of each new timeline event, and the guards a lower domain borrows from a higher one. A new
domain plugs in by adding its entries here; the packages it reacts to never import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions.service import ACTION_KIND, ACTION_QUEUE, run_action
from warroom.alerts.intake.flood import FLOOD_QUEUE
from warroom.alerts.intake.flow import IntakeRuntime
from warroom.alerts.intake.heartbeats import check_heartbeats
from warroom.alerts.intake.writer import IntakeWriter
from warroom.alerts.models import Alert
from warroom.alerts.retention import keep_months, prune_raw_events
from warroom.alerts.rules.triage import triage_alerts
from warroom.alerts.service import acknowledge_with_incident
from warroom.auth.sessions import SessionLimits, prune_ended_sessions
from warroom.auth.throttle import prune_forgotten_failures
from warroom.chat.jobs import capture_message, mirror_room, respond
from warroom.chat.outbox import ChatOutbox
from warroom.clock import Clock, SystemClock
from warroom.comms.reminders import remind_due_updates
from warroom.config import Settings
from warroom.context import AppContext
from warroom.crm import jobs as hubspot_jobs
from warroom.crm.outbox import FETCH_KIND, WRITE_BACK_KIND, CrmOutbox
from warroom.crm.outbox import QUEUE as HUBSPOT_QUEUE
from warroom.db import SessionFactories, WriteHooks, create_engine_for
from warroom.doctor.service import examine, remember
from warroom.drills.findings import put_findings_on_review
from warroom.drills.injects import INJECT_KIND, run_inject
from warroom.drills.service import fire_due_runs as fire_due_drills
from warroom.errors import SettingInvalid
from warroom.incidents.checkpoints import WITNESS_KIND, WITNESS_QUEUE, AuditCheckpoints, send_to_witness
from warroom.intel.actions import MATCH_KIND, match_in_place, run_hunt, run_match
from warroom.intel.poll import FEED_QUEUE, HUNT_KIND, MATCH_QUEUE, POLL_KIND, poll_feed, schedule_polls
from warroom.jobs.kinds import Batched, Grouped, JobRun, Kind, Shared
from warroom.jobs.periodic import AtMostEvery, Periodic
from warroom.jobs.queues import QueueLimits, limits_for
from warroom.jobs.service import JobSpec, enqueue
from warroom.jobs.worker import Worker
from warroom.notify.outbox import SEND_KIND
from warroom.observables.service import take_from_alert
from warroom.paging.clocks import ResponseClocks
from warroom.paging.declared import PAGE_KIND, DeclarationPager, page_declared
from warroom.paging.delivery import RECORD_AHEAD, send_messages
from warroom.paging.engine import unack_check
from warroom.paging.steps import run_due_now, run_steps
from warroom.preparedness.reminders import DrillReminders
from warroom.procedure.loader import LoadedProcedure, load_default_procedure, load_procedure_file
from warroom.reviews.reminders import remind_overdue_action_items
from warroom.reviews.service import ReviewDrafter, is_published
from warroom.statuspage.drafts import stage_draft
from warroom.statuspage.maintenance import run_maintenance_windows
from warroom.statuspage.notices import send_notices
from warroom.statuspage.silence import SilentStatusPage
from warroom.statuspage.views import page_info
from warroom.timeline.kinds import EventKind
from warroom.timeline.models import TimelineEvent
from warroom.timeline.service import Observer
from warroom.tracker import jobs as jira_jobs
from warroom.tracker.outbox import (
    ACTION_ITEM_KIND,
    COMMENT_KIND,
    CREATE_KIND,
    UPDATE_KIND,
    JiraOutbox,
    stage_action_items,
)
from warroom.tracker.outbox import QUEUE as JIRA_QUEUE


# Every job kind, with its shape (jobs.kinds): Grouped and Shared kinds run many to a transaction (each is
# idempotent and touches few rows; triage may take a per-group advisory lock, and two groups taking two
# such locks in opposite orders deadlock: PostgreSQL ends one, and its jobs then run one by one); Batched
# kinds take a claimed batch whole and do their network work outside the database transaction.
async def triage_then_match(run: JobRun, payloads: list[dict[str, Any]]) -> None:
    """Triage, the first escalation steps it starts that are due at once (in the same transaction, so an
    alert's first page needs no claim of its own), then the threat-intel match of the group's alerts: in
    the same transaction too when that is cheap and bounded (intel.actions.match_in_place), else as one
    job on its own queue, so a slow or failing match never holds up paging (intel sits above alerts, so
    here)."""
    due_now: list[JobSpec] = []
    await triage_alerts(run, payloads, due_now)
    await run_due_now(run, due_now)
    alert_ids = sorted({int(p["alert_id"]) for p in payloads})
    if not await match_in_place(run, alert_ids):
        spec = JobSpec(MATCH_KIND, {"alert_ids": alert_ids}, queue=MATCH_QUEUE)
        await enqueue(session=run.session, spec=spec, now=run.now)


JOB_KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        "alert.triage": Grouped(triage_then_match),
        ACTION_KIND: run_action,
        WITNESS_KIND: send_to_witness,
        "chat.capture": capture_message,
        "chat.mirror": mirror_room,
        "chat.slack.respond": respond,
        INJECT_KIND: run_inject,
        "escalation.step": Grouped(run_steps),
        "escalation.unack_check": Shared(unack_check),
        PAGE_KIND: page_declared,
        SEND_KIND: Batched(send_messages, places=RECORD_AHEAD),
        "statuspage.notify": send_notices,
        POLL_KIND: poll_feed,
        MATCH_KIND: run_match,
        HUNT_KIND: run_hunt,
        CREATE_KIND: jira_jobs.create_issue,
        UPDATE_KIND: jira_jobs.update_issue,
        COMMENT_KIND: jira_jobs.comment,
        ACTION_ITEM_KIND: jira_jobs.action_item_issue,
        FETCH_KIND: hubspot_jobs.fetch_ticket,
        WRITE_BACK_KIND: hubspot_jobs.write_back,
    }
)

# Channels get their own queue, so one cannot starve another. The slots add up to about the database
# pool of one process (db.py), so jobs rarely wait for a connection. Escalation steps run in groups: a
# step is a handful of short statements, and one commit (and one claim) per group instead of per step is
# what lets 10,000 steps falling due at once drain in seconds rather than minutes. Deliveries run in
# batches of `group` (sent concurrently, two transactions per batch); `slots` batches at once.
# Deliveries' claims are leased for 30 s, not the 2 minutes of other jobs: each message records its own
# send in flight (paging.delivery), so the lease only guards a claim until then, and a dead worker's pages
# come back a minute and a half sooner.
DELIVERY_LEASE = 30.0
QUEUES: Mapping[str, QueueLimits] = MappingProxyType(
    {
        "default": QueueLimits(slots=6, per_minute=600_000, group=50),
        # Triage beyond an integration's first 100 new alerts a second (alerts.intake.flood): its own slots,
        # so a flood never holds up other services' triage and steps on `default`; big groups, as it is bulk
        # (its claims on a connection of their own, so the pages' claims never wait behind them).
        FLOOD_QUEUE: QueueLimits(slots=2, per_minute=600_000, group=200, bulk=True),
        "notify.email": QueueLimits(slots=4, per_minute=600, group=10, lease_seconds=DELIVERY_LEASE),
        # Webhooks: one receiver is held to Outbound.PER_HOST connections, so this only caps the worker.
        # At 30,000 (500/s) it was what bounded 10,000 pages falling due at once (19.3 s; 5.3 s at 120,000).
        "notify.webhook": QueueLimits(slots=4, per_minute=120_000, group=50, lease_seconds=DELIVERY_LEASE),
        "notify.apprise": QueueLimits(slots=4, per_minute=600, group=10, lease_seconds=DELIVERY_LEASE),
        "notify.log": QueueLimits(slots=2, per_minute=6_000, group=50, lease_seconds=DELIVERY_LEASE),
        # Slack allows about one message a second per channel and 20-50 calls a minute for most methods.
        "chat.slack": QueueLimits(slots=2, per_minute=50),
        "chat.teams": QueueLimits(slots=2, per_minute=60),
        "chat.mattermost": QueueLimits(slots=2, per_minute=120),
        # One at a time, so the witness gets the checkpoints in the order they were written.
        WITNESS_QUEUE: QueueLimits(slots=1, per_minute=600),
        # Playbook actions call the organisation's own automation: a slow one waits alone.
        ACTION_QUEUE: QueueLimits(slots=2, per_minute=600),
        # Threat intel: a slow or broken feed waits on its own queue; matching never delays paging.
        FEED_QUEUE: QueueLimits(slots=2, per_minute=600),
        MATCH_QUEUE: QueueLimits(slots=2, per_minute=60_000),
        # Jira: one call at a time, so an issue's comments land in order and after it is made; Jira Cloud
        # allows roughly 100 calls a minute per user before it answers 429 (then Retry-After is obeyed).
        JIRA_QUEUE: QueueLimits(slots=1, per_minute=100),
        # HubSpot: private apps get about 100 calls per 10 s; a ticket read is up to a dozen calls.
        HUBSPOT_QUEUE: QueueLimits(slots=2, per_minute=300),
    }
)


class SignInHousekeeping(AtMostEvery):
    """Periodic, at most once an hour per worker process: delete web sessions ended a day ago and sign-in
    failure counts no longer counted. The auth package cannot take the app's context, so it lives here."""

    __name__ = "prune_sign_in_records"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(hours=1)
    KEPT_FOR = timedelta(days=1)  # an ended session stays a day, for whoever looks into a sign-out

    async def run(self, context: AppContext, now: datetime) -> None:
        settings = context.settings
        limits = SessionLimits(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )
        async with context.db.write_turn, context.db.write() as session:
            await prune_ended_sessions(session=session, now=now, limits=limits, kept_for=self.KEPT_FOR)
            await prune_forgotten_failures(session=session, now=now)
            await session.commit()


# What the worker checks on every pass besides due jobs.
class FeedPolls(AtMostEvery):
    """Periodic, every 30 s per worker: a poll job for each feed that is due."""

    __name__ = "schedule_feed_polls"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(seconds=30)

    async def run(self, context: AppContext, now: datetime) -> None:
        async with context.db.write_turn, context.db.write() as session:
            if await schedule_polls(session, now):
                await session.commit()


class JiraActionItems(AtMostEvery):
    """Periodic, every minute per worker: an issue staged for each new open review action item whose
    incident has one (action items are not timeline events, so no observer sees them)."""

    __name__ = "stage_jira_action_items"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(minutes=1)

    async def run(self, context: AppContext, now: datetime) -> None:
        if not context.settings.jira_url:
            return
        async with context.db.write_turn, context.db.write() as session:
            if await stage_action_items(session, now):
                await session.commit()


class RawEventRetention(AtMostEvery):
    """Periodic, every 10 minutes per worker: on PostgreSQL the months ahead partitioned and whole expired
    months dropped; then raw intake requests older than WARROOM_RAW_EVENT_RETENTION_DAYS deleted, a batch
    per transaction (each takes the write turn briefly), up to 50 batches a run."""

    __name__ = "prune_raw_events"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(minutes=10)
    MAX_BATCHES = 50

    async def run(self, context: AppContext, now: datetime) -> None:
        days = context.settings.raw_event_retention_days
        async with context.db.write() as session:
            await keep_months(session, now, days)
            await session.commit()
        if not days:
            return
        for _ in range(self.MAX_BATCHES):
            async with context.db.write_turn, context.db.write() as session:
                _deleted, more = await prune_raw_events(session, now - timedelta(days=days))
                await session.commit()
            if not more:
                return


class IntegrationDoctor(AtMostEvery):
    """Periodic, every 15 minutes per worker: every configured integration checked without side effects;
    one that starts failing is told to the admins once (doctor.service.remember)."""

    __name__ = "check_integrations"  # as the worker's log and the tests name its periodic checks
    EVERY = timedelta(minutes=15)

    async def run(self, context: AppContext, now: datetime) -> None:
        async with context.db.read() as session:
            found = await examine(session, context.settings)  # the network calls, outside the write turn
        async with context.db.write_turn, context.db.write() as session:
            await remember(session, found, now)
            await session.commit()


PERIODIC_CHECKS: tuple[Periodic, ...] = (
    check_heartbeats,
    remind_overdue_action_items,
    remind_due_updates,
    run_maintenance_windows,
    SignInHousekeeping(),
    AuditCheckpoints(),
    DrillReminders(),
    fire_due_drills,
    ResponseClocks(),
    SilentStatusPage(),
    FeedPolls(),
    JiraActionItems(),
    IntegrationDoctor(),
    RawEventRetention(),
)


class IntelOnObservables:
    """An observable added to an incident is matched against the indicators, in the worker."""

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if event.kind == EventKind.observable_added:
            spec = JobSpec(MATCH_KIND, {"incident_id": incident.id}, queue=MATCH_QUEUE)
            await enqueue(session=session, spec=spec, now=event.at)


class AlertsFollowIncident:
    """One acknowledgement: an acknowledged incident acknowledges its alerts still triggered (the other way,
    an alert acknowledging its incident, is alerts.incident_notes). Alerts sit above incidents, so here."""

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if event.kind == EventKind.acknowledged:
            await acknowledge_with_incident(
                session=session, incident_id=incident.id, actor=event.actor, now=event.at
            )


class ObservablesFromAlerts:
    """An alert joining an incident brings the observables in its payload (never on the intake path: this
    runs in the transaction that attaches it, under the incident's lock)."""

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if event.kind == EventKind.alert_attached:
            alert = await session.get(Alert, int((event.data or {})["alert_id"]))
            if alert is not None:
                await take_from_alert(session, incident, alert, event.at)


class StatusPageDrafts:
    """A severity with `status_page: true` stages a draft public incident when declared or raised to; the
    status page sits above incidents, so here."""

    def __init__(self, settings: Settings, loaded: LoadedProcedure) -> None:
        self.settings, self.loaded = settings, loaded

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if event.kind in (EventKind.declared, EventKind.severity_changed):
            page = page_info(self.settings)
            await stage_draft(session=session, loaded=self.loaded, incident=incident, page=page, now=event.at)


class DrillFindings:
    """A drill that ends (or is resolved) gets its report's gaps as action items on its review; drills sit
    above reviews, so here."""

    def __init__(self, loaded: LoadedProcedure) -> None:
        self.loaded = loaded

    async def __call__(self, session: AsyncSession, incident: Any, event: TimelineEvent) -> None:
        if incident.drill and event.kind in (EventKind.drill_ended, EventKind.resolved):
            await put_findings_on_review(session=session, loaded=self.loaded, incident=incident, now=event.at)


def timeline_observers(settings: Settings, loaded: LoadedProcedure, clock: Clock) -> tuple[Observer, ...]:
    """What runs in the transaction of every new timeline event, in this order."""
    return (
        ChatOutbox(settings, loaded, clock),
        ReviewDrafter(loaded),
        DeclarationPager(),
        AlertsFollowIncident(),
        ObservablesFromAlerts(),
        StatusPageDrafts(settings, loaded),
        DrillFindings(loaded),
        IntelOnObservables(),
        JiraOutbox(settings, loaded),
        CrmOutbox(settings),
    )


def load_configured_procedure(settings: Settings) -> LoadedProcedure:
    """The procedure named by WARROOM_PROCEDURE, else the shipped default; raises ProcedureInvalid."""
    return load_procedure_file(settings.procedure) if settings.procedure else load_default_procedure()


def check_settings(settings: Settings) -> None:
    """What the Settings model cannot check alone: the queues named in WARROOM_QUEUE_PER_MINUTE; audit
    checkpoints (and their witness) without the key that signs them."""
    if (settings.audit_checkpoints or settings.audit_witness_url) and settings.audit_key is None:
        raise SettingInvalid("WARROOM_AUDIT_CHECKPOINTS and _WITNESS_URL need WARROOM_AUDIT_KEY to sign with")
    if settings.audit_witness_url and settings.audit_checkpoints is None:
        raise SettingInvalid("WARROOM_AUDIT_WITNESS_URL needs WARROOM_AUDIT_CHECKPOINTS (what it witnesses)")
    try:
        limits_for(QUEUES, settings.queue_per_minute)
    except ValueError as error:
        raise SettingInvalid(str(error)) from None


def build_context(
    settings: Settings, clock: Clock | None = None, procedure: LoadedProcedure | None = None
) -> AppContext:
    """Everything one process runs on. Every write session it opens carries the timeline observers."""
    check_settings(settings)
    loaded = procedure or load_configured_procedure(settings)
    clock = clock or SystemClock()
    hooks = WriteHooks(timeline_observers=timeline_observers(settings, loaded, clock))
    db = SessionFactories(create_engine_for(settings.resolved_database_url()), hooks=hooks)
    context = AppContext(
        settings=settings, db=db, procedure=loaded, clock=clock, review_published=is_published
    )
    context.intake = IntakeRuntime(writer=IntakeWriter(db))
    return context


def new_worker(context: AppContext, **options: Any) -> Worker:
    """The worker with every kind, queue and periodic check; `options` override them (tests) or set
    `batch` and `poll_seconds`."""
    wiring: dict[str, Any] = {"kinds": JOB_KINDS, "periodic": PERIODIC_CHECKS, "queues": QUEUES}
    return Worker(context, **(wiring | options))

"""Escalation and delivery, as durable jobs: starting, restarting, escalating by hand and stopping a walk.

`escalation.step` jobs (paging.steps) page the targets of one step of one round and schedule the next
step; `notify.send` jobs (paging.delivery) deliver each page. Acknowledging stops the walk (the next step
job finds the escalation no longer active) and cancels the messages not yet sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert, AlertEvent
from warroom.catalog.models import Service
from warroom.jobs.config_cache import CACHED
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue, insert_jobs
from warroom.notify.models import OutgoingMessage
from warroom.oncall.models import EscalationPolicy
from warroom.oncall.policy_service import policy_steps
from warroom.paging.models import Escalation

URGENT = frozenset({"critical", "error"})
REPEAT_PAUSE = timedelta(minutes=5)  # between rounds, when the first step has no delay of its own


def step_key(escalation_id: int, generation: int, round_: int, step: int) -> str:
    return f"esc:{escalation_id}:{generation}:{round_}:{step}"


def step_spec(escalation: Escalation, run_at: datetime) -> JobSpec:
    key = step_key(escalation.id, escalation.generation, escalation.round, escalation.step)
    payload = {
        "escalation_id": escalation.id,
        "generation": escalation.generation,
        "round": escalation.round,
        "step": escalation.step,
    }
    return JobSpec("escalation.step", payload, run_at=run_at, idempotency_key=key)


class NewAlert(NamedTuple):
    """What starting an alert's escalation needs to know of it."""

    id: int
    service_id: int | None
    severity: str
    reason: str | None = None  # how it came to this service: the start of "why was I paged"
    # What its page says of it (paging.steps' alert read, in its columns' order), where the caller has
    # just read it under lock and it is on no incident: its first step, run in this transaction, need not
    # read it again.
    page: tuple[Any, ...] | None = None


# The escalations this transaction started and the alerts they page for, kept in the group's memo by id:
# its first steps, run in the same transaction (paging.steps.run_due_now), take them from there rather
# than read them again. Rows this transaction inserted are its own (no other sees them before it commits),
# so they need no locking read.
STARTED_WALKS, PAGED_ALERTS = "started-walks", "paged-alerts"
WALK_COLUMNS = ("id", "alert_id", "policy_id", "state", "urgency", "step", "round", "generation",
                "incident_id", "targets", "reason")  # fmt: skip


async def _first_delays(
    session: AsyncSession, service_ids: set[int], memo: dict[str, Any]
) -> dict[int, tuple[int, timedelta]]:
    """Each service's policy and its first step's delay, read once per group of triage jobs."""
    found: dict[int, tuple[int, timedelta]] = {}
    for service_id in service_ids:
        key = f"{CACHED}first-step:{service_id}"
        if key not in memo:
            policy_id = await session.scalar(
                select(Service.escalation_policy_id).where(Service.id == service_id)
            )
            steps = await policy_steps(session=session, policy_id=policy_id) if policy_id else []
            memo[key] = (policy_id, timedelta(seconds=steps[0].delay_seconds if steps else 0))
        if memo[key][0] is not None:
            found[service_id] = memo[key]
    return found


async def start_escalations(
    *,
    session: AsyncSession,
    alerts: Sequence[NewAlert],
    now: datetime,
    memo: dict[str, Any] | None = None,
    due_now: list[JobSpec] | None = None,
) -> None:
    """Begin paging for new alerts whose service has a policy (called by triage, in its transaction): one
    multi-row INSERT of escalations (an alert that has one already keeps it) and one of their first steps.
    With `due_now`, the first steps due at once go there instead of the jobs table: the caller runs them in
    this transaction (paging.steps.run_due_now)."""
    memo = {} if memo is None else memo
    policies = await _first_delays(session, {a.service_id for a in alerts if a.service_id is not None}, memo)
    rows = [
        {"alert_id": a.id, "policy_id": policies[a.service_id][0], "state": "active", "step": 0, "round": 0,
         "generation": 0, "started_at": now, "urgency": "high" if a.severity in URGENT else "low",
         "reason": a.reason}
        for a in alerts
        if a.service_id in policies
    ]  # fmt: skip
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = cast(Table, Escalation.__table__)
    started = await session.execute(
        insert(table)
        .on_conflict_do_nothing(index_elements=["alert_id"])
        .returning(*(table.c[name] for name in WALK_COLUMNS)),
        rows,
    )
    delays = {a.id: policies[a.service_id][1] for a in alerts if a.service_id in policies}
    pages = {a.id: a.page for a in alerts if a.page is not None}
    queued: list[JobSpec] = []
    for walk in started.all():
        escalation_id, alert_id = walk[0], walk[1]
        memo.setdefault(STARTED_WALKS, {})[escalation_id] = tuple(walk)
        if alert_id in pages:
            memo.setdefault(PAGED_ALERTS, {})[alert_id] = pages[alert_id]
        spec = JobSpec(
            "escalation.step",
            {"escalation_id": escalation_id, "generation": 0, "round": 0, "step": 0},
            run_at=now + delays[alert_id],
            idempotency_key=step_key(escalation_id, 0, 0, 0),
        )
        (due_now if due_now is not None and delays[alert_id] <= timedelta(0) else queued).append(spec)
    await insert_jobs(session=session, specs=queued, now=now)


async def restart_paging(*, session: AsyncSession, alert_id: int, now: datetime, reason: str) -> bool:
    """Page again from the first step (unacknowledged, or acknowledged for too long). Old step jobs no-op."""
    escalation = await session.scalar(
        select(Escalation).where(Escalation.alert_id == alert_id).with_for_update()
    )
    if escalation is None or escalation.state == "resolved":
        return False
    escalation.generation += 1
    escalation.state, escalation.step, escalation.round = "active", 0, 0
    escalation.acknowledged_at = escalation.acknowledged_by = None
    session.add(
        AlertEvent(
            alert_id=alert_id,
            request_id=None,
            at=now,
            action="repaged",
            actor="warroom",
            data={"reason": reason},
        )
    )
    await enqueue(session=session, spec=step_spec(escalation, now), now=now)
    return True


async def escalate_now(*, session: AsyncSession, alert_id: int, actor: str, now: datetime) -> bool:
    """Run the next step now (a responder escalating by hand); its scheduled job then finds nothing to do."""
    escalation = await session.scalar(
        select(Escalation).where(Escalation.alert_id == alert_id).with_for_update()
    )
    if escalation is None or escalation.state != "active":
        return False
    spec = step_spec(escalation, now)
    spec = JobSpec(spec.kind, spec.payload, run_at=now, idempotency_key=f"{spec.idempotency_key}:by-hand")
    await enqueue(session=session, spec=spec, now=now)
    session.add(
        AlertEvent(alert_id=alert_id, request_id=None, at=now, action="escalated", actor=actor, data={})
    )
    return True


async def _watch_acknowledgements(session: AsyncSession, escalation_ids: list[int], now: datetime) -> None:
    """Policies with an un-acknowledge timeout: check back then, and page again if still not resolved."""
    rows = await session.execute(
        select(Escalation.id, Escalation.generation, EscalationPolicy.unack_timeout_seconds)
        .join(EscalationPolicy, EscalationPolicy.id == Escalation.policy_id)
        .where(Escalation.id.in_(escalation_ids), EscalationPolicy.unack_timeout_seconds.is_not(None))
    )
    for escalation_id, generation, timeout in rows.all():
        if timeout is None:
            continue
        spec = JobSpec(
            "escalation.unack_check",
            {"escalation_id": escalation_id, "generation": generation},
            run_at=now + timedelta(seconds=timeout),
            idempotency_key=f"unack:{escalation_id}:{generation}",
        )
        await enqueue(session=session, spec=spec, now=now)


async def unack_check(run: JobRun, payload: dict[str, Any]) -> None:
    escalation = await run.session.get(Escalation, int(payload["escalation_id"]), with_for_update=True)
    if (
        escalation is None
        or escalation.alert_id is None  # an incident's walk: the incident stays acknowledged
        or escalation.state != "acknowledged"
        or escalation.generation != payload["generation"]
    ):
        return
    alert = await run.session.get(Alert, escalation.alert_id, with_for_update=True)
    if alert is None or alert.status != "acknowledged":
        return
    alert.status, alert.acknowledged_at, alert.acknowledged_by = "triggered", None, None
    await restart_paging(
        session=run.session, alert_id=alert.id, now=run.now, reason="acknowledged but not resolved"
    )


async def stop_paging(
    *, session: AsyncSession, alert_ids: list[int], state: str, actor: str | None, now: datetime
) -> list[int]:
    """Acknowledged or resolved: stop the walk and cancel unsent messages. Returns the escalations stopped."""
    if not alert_ids:
        return []
    return await _stop(session, Escalation.alert_id.in_(alert_ids), state, actor, now)


async def stop_incident_paging(
    *, session: AsyncSession, incident_id: int, state: str, actor: str | None, now: datetime
) -> list[int]:
    """The incident was acknowledged or resolved: stop the walks its declaration started."""
    return await _stop(session, Escalation.incident_id == incident_id, state, actor, now)


async def _stop(
    session: AsyncSession, owned: ColumnElement[bool], state: str, actor: str | None, now: datetime
) -> list[int]:
    if state == "acknowledged":
        # "exhausted": every step paged and nobody answered yet; an acknowledgement still counts.
        where = Escalation.state.in_(("active", "exhausted"))
        values: dict[str, Any] = {"acknowledged_at": now, "acknowledged_by": actor}
    else:
        where, values = Escalation.state.in_(("active", "acknowledged", "exhausted")), {}
    result = await session.execute(
        update(Escalation).where(owned, where).values(state=state, **values).returning(Escalation.id)
    )
    stopped = list(result.scalars().all())
    if stopped and state == "acknowledged":
        await _watch_acknowledgements(session, stopped, now)
    if stopped:
        await session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.escalation_id.in_(stopped), OutgoingMessage.state == "pending")
            .values(state="cancelled")
        )
    return stopped

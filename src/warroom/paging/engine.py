"""Escalation and delivery, as durable jobs.

`escalation.step` pages the targets of one step of one round and schedules the next step; its job is
idempotent per (escalation, generation, round, step), so several workers racing page once. Each page is an
OutgoingMessage with its own `notify.send` job on its channel's queue, due after the person's rule delay.
Acknowledging stops the walk (the next step job finds the escalation no longer active) and cancels the
messages not yet sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.alerts.models import Alert, AlertEvent
from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.incidents.models import Incident
from warroom.incidents.service import record
from warroom.jobs.registry import JobRun
from warroom.jobs.service import JobSpec, enqueue, stage
from warroom.notify.models import OutgoingMessage
from warroom.notify.service import plan_for
from warroom.oncall.models import EscalationPolicy
from warroom.oncall.policy_service import policy_steps, target_users
from warroom.paging.acklinks import make_token
from warroom.paging.models import Escalation

T = TypeVar("T")
URGENT = frozenset({"critical", "error"})
NOTIFY_ATTEMPTS = 5
REPEAT_PAUSE = timedelta(minutes=5)  # between rounds, when the first step has no delay of its own


def step_spec(escalation: Escalation, run_at: datetime) -> JobSpec:
    key = f"esc:{escalation.id}:{escalation.generation}:{escalation.round}:{escalation.step}"
    payload = {
        "escalation_id": escalation.id,
        "generation": escalation.generation,
        "round": escalation.round,
        "step": escalation.step,
    }
    return JobSpec("escalation.step", payload, run_at=run_at, idempotency_key=key)


async def start_escalation(*, session: AsyncSession, alert: Alert, now: datetime) -> Escalation | None:
    """Begin paging for a new alert, if its service has a policy (called by triage, in its transaction)."""
    policy_id = await session.scalar(
        select(Service.escalation_policy_id).where(Service.id == alert.service_id)
    )
    if policy_id is None:
        return None
    steps = await policy_steps(session=session, policy_id=policy_id)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(Escalation)
        .values(
            alert_id=alert.id,
            policy_id=policy_id,
            state="active",
            step=0,
            round=0,
            generation=0,
            started_at=now,
            urgency="high" if alert.severity in URGENT else "low",
        )
        .on_conflict_do_nothing(index_elements=[Escalation.alert_id])
    )
    escalation = await session.scalar(select(Escalation).where(Escalation.alert_id == alert.id))
    assert escalation is not None
    first_delay = timedelta(seconds=steps[0].delay_seconds) if steps else timedelta(0)
    await enqueue(session=session, spec=step_spec(escalation, now + first_delay), now=now)
    return escalation


def _base_url(run: JobRun) -> str:
    return run.context.settings.resolved_base_url()


async def _page_user(run: JobRun, escalation: Escalation, alert: Alert, user_id: int, step: int) -> list[str]:
    """Messages (one per notification rule) for one person; returns the channels used."""
    session, now = run.session, run.now
    secret = run.context.settings.ensure_secret_key().get_secret_value()
    ack_url = f"{_base_url(run)}/ack/{make_token(secret, escalation.id, user_id, now)}"
    subject = f"[{alert.severity.upper()}] {alert.title}"[:300]
    body = f"{alert.title}\n{alert.description[:2000]}\nAlert #{alert.id} ({alert.dedup_key})".strip()
    channels = []
    plan_key = f"plan:{user_id}:{escalation.urgency}"
    if plan_key not in run.memo:
        run.memo[plan_key] = await plan_for(session=session, user_id=user_id, urgency=escalation.urgency)
    for rule, method in run.memo[plan_key]:
        key = (
            f"msg:{escalation.id}:{escalation.generation}:{escalation.round}:{step}:{user_id}:"
            f"{rule.id if rule else 'm' + str(method.id)}"
        )
        due = now + timedelta(seconds=rule.delay_seconds if rule else 0)
        message = OutgoingMessage(
            idempotency_key=key,
            escalation_id=escalation.id,
            alert_id=alert.id,
            user_id=user_id,
            contact_method_id=method.id,
            channel=method.kind,
            address=method.address,
            subject=subject,
            body=f"{body}\nAcknowledge: {ack_url}",
            state="pending",
            due_at=due,
            created_at=now,
        )
        session.add(message)  # flushed with the group: the job finds it by its key, not its id
        spec = JobSpec(
            "notify.send",
            {"message_key": key, "ack_url": ack_url},
            queue=f"notify.{method.kind}",
            run_at=due,
            idempotency_key=f"send:{key}",
            max_attempts=NOTIFY_ATTEMPTS,
        )
        await stage(session=session, spec=spec, now=now)
        channels.append(method.kind)
    return channels


async def _trail(
    session: AsyncSession, alert: Alert, who: User, channels: list[str], escalation: Escalation, now: datetime
) -> None:
    """The "why was I paged" trail: on the alert, and on its incident's timeline."""
    data = {"user": who.email, "channels": channels, "step": escalation.step, "round": escalation.round}
    session.add(
        AlertEvent(alert_id=alert.id, request_id=None, at=now, action="paged", actor="warroom", data=data)
    )
    if alert.incident_id is not None:
        incident = await session.get(Incident, alert.incident_id, with_for_update=True)
        if incident is not None:
            await record(session, incident, "warroom", "paged", now, alert_id=alert.id, **data)


async def _memo(run: JobRun, key: str, lookup: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
    """A lookup done once per group of step jobs (one transaction, one `now`), not once per step."""
    if key not in run.memo:
        run.memo[key] = await lookup(session=run.session, **kwargs)
    found: T = run.memo[key]
    return found


async def run_step(run: JobRun, payload: dict[str, Any]) -> None:
    session = run.session
    escalation = await session.get(Escalation, int(payload["escalation_id"]), with_for_update=True)
    if escalation is None or escalation.state != "active":
        return
    if (escalation.generation, escalation.round, escalation.step) != (
        payload["generation"],
        payload["round"],
        payload["step"],
    ):
        return  # a stale job from before a restart, or a duplicate
    alert = await session.get(Alert, escalation.alert_id)
    steps = await _memo(run, f"steps:{escalation.policy_id}", policy_steps, policy_id=escalation.policy_id)
    if alert is None or not steps:
        escalation.state = "exhausted"
        return
    # The policy's steps may have been replaced since this job was queued (policy_service's note): walk the
    # new steps from the same place, and if there are fewer now, page the last one rather than nobody. The
    # walk's own counter stays as it is, so message keys never repeat one already used in this round.
    current = steps[min(escalation.step, len(steps) - 1)]
    targets = await _memo(run, f"targets:{current.id}", target_users, targets=current.targets, at=run.now)
    for user_id in targets:
        channels = await _page_user(run, escalation, alert, user_id, escalation.step)
        user = await session.get(User, user_id)
        if user is not None:
            await _trail(session, alert, user, channels, escalation, run.now)
    await _advance(run, escalation, steps)


async def _advance(run: JobRun, escalation: Escalation, steps: list[Any]) -> None:
    policy = await run.session.get(EscalationPolicy, escalation.policy_id)
    next_step, next_round = escalation.step + 1, escalation.round
    if next_step >= len(steps):
        if policy is None or escalation.round >= policy.repeat:
            escalation.state = "exhausted"
            return
        next_step, next_round = 0, escalation.round + 1
    escalation.step, escalation.round = next_step, next_round
    delay = timedelta(seconds=steps[next_step].delay_seconds)
    if next_step == 0 and delay == timedelta(0):
        delay = REPEAT_PAUSE
    await stage(session=run.session, spec=step_spec(escalation, run.now + delay), now=run.now)


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
    if state == "acknowledged":
        # "exhausted": every step paged and nobody answered yet; an acknowledgement still counts.
        where = Escalation.state.in_(("active", "exhausted"))
        values: dict[str, Any] = {"acknowledged_at": now, "acknowledged_by": actor}
    else:
        where, values = Escalation.state.in_(("active", "acknowledged", "exhausted")), {}
    result = await session.execute(
        update(Escalation)
        .where(Escalation.alert_id.in_(alert_ids), where)
        .values(state=state, **values)
        .returning(Escalation.id)
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

"""The `escalation.step` jobs of one group, in one transaction and a handful of set-wise statements.

A step pages the targets of one step of one round and schedules the next step; its job is idempotent per
(escalation, generation, round, step): the escalation row is locked and its counters checked, so several
workers racing page once. Each page is an OutgoingMessage with its own `notify.send` job on its channel's
queue, due after the person's rule delay. Acknowledging stops the walk (the next step job finds the
escalation no longer active) and cancels the messages not yet sent.

For a group: one locking read of the escalations, one read of their alerts, lookups memoised for the group
(policy steps, who is on call, contact plans, emails), then one multi-row INSERT each for the messages, the
jobs and the alerts' "paged" events, and one UPDATE (executemany) for the escalations' counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import Table, insert, select

from warroom.alerts.models import AlertEvent
from warroom.auth.models import User
from warroom.catalog.models import Service
from warroom.incidents.models import Incident
from warroom.jobs import held
from warroom.jobs.config_cache import CACHED
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, insert_jobs, record_ran, savepoint
from warroom.notify.outbox import queued_message
from warroom.notify.service import plan_for
from warroom.oncall.models import EscalationPolicy, EscalationStep
from warroom.oncall.policy_service import policy_steps, target_people
from warroom.paging.engine import REPEAT_PAUSE, step_key
from warroom.paging.handed import write_messages
from warroom.paging.walks import ADVANCE, Paged, Walk, read_alerts, read_walks
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

log = structlog.get_logger("warroom.paging")
_EVENTS = cast(Table, AlertEvent.__table__)
_INSERT_EVENTS = insert(_EVENTS).inline()  # no RETURNING of new ids: nobody reads them (jobs.held)


@dataclass
class Writes:
    """What the group's steps add, written together at the end."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[JobSpec] = field(default_factory=list)


async def _paged(run: JobRun, walk: Walk, alerts: dict[int, Paged]) -> Paged | None:
    """What the walk's pages are about: its alert, or the incident whose declaration started it."""
    if walk.alert_id is not None:
        return alerts.get(walk.alert_id)
    incident = await run.session.get(Incident, walk.incident_id) if walk.incident_id else None
    if incident is None:
        return None
    ref = f"INC-{incident.id}"
    title = f"{ref} {incident.title}"
    return Paged(
        None,
        incident.severity,
        title,
        walk.reason or "",
        ref,
        incident.id,
        incident.restricted,
        incident.drill,
    )


async def _memo(run: JobRun, key: str, lookup: Any, **kwargs: Any) -> Any:
    """A lookup done once per group of step jobs (one transaction, one `now`), not once per step."""
    if key not in run.memo:
        run.memo[key] = await lookup(session=run.session, **kwargs)
    return run.memo[key]


async def _email(session: Any, user_id: int) -> str | None:
    email: str | None = await session.scalar(select(User.email).where(User.id == user_id))
    return email


async def _repeat(session: Any, policy_id: int | None) -> int | None:
    if policy_id is None:
        return None
    repeat: int | None = await session.scalar(
        select(EscalationPolicy.repeat).where(EscalationPolicy.id == policy_id)
    )
    return repeat


async def run_steps(run: JobRun, payloads: list[dict[str, Any]]) -> None:
    walks = await read_walks(run, payloads)
    alerts = await read_alerts(run, list(walks.values()))
    writes = Writes()
    for payload in payloads:
        walk = walks.get(int(payload["escalation_id"]))
        if walk is None or walk.state != "active":
            continue
        if (walk.generation, walk.round, walk.step) != (
            payload["generation"],
            payload["round"],
            payload["step"],
        ):
            continue  # a stale job from before a restart, or a duplicate
        await _run_step(run, walk, await _paged(run, walk, alerts), writes)
    await _write(run, walks, writes)


async def run_due_now(run: JobRun, specs: list[JobSpec]) -> None:
    """First steps due at once, run in the transaction of the triage that started their walks instead of
    queued for a claim of their own: a page is one job fewer (a claim, a commit, a wake) and sooner. In a
    savepoint: should they fail, they are queued as jobs after all (retried on their own) and the triage
    stands. Recorded as done jobs, so the jobs table shows every step that ran and keeps their keys."""
    if not specs:
        return
    handed = len(run.hand_off.jobs) if run.hand_off is not None else 0
    try:
        async with savepoint(run.session):
            await run_steps(run, [spec.payload for spec in specs])
    except Exception as error:  # noqa: BLE001  (queued instead: the step jobs retry on their own)
        if run.hand_off is not None:  # rolled back with the savepoint: not to be run
            run.hand_off.forget_after(handed)
        log.warning("first steps failed in triage; queued as jobs", steps=len(specs), error=repr(error))
        await insert_jobs(session=run.session, specs=specs, now=run.now)
        return
    await record_ran(session=run.session, specs=specs, now=run.now)


async def _run_step(run: JobRun, walk: Walk, alert: Paged | None, writes: Writes) -> None:
    steps = await _steps(run, walk)
    walk.changed = True
    if alert is None or not steps:
        walk.state = "exhausted"
        return
    # The policy's steps may have been replaced since this job was queued (policy_service's note): walk the
    # new steps from the same place, and if there are fewer now, page the last one rather than nobody. The
    # walk's own counter stays as it is, so message keys never repeat one already used in this round.
    current = steps[min(walk.step, len(steps) - 1)]
    key = f"targets:{current.id}" if walk.policy_id is not None else f"targets:walk:{walk.id}"
    if walk.policy_id is not None and all(target["type"] == "user" for target in current.targets):
        key = f"{CACHED}{key}"  # people named in a policy's step: who they are is configuration, kept
    people = await _memo(run, key, target_people, targets=current.targets, at=run.now)
    for user_id, via in people:
        notified = await _page_user(run, walk, alert, user_id, writes)
        email = await _memo(run, f"{CACHED}email:{user_id}", _email, user_id=user_id)
        if email is not None:
            await _trail(run, walk, alert, Chosen(email, via, notified), writes)
    await _advance(run, walk, steps, writes)


def page_text(alert: Paged) -> tuple[str, str]:
    """The page's subject and body, "[DRILL]" first for a drill's (nobody may take a drill for real)."""
    subject, body = _page_text(alert)
    return (f"[DRILL] {subject}"[:300], f"[DRILL] {body}") if alert.drill else (subject, body)


def _page_text(alert: Paged) -> tuple[str, str]:
    """Contact methods (SMS, email, chat) are not private to an incident, so an alert on a restricted
    incident (or the incident itself) is paged as "restricted incident INC-n" and says nothing more."""
    if alert.restricted:
        named = f"restricted incident INC-{alert.incident_id}"
        about = named if alert.id is None else f"Alert #{alert.id} on {named}"
        return f"[{alert.severity.upper()}] {named}", f"{about}: open warroom for details."
    subject = f"[{alert.severity.upper()}] {alert.title}"[:300]
    about = f"Incident {alert.dedup_key}" if alert.id is None else f"Alert #{alert.id} ({alert.dedup_key})"
    body = f"{alert.title}\n{alert.description[:2000]}\n{about}".strip()
    return subject, body


async def _steps(run: JobRun, walk: Walk) -> list[EscalationStep]:
    """The policy's steps; a walk without a policy is one step paging its own targets at once."""
    if walk.policy_id is None:
        return [EscalationStep(position=0, delay_seconds=0, targets=walk.targets or [])]
    steps: list[EscalationStep] = await _memo(
        run, f"{CACHED}steps:{walk.policy_id}", policy_steps, policy_id=walk.policy_id
    )
    return steps


def why_link(base_url: str, alert: Paged) -> str:
    """Where the person paged reads why: the alert's page, or the incident's timeline."""
    if alert.id is not None:
        return f"{base_url}/alerts/{alert.id}#paging"
    return f"{base_url}/incidents/INC-{alert.incident_id}#timeline"


async def _page_user(
    run: JobRun, walk: Walk, alert: Paged, user_id: int, writes: Writes
) -> list[dict[str, Any]]:
    """Messages (one per notification rule) for one person; returns each one's channel and delay."""
    now = run.now
    subject, body = page_text(alert)
    body = f"{body}\nWhy you were paged: {why_link(run.context.settings.resolved_base_url(), alert)}"
    plan = await _memo(
        run, f"{CACHED}plan:{user_id}:{walk.urgency}", plan_for, user_id=user_id, urgency=walk.urgency
    )
    notified = []
    for rule, method in plan:
        key = (
            f"msg:{walk.id}:{walk.generation}:{walk.round}:{walk.step}:{user_id}:"
            f"{rule.id if rule else 'm' + str(method.id)}"
        )
        delay = rule.delay_seconds if rule else 0
        queued = queued_message(
            key=key,
            channel=method.kind,
            address=method.address,
            subject=subject,
            body=body,
            now=now,
            due=now + timedelta(seconds=delay),
            escalation_id=walk.id,
            alert_id=alert.id,
            user_id=user_id,
            contact_method_id=method.id,
        )  # fmt: skip  (no acknowledge link here: paging/delivery mints it at send time, never stored)
        writes.messages.append(queued.row)
        writes.jobs.append(queued.job)
        notified.append({"channel": method.kind, "after_seconds": delay, "rule": rule.id if rule else None})
    return notified


class Chosen(NamedTuple):
    """Who a step paged, how the step reached them, and each message their notification rules sent."""

    email: str
    via: str
    notified: list[dict[str, Any]]


async def _names(run: JobRun, walk: Walk, alert: Paged) -> dict[str, Any]:
    """The policy and service in the chain, by slug (looked up once per group)."""
    names: dict[str, Any] = {}
    if walk.policy_id is not None:
        query = select(EscalationPolicy.slug).where(EscalationPolicy.id == walk.policy_id)
        names["policy"] = await _memo(run, f"{CACHED}policy-slug:{walk.policy_id}", _scalar, query=query)
    if alert.service_id is not None:
        query = select(Service.slug).where(Service.id == alert.service_id)
        names["service"] = await _memo(run, f"{CACHED}service-slug:{alert.service_id}", _scalar, query=query)
    return names


async def _scalar(session: Any, query: Any) -> Any:
    return await session.scalar(query)


async def _trail(run: JobRun, walk: Walk, alert: Paged, chosen: Chosen, writes: Writes) -> None:
    """The "why was I paged" trail, on the alert and on its incident's timeline: what started the walk
    (the alert and how it was routed, or the declaration), the service, the policy and step, how the step
    reached the person (schedule layer or override, team, named), and each channel with its delay."""
    data: dict[str, Any] = {
        "user": chosen.email, "channels": [n["channel"] for n in chosen.notified], "step": walk.step,
        "round": walk.round, "via": chosen.via, "notified": chosen.notified, **await _names(run, walk, alert),
    }  # fmt: skip
    if walk.reason and alert.id is not None:
        data["origin"] = walk.reason  # how the alert came to this service (an incident's walk: `reason`)
    if alert.id is not None:
        writes.events.append(
            {"alert_id": alert.id, "request_id": None, "at": run.now, "action": "paged", "actor": "warroom",
             "data": data}
        )  # fmt: skip
    why = {"alert_id": alert.id} if alert.id is not None else {"reason": walk.reason or ""}
    if alert.incident_id is not None:  # an incident's timeline is a hash chain: one event at a time
        incident = await run.session.get(Incident, alert.incident_id, with_for_update=True)
        if incident is not None:
            await record(run.session, incident, "warroom", EventKind.paged, run.now, **why, **data)


async def _advance(run: JobRun, walk: Walk, steps: list[EscalationStep], writes: Writes) -> None:
    repeat = await _memo(run, f"{CACHED}repeat:{walk.policy_id}", _repeat, policy_id=walk.policy_id)
    next_step, next_round = walk.step + 1, walk.round
    if next_step >= len(steps):
        if repeat is None or walk.round >= repeat:
            walk.state = "exhausted"
            return
        next_step, next_round = 0, walk.round + 1
    walk.step, walk.round = next_step, next_round
    delay = timedelta(seconds=steps[next_step].delay_seconds)
    if next_step == 0 and delay == timedelta(0):
        delay = REPEAT_PAUSE
    payload = {
        "escalation_id": walk.id,
        "generation": walk.generation,
        "round": walk.round,
        "step": walk.step,
    }
    key = step_key(walk.id, walk.generation, walk.round, walk.step)
    writes.jobs.append(JobSpec("escalation.step", payload, run_at=run.now + delay, idempotency_key=key))


async def _write(run: JobRun, walks: dict[int, Walk], writes: Writes) -> None:
    session = run.session
    queued = await write_messages(
        run, writes.messages, writes.jobs
    )  # pages due now handed off (paging.handed)
    if writes.events:  # none of these is read back in this transaction: held for its commit (jobs.held)
        await held.write(session, _INSERT_EVENTS, writes.events)
    changed = [
        {
            "b_id": w.id,
            "b_state": w.state,
            "b_step": w.step,
            "b_round": w.round,
            "b_generation": w.generation,
            "b_was_step": w.was[0],
            "b_was_round": w.was[1],
        }
        for w in walks.values()
        if w.changed
    ]
    if changed:
        await held.write(session, ADVANCE, changed)
    await insert_jobs(session=session, specs=queued, now=run.now)

"""Running playbook actions: a started step asks for its action; a pre-approved one is queued at once,
any other waits for the incident commander's approval; the `playbook.action` job makes the signed call and
records the answer. Drills never call out: the run records what would have been sent."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warroom.actions import domain
from warroom.actions.models import ActionRun
from warroom.auth.models import User
from warroom.errors import Conflict, NotFound
from warroom.incidents import playbooks
from warroom.incidents.domain import incident_ref
from warroom.incidents.models import Incident, Task
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import JobSpec, enqueue
from warroom.procedure.domain import parse_duration
from warroom.procedure.loader import LoadedProcedure
from warroom.procedure.playbook_schema import Action
from warroom.timeline.kinds import EventKind
from warroom.timeline.service import record

ACTION_KIND = "playbook.action"
ACTION_QUEUE = "actions"  # its own queue: a slow automation endpoint never delays pages or chat
ATTEMPTS = 3


class ActionCallFailed(Exception):
    """The automation did not take the call (an error or a non-2xx answer); the job tries again."""


def _action(loaded: LoadedProcedure, action_id: str) -> Action | None:
    return next((a for a in loaded.procedure.actions if a.id == action_id), None)


async def _queue(session: AsyncSession, run: ActionRun, now: datetime) -> None:
    spec = JobSpec(ACTION_KIND, {"run_id": run.id}, queue=ACTION_QUEUE, max_attempts=ATTEMPTS,
                   idempotency_key=f"action:{run.id}")  # fmt: skip
    await enqueue(session=session, spec=spec, now=now)


async def start_step(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    task: Task,
    target: str,
    now: datetime,
) -> ActionRun | None:
    """Start a step; if it names an automated action, ask for it (queued when pre-approved). Starting again
    returns the run already asked for, unless that one failed."""
    await playbooks.start_step(session=session, actor=actor, incident=incident, task=task, now=now)
    action = _action(loaded, task.action) if task.action else None
    if action is None or action.url is None:
        return None  # no action, or not automated here: done by hand
    query = select(ActionRun).where(ActionRun.task_id == task.id, ActionRun.state != "failed")
    existing = await session.scalar(query.order_by(ActionRun.id.desc()).limit(1))
    if existing is not None:
        return existing
    run = ActionRun(
        incident_id=incident.id,
        task_id=task.id,
        action=action.id,
        state="queued" if action.pre_approved else "awaiting_approval",
        target=target.strip(),
        requested_by_id=actor.id,
        requested_at=now,
        request={},
        response_body="",
        error="",
    )
    session.add(run)
    await session.flush()
    await record(session, incident, actor, EventKind.action_requested, now, run_id=run.id, action=action.id,
                 name=action.name, target=run.target, pre_approved=action.pre_approved)  # fmt: skip
    if run.state == "queued":
        await _queue(session, run, now)
    return run


async def get_run(session: AsyncSession, incident: Incident, run_id: int) -> ActionRun:
    run = await session.get(ActionRun, run_id)
    if run is None or run.incident_id != incident.id:
        raise NotFound(f"no action run {run_id} on {incident_ref(incident.id)}")
    return run


async def approve(
    *,
    session: AsyncSession,
    loaded: LoadedProcedure,
    actor: User,
    incident: Incident,
    run: ActionRun,
    now: datetime,
) -> ActionRun:
    """The commander's one click that lets an action that is not pre-approved run."""
    await playbooks.require_commander(session, incident, actor, "approve an action")
    if run.state != "awaiting_approval":
        raise Conflict(f"action run {run.id} is {run.state.replace('_', ' ')}, not awaiting approval")
    action = _action(loaded, run.action)
    run.state, run.approved_by_id, run.approved_at = "queued", actor.id, now
    await record(session, incident, actor, EventKind.action_approved, now, run_id=run.id, action=run.action,
                 name=action.name if action else run.action, target=run.target)  # fmt: skip
    await _queue(session, run, now)
    await session.flush()
    return run


async def list_runs(session: AsyncSession, incident_id: int) -> list[ActionRun]:
    query = select(ActionRun).where(ActionRun.incident_id == incident_id).order_by(ActionRun.id)
    return list((await session.scalars(query)).all())


async def _request(
    session: AsyncSession, run: ActionRun, incident: Incident, base_url: str
) -> dict[str, Any]:
    task = await session.get(Task, run.task_id) if run.task_id else None
    people = {u.id: u.email for u in await session.scalars(
        select(User).where(User.id.in_([i for i in (run.requested_by_id, run.approved_by_id) if i]))
    )}  # fmt: skip
    ref = incident_ref(incident.id)
    return {
        "id": run.id,
        "action": run.action,
        "target": run.target,
        "incident": {"ref": ref, "url": f"{base_url}/incidents/{ref}", "severity": incident.severity},
        "step": {"id": task.step_id, "title": task.title} if task else None,
        "requested_by": people.get(run.requested_by_id or 0),
        "approved_by": people.get(run.approved_by_id or 0),
    }


async def _finish(run: JobRun, run_id: int, state: str, **outcome: Any) -> None:
    """Record the outcome, taking the write turn only now: the call itself held no lock."""
    await run.take_turn()
    action_run = await run.session.get(ActionRun, run_id, with_for_update=True)
    if action_run is None or action_run.state != "queued":
        return  # settled meanwhile
    # Locked: other jobs append to the same timeline (its head is on the incident row).
    incident = await run.session.get(Incident, action_run.incident_id, with_for_update=True)
    if incident is None:
        return
    action_run.state, action_run.finished_at = state, run.now
    action_run.request = outcome.pop("request", action_run.request)
    action_run.response_status = outcome.get("status")
    action_run.response_body = str(outcome.get("answer", ""))[: domain.ANSWER_LIMIT]
    action_run.error = str(outcome.get("error", ""))
    kind = EventKind.action_failed if state == "failed" else EventKind.action_succeeded
    data = {"run_id": action_run.id, "action": action_run.action, "target": action_run.target, **outcome}
    await record(run.session, incident, "warroom", kind, run.now, **data)


async def _call(action: Action, secret: str, body: bytes) -> tuple[int, str]:
    headers = domain.signed_headers(secret, int(time.time()), body)
    timeout = parse_duration(action.timeout).total_seconds()
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            response = await http.post(str(action.url), content=body, headers=headers)
    except httpx.HTTPError as error:
        raise ActionCallFailed(f"{type(error).__name__}: {error}") from None
    return response.status_code, response.text[: domain.ANSWER_LIMIT]


async def _prepare(run: JobRun, run_id: int) -> tuple[dict[str, Any], bool] | None:
    """What to send and whether it is a drill, read in a session of its own (no write turn held)."""
    async with run.context.db.read() as session:
        action_run = await session.get(ActionRun, run_id)
        if action_run is None or action_run.state != "queued":
            return None  # already settled by an earlier attempt
        incident = await session.get(Incident, action_run.incident_id)
        if incident is None:
            return None
        base_url = run.context.settings.resolved_base_url()
        return await _request(session, action_run, incident, base_url), incident.drill


async def run_action(run: JobRun, payload: dict[str, Any]) -> None:
    """The `playbook.action` job: the signed POST, its answer on the run and the timeline. A refusal is
    tried again (ATTEMPTS in all), then recorded as failed."""
    run_id = int(payload["run_id"])
    prepared = await _prepare(run, run_id)
    if prepared is None:
        return
    request, drill = prepared
    action = _action(run.context.procedure, str(request["action"]))
    secret = run.context.settings.action_secret
    if action is None or action.url is None:
        return await _finish(
            run, run_id, "failed", request=request, error="the action is no longer automated"
        )
    if drill:
        return await _finish(run, run_id, "succeeded", request=request, answer="drill: not sent", drill=True)
    if secret is None:
        return await _finish(run, run_id, "failed", request=request, error="WARROOM_ACTION_SECRET is not set")
    try:
        status, answer = await _call(action, secret.get_secret_value(), domain.body_bytes(request))
        if status >= 300:
            raise ActionCallFailed(f"HTTP {status}: {answer[:200]}")
    except ActionCallFailed as error:
        if run.attempt < ATTEMPTS:
            raise
        return await _finish(run, run_id, "failed", request=request, error=str(error))
    await _finish(run, run_id, "succeeded", request=request, status=status, answer=answer)

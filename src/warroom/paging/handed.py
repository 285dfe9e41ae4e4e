"""Pages written with their jobs handed off (jobs.kinds.HandOff): a page due at once, on a queue whose
rate has room, is written `sending` with its `notify.send` job already claimed, in the transaction that
queues it (a triage running an alert's first step, or a group of steps), and the worker sends it as soon as
that commits: no wake, claim gap or claim on its channel's queue, and no transaction of its own before the
send (paging.delivery's phase 1). Should the worker die first, the job's lease lapses, and the message,
found `sending`, is sent once its deadline has passed, as after any worker that died mid-send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from warroom.db import inserted_ids
from warroom.jobs.kinds import JobRun
from warroom.jobs.service import INSERT_CLAIMED, JobSpec
from warroom.notify.outbox import MESSAGES, SEND_KIND
from warroom.paging.delivery import as_taken, taken_with_the_job

# Built once (with RETURNING in the rows' order), as the other hot statements are.
_INSERT_RETURNING_IDS = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)


def _handed_off(run: JobRun, specs: list[JobSpec]) -> dict[str, JobSpec]:
    """By message key: the `notify.send` jobs the run may hand off (each takes its place in its queue's
    rate as it is admitted)."""
    hand_off = run.hand_off
    if hand_off is None:
        return {}
    return {
        str(spec.payload["message_key"]): spec
        for spec in specs
        if spec.kind == SEND_KIND and "message_key" in spec.payload and hand_off.admits(spec)
    }


async def write_messages(run: JobRun, rows: list[dict[str, Any]], specs: list[JobSpec]) -> list[JobSpec]:
    """Insert the messages `rows` (one multi-row INSERT); each whose job among `specs` the run may hand off
    is written taken, and its job handed off with it (the messages' and the jobs' INSERTs sent together:
    one wait on PostgreSQL). Returns the specs left to queue."""
    handed = _handed_off(run, specs)
    if not handed or run.hand_off is None:
        if rows:
            await run.session.execute(insert(MESSAGES), rows)
        return specs
    settings = run.context.settings
    # One INSERT takes one set of columns: the messages not handed off get the deadline column too (none).
    rows = [
        taken_with_the_job(row, settings, run.now)
        if row["idempotency_key"] in handed
        else {**row, "deadline": None}
        for row in rows
    ]
    taken = [row for row in rows if row["idempotency_key"] in handed]
    jobs = run.hand_off.rows([handed[row["idempotency_key"]] for row in taken], run.now)
    message_ids, job_ids = await inserted_ids(
        run.session, [(_INSERT_RETURNING_IDS, rows), (INSERT_CLAIMED, jobs)]
    )
    new_ids = {row["idempotency_key"]: message_id for message_id, row in zip(message_ids, rows, strict=True)}
    run.hand_off.took(job_ids, jobs, [as_taken(new_ids[row["idempotency_key"]], row) for row in taken])
    claimed = {id(handed[row["idempotency_key"]]) for row in taken}
    return [spec for spec in specs if id(spec) not in claimed]

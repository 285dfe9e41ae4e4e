"""A flooding integration's triage goes to a queue of its own (alerts/intake/flood.py), on the writer's thread
and the async way alike, so other services' triage and escalation steps on `default` never wait behind it;
the flood's alerts are still triaged, by a worker loop of that queue's own."""

from __future__ import annotations

from sqlalchemy import select

from tests.integration.conftest import Api
from tests.integration.test_intake_setwise import _made, _work
from warroom.alerts.intake.flood import DEFAULT_QUEUE, FLOOD_QUEUE, FloodMeter
from warroom.alerts.intake.writer import IntakeWriter
from warroom.alerts.models import Alert
from warroom.jobs.models import Job
from warroom.jobs.service import wake_here
from warroom.wiring import new_worker


async def _triage(api: Api, integration_id: int) -> list[tuple[str, str]]:
    """(queue, state) of the triage jobs of the integration's alerts, in the order they were queued."""
    ours = select(Alert.id).where(Alert.integration_id == integration_id)
    query = (
        select(Job.queue, Job.state)
        .where(Job.kind == "alert.triage", Job.payload["alert_id"].as_integer().in_(ours))
        .order_by(Job.id)
    )
    async with api.context.db.read() as session:
        return [(queue, state) for queue, state in await session.execute(query)]


async def test_a_flooding_integration_is_triaged_on_its_own_queue(api: Api) -> None:
    noisy, quiet = await _made(api), await _made(api)
    writer = IntakeWriter(api.context.db, flood=FloodMeter(limit=2))
    woken: list[str] = []
    forget = wake_here(woken.append)
    try:
        await writer.submit(_work(api, noisy, 0, [("trigger", "a", None), ("trigger", "b", None)]))
        await writer.submit(_work(api, noisy, 1, [("trigger", "c", None), ("trigger", "a", None)]))
        await writer.submit(_work(api, quiet, 2, [("trigger", "a", None)]))
        # An acknowledge sends its group the async way: the new alert beside it is counted all the same.
        mixed = [("trigger", "d", None), ("acknowledge", "a", "ann")]
        await writer.submit(_work(api, noisy, 3, mixed))
    finally:
        forget()
        await writer.stop()
    pending = [(DEFAULT_QUEUE, "pending")] * 2 + [(FLOOD_QUEUE, "pending")] * 2  # a, b | c (a: repeat) | d
    assert await _triage(api, noisy[0]) == pending
    assert await _triage(api, quiet[0]) == [(DEFAULT_QUEUE, "pending")]  # not held up by the other's flood
    assert FLOOD_QUEUE in woken and DEFAULT_QUEUE in woken
    worker = new_worker(api.context, periodic=())
    assert FLOOD_QUEUE in worker.limits  # run_forever runs one loop per queue of limits
    await worker.run_once()
    assert {state for _, state in await _triage(api, noisy[0])} == {"done"}

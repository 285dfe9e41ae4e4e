"""An alert's first escalation step, due at once, runs in the transaction of the triage that starts its walk
(paging.steps.run_due_now): its page needs no claim of its own. Should the step fail there, the triage still
stands and the step is queued as a job that retries on its own. Both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.restricted_helpers import TITLE, declare_security
from tests.integration.test_config_cache import reads_of, statements
from tests.integration.test_paging import fire, schedule_paged_service, setup
from warroom.alerts.models import Alert
from warroom.jobs.models import Job
from warroom.oncall.models import ScheduleLayer
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as running:
        yield running


async def _jobs(api: Api, kind: str) -> list[Job]:
    async with api.context.db.read() as session:
        return list(await session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))


async def test_the_first_step_runs_with_triage_and_is_recorded_done(api: Api, sink: Sink) -> None:
    key = await setup(api, sink)
    await fire(api, key)
    await new_worker(api.context, periodic=()).run_once()
    assert [r["path"] for r in sink.received] == ["/responder"]
    triage, steps = await _jobs(api, "alert.triage"), await _jobs(api, "escalation.step")
    assert [(j.state, j.attempts) for j in triage] == [("done", 1)]
    # the first ran in triage's transaction (recorded after the second, which it queued, waits its 300 s)
    first, second = sorted(steps, key=lambda job: int(job.payload["step"]))
    assert (first.payload["step"], first.state, first.attempts) == (0, "done", 1)
    assert first.finished_at == triage[0].finished_at  # one transaction, one `now`
    assert (second.payload["step"], second.state) == (1, "pending")
    assert second.run_at > first.finished_at


async def test_a_first_step_that_fails_in_triage_is_queued_and_triage_stands(api: Api, sink: Sink) -> None:
    key = await schedule_paged_service(api, sink, ("responder",))
    async with (
        api.context.db.write() as session
    ):  # a zone the API would refuse: who is on call cannot be told
        await session.execute(update(ScheduleLayer).values(time_zone="Nowhere/Atlantis"))
        await session.commit()
    await fire(api, key)
    await new_worker(api.context, periodic=()).run_once()
    assert sink.received == []
    async with api.context.db.read() as session:
        alert = (await session.scalars(select(Alert))).one()
    assert alert.triaged and alert.service_id is not None
    assert [j.state for j in await _jobs(api, "alert.triage")] == ["done"]
    (step,) = await _jobs(api, "escalation.step")
    assert (step.payload["step"], step.state, step.attempts) == (0, "pending", 1)  # queued, tried, to retry
    assert "Nowhere/Atlantis" in (step.last_error or "")


async def test_the_first_step_takes_its_walk_and_alert_from_triage(api: Api, sink: Sink) -> None:
    """The escalation triage has just inserted and the alert it has just read under lock are not read
    again by the first step, nor the alert's texts by the threat-intel match in the same transaction."""
    key = await setup(api, sink)
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="one")
    await worker.run_once()  # the configuration is cached: what is left is the alert's own reads
    await fire(api, key, dedup="two")
    with statements(api) as sent:
        await worker.run_once()
    assert reads_of(sent, "escalations") == 0
    alert_reads = [sql for sql in sent if "FROM alerts" in sql and not sql.startswith("UPDATE")]
    assert len(alert_reads) == 1 and "alerts.triaged" in alert_reads[0]  # triage's (locking) read only
    body = sink.bodies()[1]
    assert "two alarm" in body["subject"] and "(two)" in body["body"]


async def test_an_alert_put_on_a_restricted_incident_before_triage_is_paged_as_restricted(
    api: Api, sink: Sink
) -> None:
    key = await setup(api, sink)
    await fire(api, key)
    ref = await declare_security(api)
    attached = await api.admin.post("/api/v1/alerts/db-down/attach", json={"incident": ref})
    assert attached.status_code == 200, attached.text
    await new_worker(api.context, periodic=()).run_once()
    pages = [b for r, b in zip(sink.received, sink.bodies(), strict=True) if r["path"] == "/responder"]
    assert pages and all(TITLE not in page["subject"] + page["body"] for page in pages)
    assert f"restricted incident {ref}" in pages[0]["subject"]

"""One acknowledgement (issue #14, item 2; PagerDuty's model: an incident is acknowledged when someone owns
it): acknowledging an incident's alert acknowledges the incident and stops its response clock; acknowledging
the incident acknowledges its alerts and stops their paging; a sender's acknowledgement counts; the page
shows one Acknowledge and who acknowledged, when and how. Both databases, through the API and the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire
from tests.integration.test_paging import setup as paging_setup
from tests.integration.web_helpers import open_web, text_of
from warroom.jobs.worker import Worker
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as found:
        yield found


async def _incident_with_alerts(api: Api, sink: Sink, *dedups: str) -> tuple[str, Worker, list[int]]:
    """A P3 on `checkout` with the given alerts attached, each paged once (the responder, at once)."""
    key = await paging_setup(api, sink)
    worker = new_worker(api.context, periodic=())
    for dedup in dedups:
        await fire(api, key, dedup=dedup)
    await worker.run_once()
    declared = await api.responder.post("/api/v1/incidents", json={"title": "DB", "severity": "P3"})
    ref = str(declared.json()["ref"])
    ids = []
    for dedup in dedups:
        attached = await api.admin.post(f"/api/v1/alerts/{dedup}/attach", json={"incident": ref})
        assert attached.status_code == 200, attached.text
        ids.append(attached.json()["id"])
    return ref, worker, ids


async def _later_pages(api: Api, worker: Worker, sink: Sink) -> list[str]:
    """The pages sent once the policy's second step (5 minutes on) would have run."""
    before = len(sink.received)
    api.clock.advance(timedelta(minutes=6))
    await worker.run_once()
    return [r["path"] for r in sink.received[before:]]


async def test_acknowledging_an_alert_acknowledges_its_incident_and_its_other_alerts(
    api: Api, sink: Sink
) -> None:
    ref, worker, (first, second) = await _incident_with_alerts(api, sink, "db-down", "db-slow")
    api.clock.advance(timedelta(minutes=2))
    assert (await api.responder.post(f"/api/v1/alerts/{first}/acknowledge")).status_code == 200
    incident = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["acknowledged_at"] is not None and incident["response_target"]["state"] == "met"
    timeline = (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()
    acked = [e for e in timeline if e["kind"] == "acknowledged"]
    assert [(e["actor"], e["data"]) for e in acked] == [(api.emails["responder"], {"via": f"alert #{first}"})]
    other = (await api.viewer.get(f"/api/v1/alerts/{second}")).json()
    assert (other["status"], other["acknowledged_by"]) == ("acknowledged", api.emails["responder"])
    assert await _later_pages(api, worker, sink) == []  # neither alert pages the second step


async def test_acknowledging_the_incident_acknowledges_its_alerts_and_stops_their_paging(
    api: Api, sink: Sink
) -> None:
    ref, worker, ids = await _incident_with_alerts(api, sink, "db-down", "db-slow")
    assert (await api.responder.post(f"/api/v1/incidents/{ref}/acknowledge")).status_code == 200
    for alert_id in ids:
        alert = (await api.viewer.get(f"/api/v1/alerts/{alert_id}")).json()
        assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", api.emails["responder"])
        history = (await api.viewer.get(f"/api/v1/alerts/{alert_id}/events")).json()
        assert history[-1]["data"] == {"with_incident": ref}
    assert await _later_pages(api, worker, sink) == []


async def test_a_senders_acknowledgement_counts_and_a_resolved_incident_is_left_alone(
    api: Api, sink: Sink
) -> None:
    ref, _worker, (alert_id,) = await _incident_with_alerts(api, sink, "db-down")
    key = (await api.admin.get("/api/v1/integrations")).json()[0]["key"]
    sent = await api.anonymous.post(
        f"/intake/webhook/{key}", json={"id": "db-down", "title": "db-down alarm", "status": "acknowledged"}
    )
    assert sent.status_code == 202, sent.text
    incident = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert incident["acknowledged_at"] is not None, (
        await api.viewer.get(f"/api/v1/alerts/{alert_id}")
    ).json()
    later = (await api.responder.post("/api/v1/incidents", json={"title": "Old", "severity": "P4"})).json()[
        "ref"
    ]
    assert (
        await api.responder.post(f"/api/v1/incidents/{later}/resolve", json={"reason": "x"})
    ).status_code == 200
    key2 = await fire_and_attach(api, key, "cache-cold", later)
    assert (await api.responder.post(f"/api/v1/alerts/{key2}/acknowledge")).status_code == 200
    kinds = [e["kind"] for e in (await api.viewer.get(f"/api/v1/incidents/{later}/timeline")).json()]
    assert "alert_acknowledged" in kinds and "acknowledged" not in kinds


async def fire_and_attach(api: Api, key: str, dedup: str, ref: str) -> int:
    await fire(api, key, dedup=dedup)
    attached = await api.admin.post(f"/api/v1/alerts/{dedup}/attach", json={"incident": ref})
    assert attached.status_code == 200, attached.text
    return int(attached.json()["id"])


async def test_the_page_has_one_acknowledge_and_says_who_and_how(api: Api, sink: Sink) -> None:
    ref, _worker, (alert_id,) = await _incident_with_alerts(api, sink, "db-down")
    async with open_web(api) as web:
        page = (await web["responder"].client.get(f"/incidents/{ref}")).text
        assert (
            page.count(">Acknowledge") == 1
            and "Acknowledge (stop the response clock)" in page
            and f'action="/alerts/{alert_id}/acknowledge"' not in page
        )
        assert (await web["responder"].post(f"/alerts/{alert_id}/acknowledge", {})).status_code == 303
        after = await web["viewer"].client.get(f"/incidents/{ref}")
        start = after.text.index('id="acknowledged-by">') + len('id="acknowledged-by">')
        said = text_of(after.text[start:])
        assert said.startswith("Acknowledged by Responder") and f"(via alert #{alert_id})" in said
        assert "Acknowledge (stop" not in after.text  # the button is gone once someone owns it
        assert f"Acknowledged via alert #{alert_id}" in text_of(after.text)

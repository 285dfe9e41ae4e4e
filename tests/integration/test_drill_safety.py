"""A drill never reaches a customer, the public or anyone outside its audience (issue #17, the harmful defect
first): its stakeholder update goes only to lists that take drills, marked [DRILL]; an external audience can
never take drills; it cannot go on the public status page; its pages say [DRILL]; its page says it is one.
Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.fakes.sink import Sink, running_sink
from tests.integration.conftest import Api
from tests.integration.test_paging import fire
from tests.integration.test_paging import setup as paging_setup
from tests.integration.web_helpers import open_web
from warroom.notify.models import OutgoingMessage
from warroom.procedure.comms_schema import Audience
from warroom.wiring import new_worker


@pytest.fixture
def sink() -> Iterator[Sink]:
    with running_sink() as found:
        yield found


async def _lists(api: Api) -> None:
    for audience in ("internal", "executives", "customers"):
        body = {"audience": audience, "channel": "log", "address": f"{audience}@example.org"}
        assert (await api.admin.post("/api/v1/stakeholders", json=body)).status_code == 201


async def _messages(api: Api) -> list[tuple[str, str, str]]:
    async with api.context.db.read() as session:
        rows = (await session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))).all()
    return [(m.address, m.subject, m.body) for m in rows]


async def test_a_drills_update_reaches_only_lists_that_take_drills_marked(api: Api) -> None:
    await _lists(api)
    drill = await api.responder.post(
        "/api/v1/incidents", json={"title": "Checkout down", "severity": "P1", "drill": True}
    )
    ref = drill.json()["ref"]
    posted = await api.responder.post(
        f"/api/v1/incidents/{ref}/updates", json={"audience": "stakeholder", "body": "We are investigating."}
    )
    assert posted.status_code == 201, posted.text
    sent = await _messages(api)
    assert [address for address, _s, _b in sent] == ["internal@example.org"]
    assert all(subject.startswith("[DRILL] ") and body.startswith("[DRILL] ") for _a, subject, body in sent)
    chosen = await api.responder.post(
        f"/api/v1/incidents/{ref}/updates",
        json={"audience": "stakeholder", "body": "x", "audiences": ["customers"]},
    )
    assert chosen.status_code == 422 and "customers" in chosen.text
    assert len(await _messages(api)) == 1  # refused: nothing more queued
    real = await api.responder.post("/api/v1/incidents", json={"title": "Real one", "severity": "P1"})
    await api.responder.post(
        f"/api/v1/incidents/{real.json()['ref']}/updates", json={"audience": "stakeholder", "body": "Real."}
    )
    later = (await _messages(api))[1:]
    assert sorted(a for a, _s, _b in later) == [
        "customers@example.org",
        "executives@example.org",
        "internal@example.org",
    ]
    assert not any("[DRILL]" in s for _a, s, _b in later)


def test_an_external_audience_can_never_take_drills() -> None:
    with pytest.raises(ValidationError, match="can never take drills"):
        Audience(id="customers", name="Customers", internal=False, drills=True)


async def test_a_drill_never_goes_on_the_public_status_page(api: Api) -> None:
    drill = await api.responder.post(
        "/api/v1/incidents", json={"title": "Game day", "severity": "P2", "drill": True}
    )
    linked = await api.admin.post(
        "/api/v1/status-page/incidents",
        json={"name": "Checkout degraded", "body": "Looking into it.", "incident": drill.json()["ref"]},
    )
    assert linked.status_code == 422 and "is a drill" in linked.text
    assert "Checkout degraded" not in (await api.anonymous.get("/status")).text


async def test_a_drills_pages_and_page_say_drill(api: Api, sink: Sink) -> None:
    key = await paging_setup(api, sink)
    drill = await api.responder.post(
        "/api/v1/incidents", json={"title": "Game day", "severity": "P3", "drill": True}
    )
    ref = drill.json()["ref"]
    worker = new_worker(api.context, periodic=())
    await fire(api, key, dedup="drill-db")
    await worker.run_once()  # paged before it joined the drill: a plain page
    assert (await api.admin.post("/api/v1/alerts/drill-db/attach", json={"incident": ref})).status_code == 200
    assert (await api.admin.post("/api/v1/alerts/drill-db/escalate")).status_code == 200
    await worker.run_once()
    subjects = [body["subject"] for body in sink.bodies()]
    assert len(subjects) == 2 and not subjects[0].startswith("[DRILL]") and subjects[1].startswith("[DRILL] ")
    async with open_web(api) as web:
        page = (await web["viewer"].client.get(f"/incidents/{ref}")).text
    assert 'id="drill-banner"' in page


async def test_end_drill_stops_every_page_resolves_its_alerts_and_closes_it(api: Api, sink: Sink) -> None:
    key = await paging_setup(api, sink)
    worker = new_worker(api.context, periodic=())
    drill = await api.admin.post(  # the admin runs this drill; the responder only takes part
        "/api/v1/incidents", json={"title": "Game day", "severity": "P3", "drill": True}
    )
    ref = drill.json()["ref"]
    await fire(api, key, dedup="drill-db")
    await worker.run_once()
    assert (await api.admin.post("/api/v1/alerts/drill-db/attach", json={"incident": ref})).status_code == 200
    paged = len(sink.received)
    assert (
        await api.responder.post(f"/api/v1/incidents/{ref}/drill/end")
    ).status_code == 403  # neither declared it nor commands it
    ended = await api.admin.post(f"/api/v1/incidents/{ref}/drill/end")
    assert ended.status_code == 200, ended.text
    assert [a["status"] for a in ended.json()["items"]] == ["resolved"]
    api.clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert len(sink.received) == paged  # the policy's second step never pages
    incident = (await api.viewer.get(f"/api/v1/incidents/{ref}")).json()
    assert (incident["status"], incident["phase"], incident["drill"]) == ("closed", "closed", True)
    kinds = [e["kind"] for e in (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()]
    assert kinds[-3:] == ["drill_ended", "resolved", "closed"]
    assert (await api.admin.post(f"/api/v1/incidents/{ref}/drill/end")).status_code == 409  # ended already
    real = await api.responder.post("/api/v1/incidents", json={"title": "Real", "severity": "P3"})
    refused = await api.admin.post(f"/api/v1/incidents/{real.json()['ref']}/drill/end")
    assert refused.status_code == 409 and "not a drill" in refused.text


async def test_end_drill_from_the_page(api: Api) -> None:
    drill = await api.responder.post(
        "/api/v1/incidents", json={"title": "Game day", "severity": "P3", "drill": True}
    )
    ref = drill.json()["ref"]
    async with open_web(api) as web:
        page = (await web["admin"].client.get(f"/incidents/{ref}")).text
        assert f'action="/incidents/{ref}/drill/end"' in page
        assert (await web["admin"].post(f"/incidents/{ref}/drill/end", {})).status_code == 303
        closed = (await web["admin"].client.get(f"/incidents/{ref}")).text
        assert "Drill ended in Triage" in closed and f'action="/incidents/{ref}/drill/end"' not in closed


async def test_a_drill_is_declared_from_the_page(api: Api) -> None:
    async with open_web(api) as web:
        form = {"title": "Game day: database failover", "severity": "P3", "drill": "1"}
        declared = await web["responder"].post("/declare", form)
        assert declared.status_code == 303, declared.text
    listed = (await api.viewer.get("/api/v1/incidents")).json()["items"]
    assert [(i["title"], i["drill"]) for i in listed] == [("Game day: database failover", True)]

"""Concurrent writers on one incident: every write lands, in one unbroken hash chain, on both databases."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import Api
from warroom.incidents.audit import verify_all


async def test_concurrent_notes_on_one_incident_keep_one_chain(api: Api) -> None:
    created = await api.responder.post("/api/v1/incidents", json={"title": "busy", "severity": "P2"})
    ref = created.json()["ref"]

    async def note(n: int) -> int:
        client = api.responder if n % 2 else api.admin
        response = await client.post(f"/api/v1/incidents/{ref}/updates", json={"body": f"note {n}"})
        return response.status_code

    statuses = await asyncio.gather(*(note(n) for n in range(40)))
    assert statuses == [201] * 40
    timeline = (await api.responder.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    assert sorted(e["data"]["body"] for e in timeline if e["kind"] == "note") == sorted(
        f"note {n}" for n in range(40)
    )
    async with api.context.db.read() as session:
        report = await verify_all(session=session)
    assert report.broken == [] and report.events_checked == len(timeline)


async def test_concurrent_declarations_get_distinct_refs(api: Api) -> None:
    async def declare(n: int) -> str:
        response = await api.responder.post("/api/v1/incidents", json={"title": f"i{n}", "severity": "P3"})
        assert response.status_code == 201, response.text
        return str(response.json()["ref"])

    refs = await asyncio.gather(*(declare(n) for n in range(20)))
    assert len(set(refs)) == 20
    assert (await api.viewer.get("/api/v1/incidents")).json()["total"] == 20

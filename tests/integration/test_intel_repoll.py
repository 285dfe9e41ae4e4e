"""A re-poll updates indicators in place (issue #16), on both databases: the same STIX id comes back
revoked, the feed counts it as updated, and it stops matching at once (the worker's index notices)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.integration.conftest import Api
from tests.integration.test_intel import alertmanager, bundle, indicator, ok, setup, work

C2 = "203.0.113.200"


async def test_a_revoked_indicator_is_updated_in_place_and_stops_matching(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    live = indicator(f"[ipv4-addr:value = '{C2}']", name="C2 relay")
    spare = indicator("[domain-name:value = 'relay.example']")
    url = bundle(tmp_path / "c2.json", live, spare)
    feed = {"slug": "c2", "name": "C2", "kind": "stix", "url": url, "raise_to": "critical"}
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    await alertmanager(api, key, C2, "BeforeRevocation")
    await work(api)

    later = (api.clock.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bundle(tmp_path / "c2.json", {**live, "modified": later, "revoked": True}, spare)
    api.clock.advance(timedelta(hours=2))  # past the feed's hourly interval: polled again
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {"added": 0, "updated": 1, "rejected": 0}, state["last_error"]
    assert state["indicators"] == 2  # updated in place, not added beside
    (stored,) = await ok(await api.viewer.get("/api/v1/intel/indicators", params={"value": C2}))
    assert stored["revoked"] is True

    await alertmanager(api, key, C2, "AfterRevocation")
    await work(api)
    alerts = {a["title"].split(" ")[0]: a for a in (await ok(await api.admin.get("/api/v1/alerts")))["items"]}
    assert alerts["BeforeRevocation"]["severity"] == "critical"
    assert alerts["AfterRevocation"]["severity"] == "warning"

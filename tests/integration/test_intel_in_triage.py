"""A triage group's threat-intel match runs in triage's own transaction when that is cheap and bounded
(intel.actions.match_in_place): the worker holds the index, the indicators are unchanged since, and none
is a STIX pattern. Otherwise, and when matching fails there, it is one `intel.match` job on its own queue,
and triage stands. Every alert is matched either way. Both databases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from tests.integration.conftest import Api
from tests.integration.test_intel import BAD_IP, alertmanager, bundle, indicator, ok, setup, work
from warroom.alerts.models import Alert
from warroom.intel.actions import MATCH_KIND
from warroom.intel.models import Feed, Sighting
from warroom.jobs.models import Job


async def text_feed(api: Api, tmp_path: Path, **extra: object) -> None:
    (tmp_path / "bad.txt").write_text(f"{BAD_IP}\n")
    feed = {"slug": "bad", "name": "Bad", "kind": "text", "url": (tmp_path / "bad.txt").as_uri(),
            "options": {"type": "ip"}, **extra}  # fmt: skip
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api)  # polls it


async def match_jobs(api: Api) -> list[tuple[str, str | None]]:
    async with api.context.db.read() as session:
        rows = await session.execute(select(Job.state, Job.last_error).where(Job.kind == MATCH_KIND))
        return [(state, error) for state, error in rows.all()]


async def sighted(api: Api) -> list[str]:
    async with api.context.db.read() as session:
        query = select(Alert.title).join(Sighting, Sighting.alert_id == Alert.id).order_by(Sighting.id)
        return list(await session.scalars(query))


async def test_once_the_index_is_held_triage_matches_in_place(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    await text_feed(api, tmp_path, raise_to="critical")
    await alertmanager(api, key, BAD_IP, "First")
    await work(api)  # the indicators changed since the index was read (never): a job reads it
    assert await match_jobs(api) == [("done", None)]
    await alertmanager(api, key, BAD_IP, "Second")
    await alertmanager(api, key, "192.0.2.200", "Clean")
    await work(api)
    assert await match_jobs(api) == [("done", None)]  # no second job: matched with triage
    assert [title.split()[0] for title in await sighted(api)] == ["First", "Second"]
    items = (await ok(await api.viewer.get("/api/v1/alerts")))["items"]
    severities = {alert["title"].split()[0]: alert["severity"] for alert in items}
    assert severities == {"First": "critical", "Second": "critical", "Clean": "warning"}  # the feed's rule


async def test_alerts_carrying_no_observable_need_no_index_and_no_match_job(api: Api, tmp_path: Path) -> None:
    """The index is never read for them (nothing to match), so asking for a held index first would queue a
    match job for every such triage group, forever. An alert that does carry one is still matched."""
    key = await setup(api)
    await text_feed(api, tmp_path, raise_to="critical")
    body = {"version": "4", "status": "firing", "receiver": "warroom", "groupKey": "disk", "alerts": [
        {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "warning"},
         "annotations": {"summary": "the disk is nearly full"}, "startsAt": api.clock.now().isoformat(),
         "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "fp-disk"}]}  # fmt: skip
    await ok(await api.anonymous.post(f"/intake/alertmanager/{key}", json=body), 202)
    await work(api)
    assert await match_jobs(api) == []
    await alertmanager(api, key, BAD_IP, "Bad")
    await work(api)
    assert await match_jobs(api) == [("done", None)]  # the index read for it
    assert [title.split()[0] for title in await sighted(api)] == ["Bad"]


async def test_a_pattern_indicator_sends_matching_to_its_queue(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    pattern = indicator(f"[ipv4-addr:value = '{BAD_IP}'] AND [domain-name:value = 'c2.example']")
    url = bundle(tmp_path / "patterns.json", pattern)
    await ok(await api.admin.post("/api/v1/intel/feeds", json={"slug": "p", "name": "P", "kind": "stix",
                                                                "url": url}), 201)  # fmt: skip
    await work(api)
    for name in ("First", "Second"):
        await alertmanager(api, key, BAD_IP, name)
        await work(api)
    assert await match_jobs(api) == [("done", None), ("done", None)]


async def test_a_match_that_fails_in_triage_is_queued_and_triage_stands(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    await text_feed(api, tmp_path, declare_type="security")
    await alertmanager(api, key, "192.0.2.200", "Warm-up")
    await work(api)  # the index is held from here on
    async with api.context.db.write() as session:  # a severity the API would refuse: the declaration fails
        await session.execute(update(Feed).values(declare_severity="P9"))
        await session.commit()
    await alertmanager(api, key, BAD_IP, "Beacon")
    await work(api, rounds=1)
    async with api.context.db.read() as session:
        beacon = await session.scalar(select(Alert).where(Alert.title.like("Beacon%")))
    assert beacon is not None and beacon.triaged and beacon.incident_id is None
    (warm_up, failed) = await match_jobs(api)
    assert warm_up == ("done", None) and failed[0] == "pending" and "P9" in (failed[1] or "")

"""Threat intelligence on both databases (issue #16): feeds (a STIX 2.1 bundle file, a CSV list, a text
list, a MISP feed served from a local folder) polled by the worker; an Alertmanager alert whose labels carry
a known-bad IP opens a restricted incident with the feed's playbook; an expired indicator stops matching; a
new indicator's retro-hunt finds last week's alert and tells the team; a hunt by hand; the incident's IOCs
exported as a STIX bundle the `stix2` parser reads back, TLP:RED held back without an override."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import stix2
from sqlalchemy import event, select, text

from tests.fakes.http import serving
from tests.integration.conftest import Api
from warroom.alerts.models import Alert
from warroom.intel.actions import MATCH_KIND
from warroom.intel.index import signature
from warroom.intel.models import AlertObservable, Sighting
from warroom.intel.poll import MATCH_QUEUE
from warroom.jobs.models import Job
from warroom.jobs.service import JobSpec, enqueue
from warroom.notify.models import OutgoingMessage
from warroom.wiring import FeedPolls, new_worker

KEPT = (AlertObservable.alert_id, AlertObservable.type, AlertObservable.value)
BAD_IP, OLD_IP, LISTED = "203.0.113.66", "198.51.100.7", "evil.example"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


SINCE = "2026-01-01T00:00:00Z"  # before the tests' clock (tests.conftest.START)


def indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": SINCE,
        "modified": SINCE,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": SINCE,
        **extra,
    }


def bundle(path: Path, *objects: dict[str, Any]) -> str:
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}))
    return path.as_uri()


async def work(api: Api, rounds: int = 3) -> None:
    """The worker until nothing is left: polls, triage, matching and hunts chain into one another."""
    worker = new_worker(api.context, periodic=())
    for _ in range(rounds):
        await FeedPolls().run(api.context, api.clock.now())
        await worker.run_once()


async def alertmanager(api: Api, key: str, ip: str, name: str) -> None:
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "warroom",
        "groupKey": name,
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, "severity": "warning", "src_ip": ip},
                "annotations": {"summary": f"{name} from {ip}"},
                "startsAt": api.clock.now().isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"fp-{name}",
            }
        ],
    }
    await ok(await api.anonymous.post(f"/intake/alertmanager/{key}", json=body), 202)


async def setup(api: Api) -> str:
    await ok(await api.admin.post("/api/v1/services", json={"slug": "fileshare", "name": "File share"}), 201)
    made = await ok(
        await api.admin.post("/api/v1/integrations", json={"kind": "alertmanager", "service": "fileshare"}),
        201,
    )
    return str(made["key"])


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local folder served over HTTP (a MISP feed's manifest.json and event files)."""
    root = tmp_path / "misp"
    root.mkdir()

    class Files(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: Any) -> None:
            return None

    with serving(Files) as server:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"


async def test_a_known_bad_ip_in_an_alert_opens_a_security_incident(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    expired = api.clock.now() - timedelta(days=1)
    url = bundle(
        tmp_path / "feed.json",
        indicator(
            f"[ipv4-addr:value = '{BAD_IP}']", name="Ransomware C2", object_marking_refs=[stix2.TLP_RED.id]
        ),
        indicator(
            "[ipv4-addr:value = '192.0.2.99']",
            name="Old C2",
            valid_until=expired.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ),
        indicator("[ipv4-addr:value = '10.9.9.9' AND ipv4-addr:value != '10.9.9.8']", name="Pattern only"),
        indicator("[not a pattern"),
    )
    feed = {
        "slug": "c2",
        "name": "C2 servers",
        "kind": "stix",
        "url": url,
        "raise_to": "critical",
        "declare_type": "ransomware",
        "declare_severity": "P1",
    }
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {"added": 3, "updated": 0, "rejected": 1}, state["last_error"]
    assert state["indicators"] == 3
    assert "rejected" in (state["last_error"] or "") and state["last_success_at"] is not None

    await alertmanager(api, key, BAD_IP, "EncryptionBurst")
    await alertmanager(api, key, "192.0.2.99", "OldServer")  # its indicator expired yesterday
    await alertmanager(api, key, "10.9.9.9", "PatternOnly")  # only the STIX matcher can decide this one
    await work(api)
    alerts = {a["title"]: a for a in (await ok(await api.admin.get("/api/v1/alerts")))["items"]}
    bad = next(a for t, a in alerts.items() if t.startswith("EncryptionBurst"))
    assert bad["severity"] == "critical" and bad["incident"] is not None
    incident = await ok(await api.admin.get(f"/api/v1/incidents/{bad['incident']}"))
    assert (incident["type"], incident["severity"], incident["restricted"]) == ("ransomware", "P1", True)
    steps = (await ok(await api.admin.get(f"/api/v1/incidents/{bad['incident']}/playbook")))["playbook"]
    assert steps == "ransomware"
    observables = await ok(await api.admin.get(f"/api/v1/incidents/{bad['incident']}/observables"))
    marked = next(o for o in observables if o["value"] == BAD_IP)
    assert marked["ioc"] is True and marked["sighted"] is True
    timeline = await ok(await api.admin.get(f"/api/v1/incidents/{bad['incident']}/timeline"))
    assert any(e["kind"] == "intel_match" and e["data"]["value"] == BAD_IP for e in timeline)
    old = next(a for t, a in alerts.items() if t.startswith("OldServer"))
    assert old["severity"] == "warning" and old["incident"] is None  # expired: no match
    pattern = next(a for t, a in alerts.items() if t.startswith("PatternOnly"))
    assert pattern["incident"] is not None  # the pattern matched through stix2-matcher
    sightings = await ok(await api.viewer.get("/api/v1/intel/sightings"))
    assert {s["matched"] for s in sightings} >= {BAD_IP, "10.9.9.9"} and "192.0.2.99" not in {
        s["matched"] for s in sightings
    }

    exported = await api.admin.get(f"/api/v1/incidents/{bad['incident']}/iocs.stix.json")
    assert exported.status_code == 200 and exported.headers["x-held-back"] == "0"
    # the observable came from the alert at the incident's TLP (amber): it may leave
    parsed = stix2.parse(exported.text, allow_custom=False)
    patterns = [o.pattern for o in parsed.objects if o.type == "indicator"]
    assert f"[ipv4-addr:value = '{BAD_IP}']" in patterns
    await ok(
        await api.admin.patch(
            f"/api/v1/incidents/{bad['incident']}/observables/{marked['id']}", json={"tlp": "red"}
        )
    )
    held = await api.admin.get(f"/api/v1/incidents/{bad['incident']}/iocs.stix.json")
    assert held.headers["x-held-back"] == "1" and BAD_IP not in held.text
    forced = await api.admin.get(
        f"/api/v1/incidents/{bad['incident']}/iocs.stix.json", params={"override_tlp": "true"}
    )
    assert BAD_IP in forced.text
    misp = await ok(
        await api.admin.get(
            f"/api/v1/incidents/{bad['incident']}/iocs.misp.json", params={"override_tlp": "true"}
        )
    )
    assert misp["Event"]["Attribute"][0]["value"] == BAD_IP
    assert (
        await api.stakeholder.get(f"/api/v1/incidents/{bad['incident']}/iocs.stix.json")
    ).status_code == 403


async def test_a_new_indicator_finds_last_weeks_alert(api: Api, tmp_path: Path) -> None:
    key = await setup(api)
    await ok(
        await api.admin.post(
            "/api/v1/teams", json={"slug": "secops", "name": "SecOps", "members": [api.emails["responder"]]}
        ),
        201,
    )
    await ok(
        await api.responder.post("/api/v1/me/contact-methods", json={"kind": "log", "address": "secops"}), 201
    )
    api.clock.advance(timedelta(days=-7))
    await alertmanager(api, key, OLD_IP, "Beacon")
    await work(api)  # matched against nothing, but what it carried is kept for hunts
    api.clock.advance(timedelta(days=7))
    listed = tmp_path / "list.csv"
    listed.write_text(f"indicator,type\n{OLD_IP},ip\n{LISTED},domain\nnot-a-thing,\n")
    feed = {"slug": "list", "name": "Blocklist", "kind": "csv", "url": listed.as_uri(), "team": "secops"}
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {"added": 2, "updated": 0, "rejected": 1}
    async with api.context.db.read() as session:
        found = list(await session.scalars(select(Sighting).where(Sighting.via == "hunt")))
        told = list(
            await session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.idempotency_key.like("intel:%"))
            )
        )
    assert [s.matched for s in found] == [OLD_IP] and found[0].alert_id is not None
    assert len(told) == 1 and OLD_IP in told[0].body
    hunted = await ok(await api.responder.post("/api/v1/intel/hunt", json={"value": OLD_IP, "days": 30}))
    assert [r["where"] for r in hunted["by_surface"]["network"]] == [f"alert #{found[0].alert_id}"]
    assert (await api.viewer.post("/api/v1/intel/hunt", json={"value": OLD_IP})).status_code == 403
    await work(api)  # polled again later: nothing new, nothing told twice
    assert (await ok(await api.viewer.get("/api/v1/intel/feeds")))[0]["last_counts"]["added"] in (0, 2)


async def test_text_and_misp_feeds(api: Api, tmp_path: Path, folder: tuple[Path, str]) -> None:
    root, url = folder
    (root / "manifest.json").write_text(
        json.dumps({"5a0d2c3e-0000-4000-8000-000000000001": {"info": "Phish kit"}})
    )
    event = {
        "Event": {
            "info": "Phish kit",
            "Tag": [{"name": "tlp:green"}],
            "Attribute": [
                {"uuid": "a1", "type": "domain", "value": "login-examp1e.net", "to_ids": True},
                {"uuid": "a2", "type": "ip-dst", "value": "198.51.100.23", "to_ids": True},
                {"uuid": "a3", "type": "comment", "value": "not for detection", "to_ids": False},
            ],
        }
    }
    (root / "5a0d2c3e-0000-4000-8000-000000000001.json").write_text(json.dumps(event))
    text = tmp_path / "domains.txt"
    text.write_text("# bad domains\nevil.example\nwww.other-evil.example  # with a comment\n")
    await ok(
        await api.admin.post(
            "/api/v1/intel/feeds", json={"slug": "misp", "name": "MISP", "kind": "misp", "url": url}
        ),
        201,
    )
    await ok(
        await api.admin.post(
            "/api/v1/intel/feeds",
            json={
                "slug": "txt",
                "name": "Text",
                "kind": "text",
                "url": text.as_uri(),
                "options": {"type": "domain"},
            },
        ),
        201,
    )
    await work(api, 1)
    states = {f["slug"]: f for f in await ok(await api.viewer.get("/api/v1/intel/feeds"))}
    assert states["misp"]["last_counts"]["added"] == 2 and states["txt"]["last_counts"]["added"] == 2
    found = await ok(await api.viewer.get("/api/v1/intel/indicators", params={"feed": "misp"}))
    assert {(i["type"], i["value"], i["tlp"]) for i in found} == {
        ("domain", "login-examp1e.net", "green"),
        ("ip", "198.51.100.23", "green"),
    }
    broken = {"slug": "gone", "name": "Gone", "kind": "stix", "url": (tmp_path / "missing.json").as_uri()}
    await ok(await api.admin.post("/api/v1/intel/feeds", json=broken), 201)
    await work(api, 1)
    gone = next(f for f in await ok(await api.viewer.get("/api/v1/intel/feeds")) if f["slug"] == "gone")
    assert "cannot read" in gone["last_error"] and gone["indicators"] == 0 and gone["last_success_at"] is None
    assert (await api.responder.post("/api/v1/intel/feeds", json={**broken, "slug": "x"})).status_code == 403


async def test_a_taxii_collection_is_polled_for_what_is_new(api: Api, tmp_path: Path) -> None:
    from tests.fakes.taxii import PASSWORD, USER, running_taxii

    with running_taxii(tmp_path) as taxii:
        taxii.publish(indicator("[ipv4-addr:value = '192.0.2.10']", name="first"))
        feed = {
            "slug": "taxii",
            "name": "Trust group",
            "kind": "taxii",
            "url": taxii.url,
            "options": {"user": USER, "password": PASSWORD},
        }
        await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
        await work(api, 1)
        (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
        assert state["last_counts"] == {"added": 1, "updated": 0, "rejected": 0}, state["last_error"]
        taxii.publish(indicator("[domain-name:value = 'c2.example']", name="second"))
        await ok(await api.admin.post("/api/v1/intel/feeds/taxii/poll"), 202)
        await work(api, 1)
        (again,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
        # Only what was added since the first poll came back: one new indicator, nothing re-read.
        assert again["last_counts"] == {"added": 1, "updated": 0, "rejected": 0}, again["last_error"]
        assert again["indicators"] == 2
        await ok(await api.admin.post("/api/v1/intel/feeds/taxii/poll"), 202)
        await work(api, 1)
        (third,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
        assert third["last_counts"] == {"added": 0, "updated": 0, "rejected": 0}


async def test_the_intel_page_shows_feeds_sightings_and_hunts(api: Api, tmp_path: Path) -> None:
    from tests.integration.web_helpers import open_web, text_of

    key = await setup(api)
    url = bundle(tmp_path / "feed.json", indicator(f"[ipv4-addr:value = '{BAD_IP}']", name="C2 server"))
    await ok(
        await api.admin.post(
            "/api/v1/intel/feeds", json={"slug": "c2", "name": "C2", "kind": "stix", "url": url}
        ),
        201,
    )
    await work(api, 1)
    await alertmanager(api, key, BAD_IP, "Beacon")
    await work(api)
    async with open_web(api) as web:
        page = text_of((await web["viewer"].client.get("/intel")).text)
        assert "C2 1 indicator" in page and "last poll: 1 added, 0 updated, 0 rejected" in page
        assert f"{BAD_IP} C2 server arrival" in page
        hunted = text_of((await web["viewer"].client.get("/intel", params={"q": BAD_IP})).text)
        assert f"ip {BAD_IP} : seen 1 time in 90 days." in hunted
        bad = text_of((await web["viewer"].client.get("/intel", params={"q": "~~~"})).text)
        assert "cannot tell what this is" in bad
        assert (await web["stakeholder"].client.get("/intel")).status_code == 403


async def test_a_known_exploited_cve_in_a_services_software_is_a_task_for_its_team(
    api: Api, tmp_path: Path
) -> None:
    team = {"slug": "storage", "name": "Storage", "members": [api.emails["responder"]]}
    await ok(await api.admin.post("/api/v1/teams", json=team), 201)
    await ok(
        await api.responder.post("/api/v1/me/contact-methods", json={"kind": "log", "address": "storage"}),
        201,
    )
    service = {"slug": "fileshare", "name": "File share", "team": "storage"}
    await ok(await api.admin.post("/api/v1/services", json=service), 201)
    declared = {"software": [{"name": "OpenSSL", "version": "3.0.1"}, {"name": "nginx", "version": "1.25.3"}]}
    assert await ok(await api.admin.put("/api/v1/intel/software/fileshare", json=declared)) == []
    kev = tmp_path / "kev.csv"
    kev.write_text(
        "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,"
        "knownRansomwareCampaignUse\n"
        "CVE-2026-0001,OpenSSL,OpenSSL,OpenSSL heap overflow,2026-01-01,Heap overflow in TLS,Update,"
        "2026-03-20,Known\n"
        "CVE-2026-0002,Apache,httpd,httpd flaw,2026-01-01,Path traversal,Update,2026-03-21,Unknown\n"
        "not-a-cve,Nobody,thing,,,,,,\n"
    )
    feed = {
        "slug": "kev",
        "name": "Known exploited",
        "kind": "cve",
        "url": kev.as_uri(),
        "options": {"known_exploited": True},
    }
    await ok(await api.admin.post("/api/v1/intel/feeds", json=feed), 201)
    await work(api, 1)
    (state,) = await ok(await api.viewer.get("/api/v1/intel/feeds"))
    assert state["last_counts"] == {"added": 2, "updated": 0, "rejected": 1, "findings": 1}, state[
        "last_error"
    ]
    (finding,) = await ok(await api.viewer.get("/api/v1/intel/vulnerabilities"))
    assert (finding["cve"], finding["service"], finding["team"], finding["software"]) == (
        "CVE-2026-0001",
        "fileshare",
        "storage",
        "openssl 3.0.1",
    )
    assert (finding["exploited"], finding["ransomware"], finding["due_on"]) == (True, True, "2026-03-20")
    async with api.context.db.read() as session:
        told = list(
            await session.scalars(
                select(OutgoingMessage).where(OutgoingMessage.idempotency_key.like("intel:vuln:%"))
            )
        )
    assert len(told) == 1 and "CVE-2026-0001 in File share" in told[0].subject

    generic = tmp_path / "cves.csv"
    generic.write_text(
        "cve,product,versions,severity\nCVE-2026-0003,nginx,1.25.1;1.25.2,critical\nCVE-2026-0004,nginx,,high\n"
    )
    await ok(
        await api.admin.post(
            "/api/v1/intel/feeds",
            json={"slug": "cves", "name": "CVEs", "kind": "cve", "url": generic.as_uri()},
        ),
        201,
    )
    await work(api, 1)
    open_now = {f["cve"]: f for f in await ok(await api.viewer.get("/api/v1/intel/vulnerabilities"))}
    assert set(open_now) == {"CVE-2026-0001", "CVE-2026-0004"}  # 1.25.3 is not among 0003's versions
    assert open_now["CVE-2026-0004"]["due_on"] == (api.clock.now() + timedelta(days=30)).date().isoformat()
    done = await ok(
        await api.responder.patch(f"/api/v1/intel/vulnerabilities/{finding['id']}", json={"status": "done"})
    )
    assert done["status"] == "done"
    assert {f["cve"] for f in await ok(await api.viewer.get("/api/v1/intel/vulnerabilities"))} == {
        "CVE-2026-0004"
    }
    assert (await api.responder.put("/api/v1/intel/software/fileshare", json=declared)).status_code == 403
    assert (await api.stakeholder.get("/api/v1/intel/vulnerabilities")).status_code == 403
    rewritten = {"software": [{"name": "httpd", "version": "2.4.58"}]}  # declared later: matched at once
    made = await ok(await api.admin.put("/api/v1/intel/software/fileshare", json=rewritten))
    assert [f["cve"] for f in made] == ["CVE-2026-0002"]


async def test_what_an_alert_carried_is_kept_once_however_often_it_is_matched(api: Api) -> None:
    key = await setup(api)
    await alertmanager(api, key, OLD_IP, "Beacon")
    await alertmanager(api, key, OLD_IP, "Scan")  # the same address on a second alert: kept for each
    await work(api)
    async with api.context.db.write() as session:
        ids = sorted(await session.scalars(select(Alert.id)))
        once = sorted(tuple(row) for row in await session.execute(select(*KEPT)))
        again = JobSpec(MATCH_KIND, {"alert_ids": ids}, queue=MATCH_QUEUE)  # a retried match, say
        job_id = (await enqueue(session=session, spec=again, now=api.clock.now())).id
        await session.commit()
    await work(api, rounds=1)
    async with api.context.db.read() as session:
        twice = sorted(tuple(row) for row in await session.execute(select(*KEPT)))
        matched = await session.scalar(select(Job.state).where(Job.id == job_id))
    assert len(ids) == 2 and {(i, "ip", OLD_IP) for i in ids} <= set(once)
    assert (matched, twice) == ("done", once)  # not refused by the unique constraint and rolled back


async def test_a_deleted_feeds_indicators_stop_matching_and_a_new_feeds_start(
    api: Api, tmp_path: Path
) -> None:
    """A feed deleted with its indicators (an older feed's: the newest indicator stays the same, so the
    worker's index is kept) stops matching, and a new feed's match, without counting the indicators
    (intel.index.signature)."""
    key = await setup(api)
    for slug, ip in (("older", BAD_IP), ("newer", OLD_IP)):
        (tmp_path / f"{slug}.txt").write_text(f"{ip}\n")
        feed = {"slug": slug, "name": slug, "kind": "text", "url": (tmp_path / f"{slug}.txt").as_uri()}
        await ok(await api.admin.post("/api/v1/intel/feeds", json={**feed, "options": {"type": "ip"}}), 201)
        await work(api)
        api.clock.advance(timedelta(minutes=1))
    await alertmanager(api, key, BAD_IP, "First")
    await work(api)
    assert await _sighted(api) == [("First", BAD_IP)]

    assert (await api.admin.delete("/api/v1/intel/feeds/older")).status_code == 204
    await alertmanager(api, key, BAD_IP, "Second")
    await alertmanager(api, key, OLD_IP, "Third")
    await work(api)
    assert await _sighted(api) == [("Third", OLD_IP)]  # the older feed's sighting went with it

    api.clock.advance(timedelta(minutes=1))
    (tmp_path / "again.txt").write_text("192.0.2.44\n")
    again = {"slug": "again", "name": "again", "kind": "text", "url": (tmp_path / "again.txt").as_uri()}
    await ok(await api.admin.post("/api/v1/intel/feeds", json={**again, "options": {"type": "ip"}}), 201)
    await work(api)
    await alertmanager(api, key, "192.0.2.44", "Fourth")
    await work(api)
    assert await _sighted(api) == [("Third", OLD_IP), ("Fourth", "192.0.2.44")]
    async with api.context.db.read() as session:
        matches = list(await session.scalars(select(Job.state).where(Job.kind == MATCH_KIND)))
    assert matches and set(matches) == {"done"}


async def _sighted(api: Api) -> list[tuple[str, str]]:
    async with api.context.db.read() as session:
        rows = await session.execute(
            select(Alert.title, Sighting.matched)
            .join(Alert, Alert.id == Sighting.alert_id)
            .order_by(Sighting.id)
        )
        return [(title.split(" ")[0], matched) for title, matched in rows.all()]


async def test_the_index_knows_whether_indicators_changed_without_reading_them(api: Api) -> None:
    """At 20,000 indicators never analysed, the signature's statements read no table whole (PostgreSQL)."""
    if api.context.db.dialect != "postgresql":
        pytest.skip("the plan is PostgreSQL's; SQLite's max() of an indexed column reads the index's end too")
    await ok(
        await api.admin.post(
            "/api/v1/intel/feeds",
            json={"slug": "big", "name": "Big", "kind": "text", "url": "file:///nowhere"},
        ),
        201,
    )
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    async with api.context.db.write() as session:
        await session.execute(
            text(
                "INSERT INTO intel_indicators (feed_id, source_ref, type, value, name, confidence, tlp,"
                " revoked, kill_chain_phases, labels, created_at, updated_at)"
                " SELECT f.id, 'ref-' || g, 'ipv4',"
                " '10.0.' || (g / 250) || '.' || (g % 250), 'n', 50, 'amber', false, '[]', '[]', now(), now()"
                " FROM intel_feeds f, generate_series(1, 20000) g"
            )
        )
        await session.commit()
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", keep)
        try:
            found = await signature(session)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        assert found[1] is not None and len(found) == 2  # the latest update and the highest id
        assert len(statements) == 1 and not any(parameters for _, parameters in statements)
        for statement, _ in statements:
            lines = "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {statement}")))
            assert "Seq Scan on intel_indicators" not in lines, lines

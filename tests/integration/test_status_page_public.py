"""The public pages on both databases: nothing internal ever shows (title, notes, responders, roles, drafts),
the pages are plain HTML under the app's security headers with no session, the history and Atom feed list
what was published, and the uptime bars follow the status history."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from tests.integration.conftest import Api
from tests.integration.status_helpers import board, ok, publish

ATOM = "{http://www.w3.org/2005/Atom}"
JSON_ENDPOINTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)


async def test_nothing_internal_reaches_the_public(api: Api) -> None:
    b = await board(api)
    body = {"email": "zelda@test.warroom", "name": "Zelda Quartermaine", "role": "responder"}
    await ok(await api.admin.post("/api/v1/users", json=body), 201)
    made = {
        "title": "Internal title: shard 7 of pgbouncer",
        "severity": "P2",
        "summary": "Internal summary walrus",
        "customer_impact": "Internal impact okapi",
    }
    incident = await ok(await api.responder.post("/api/v1/incidents", json=made), 201)
    ref = incident["ref"]
    for role, who in (
        ("incident_commander", "zelda@test.warroom"),
        ("communications_lead", api.emails["responder"]),
    ):
        await ok(await api.responder.post(f"/api/v1/incidents/{ref}/roles", json={"role": role, "user": who}))
    for audience, text in (
        ("internal", "Internal note: the failover script is broken"),
        ("stakeholder", "Stakeholder note: finance is aware"),
    ):
        await ok(
            await api.responder.post(
                f"/api/v1/incidents/{ref}/updates", json={"audience": audience, "body": text}
            ),
            201,
        )
    shown = await publish(
        api, "Checkout is slow", [{"id": b.web_component, "status": "degraded_performance"}], incident=ref
    )
    draft = await publish(
        api, "Draft title capybara", [{"id": b.search_component, "status": "major_outage"}], publish=False
    )
    secrets = [
        made["title"],
        made["summary"],
        made["customer_impact"],
        "Zelda",
        "Quartermaine",
        "zelda@test.warroom",
        api.emails["responder"],
        "Incident commander",
        "incident_commander",
        "Communications lead",
        "communications_lead",
        "failover script",
        "finance is aware",
        "Draft title capybara",
        "We are looking into Draft",
        ref,
        "pgbouncer",
    ]
    pages = [
        "/status",
        "/status/history",
        f"/status/incidents/{shown['id']}",
        f"/status/incidents/{draft['id']}",
        "/status/history.atom",
        *(f"/status/api/v2/{p}" for p in JSON_ENDPOINTS),
    ]
    for path in pages:
        response = await api.anonymous.get(path)
        assert response.status_code == (404 if path.endswith(f"/{draft['id']}") else 200), path
        for secret in secrets:
            assert secret not in response.text, (path, secret)
    assert "Checkout is slow" in (await api.anonymous.get("/status")).text
    summary = (await api.anonymous.get("/status/api/v2/summary.json")).json()
    assert {c["name"]: c["status"] for c in summary["components"]}["Search"] == "operational"  # the draft's


async def test_pages_are_plain_public_html(api: Api) -> None:
    b = await board(api)
    api.clock.advance(timedelta(hours=9))
    item = await publish(api, "Search errors", [{"id": b.search_component, "status": "major_outage"}])
    api.clock.advance(timedelta(hours=1))
    page = await api.anonymous.get("/status")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    html = page.text
    assert "<script" not in html and 'class="nav"' not in html and "Sign out" not in html
    assert "Partial System Outage" not in html and "Major Service Outage" in html  # the banner
    assert 'href="/status/history.atom"' in html and 'type="application/atom+xml"' in html
    assert html.count('class="bar ') == 3 * 90  # 90 days of bars per component
    assert 'aria-label="Search: 90.00% uptime over 90 days"' in html  # down 1 hour of its 10
    assert 'aria-label="API: 100.00% uptime over 90 days"' in html
    assert "Search errors" in html and "No incidents reported." in html  # today has one; other days none
    detail = await api.anonymous.get(f"/status/incidents/{item['id']}")
    assert "We are looking into Search errors." in detail.text and "Affects Search" in detail.text
    assert (await api.anonymous.get("/status/incidents/9999")).status_code == 404

    api.clock.advance(timedelta(days=20))
    await ok(
        await api.responder.post(
            f"/api/v1/status-page/incidents/{item['id']}/updates",
            json={"status": "resolved", "body": "Fixed."},
        ),
        201,
    )
    assert "Search errors" not in (await api.anonymous.get("/status")).text  # older than 14 days
    history = await api.anonymous.get("/status/history")
    assert "Search errors" in history.text and "March 2026" in history.text
    feed = await api.anonymous.get("/status/history.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}id") is not None
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Search errors"
    assert entry.findtext(f"{ATOM}id") == f"http://127.0.0.1:8080/status/incidents/{item['id']}"
    assert (entry.findtext(f"{ATOM}updated") or "").startswith("2026-03-22")
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "Fixed." in (content.text or "") and "We are looking into Search errors." in (content.text or "")


async def test_the_demo_shows_a_status_page_with_history(api: Api) -> None:
    await api.load_demo()
    summary = (await api.anonymous.get("/status/api/v2/summary.json")).json()
    groups = [c["name"] for c in summary["components"] if c["group"]]
    assert groups == ["Shop", "Platform"] and summary["status"]["indicator"] == "none"
    assert [m["name"] for m in summary["scheduled_maintenances"]] == ["Search index rebuild"]
    incidents = (await api.anonymous.get("/status/api/v2/incidents.json")).json()["incidents"]
    checkout = next(i for i in incidents if i["name"] == "Checkout errors")
    assert checkout["status"] == "resolved" and len(checkout["incident_updates"]) == 4
    html = (await api.anonymous.get("/status")).text
    for tone in (
        "major_outage",
        "partial_outage",
        "degraded_performance",
        "under_maintenance",
        "operational",
    ):
        assert f'class="bar tone-{tone}"' in html, tone
    assert "Checkout errors" in html  # six days ago: among the past incidents
    assert 'aria-label="Checkout: 99.9' in html

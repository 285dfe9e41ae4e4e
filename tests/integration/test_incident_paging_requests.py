"""Paging someone into an incident and escalating to its commander by hand (issue #14, item 7): through
the API on both databases, the real worker and the `log` channel; exactly once per request."""

from __future__ import annotations

from typing import Any

import structlog

from tests.integration.conftest import Api
from tests.integration.restricted_helpers import declare_security
from warroom.jobs.worker import Worker
from warroom.wiring import new_worker


async def _log_contacts(api: Api) -> None:
    for role in ("responder", "viewer", "admin"):
        method = await api.clients[role].post(
            "/api/v1/me/contact-methods", json={"kind": "log", "address": api.emails[role]}
        )
        assert method.status_code == 201, method.text


async def _pages(worker: Worker) -> list[str]:
    with structlog.testing.capture_logs() as logged:
        for _ in range(3):
            await worker.run_once()
    return sorted(line["to"] for line in logged if line["event"] == "PAGE")


async def _declare(api: Api, role: str = "responder") -> str:
    body = {"title": "Checkout down", "severity": "P4", "type": "outage"}
    declared = await api.clients[role].post("/api/v1/incidents", json=body)
    assert declared.status_code == 201, declared.text
    return str(declared.json()["ref"])


async def _requested(api: Api, ref: str) -> list[dict[str, Any]]:
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    return [e for e in timeline if e["kind"] == "page_requested"]


async def test_a_responder_pages_a_user_into_the_incident_once_per_request(api: Api) -> None:
    await _log_contacts(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api)
    await _pages(worker)  # whatever the declaration itself paged
    body = {"kind": "user", "ref": api.emails["viewer"], "reason": "need the  DBA\n now"}
    headers = {"Idempotency-Key": "one"}
    for _ in range(2):  # a retried request pages once
        sent = await api.responder.post(f"/api/v1/incidents/{ref}/page", json=body, headers=headers)
        assert sent.status_code == 202, sent.text
        assert sent.json() == {"paged": f"user:{api.emails['viewer']}"}
    assert await _pages(worker) == [api.emails["viewer"]]
    again = await api.responder.post(f"/api/v1/incidents/{ref}/page", json=body)  # a new request pages again
    assert again.status_code == 202, again.text
    assert await _pages(worker) == [api.emails["viewer"]]
    events = await _requested(api, ref)
    assert len(events) == 3  # each request is on the timeline, with who and why (normalised)
    assert events[0]["data"]["reason"] == "need the DBA now"
    assert events[0]["actor"] == api.emails["responder"]


async def test_escalating_pages_the_current_commander(api: Api) -> None:
    await _log_contacts(api)
    worker = new_worker(api.context, periodic=())
    ref = await _declare(api)
    refused = await api.responder.post(f"/api/v1/incidents/{ref}/escalate", json={"reason": "need a call"})
    assert refused.status_code == 422 and "no commander" in refused.text
    role = {"role": "incident_commander", "user": api.emails["admin"]}
    assigned = await api.responder.post(f"/api/v1/incidents/{ref}/roles", json=role)
    assert assigned.status_code == 200, assigned.text
    await _pages(worker)
    sent = await api.responder.post(f"/api/v1/incidents/{ref}/escalate", json={"reason": "need a call"})
    assert sent.status_code == 202, sent.text
    assert await _pages(worker) == [api.emails["admin"]]


async def test_viewers_and_stakeholders_cannot_page_and_bad_targets_are_refused(api: Api) -> None:
    ref = await _declare(api)
    body = {"kind": "user", "ref": api.emails["viewer"], "reason": "x"}
    for role in ("viewer", "stakeholder"):
        refused = await api.clients[role].post(f"/api/v1/incidents/{ref}/page", json=body)
        assert refused.status_code in (403, 404), refused.text
        refused = await api.clients[role].post(f"/api/v1/incidents/{ref}/escalate", json={"reason": "x"})
        assert refused.status_code in (403, 404), refused.text
    unknown = {"kind": "user", "ref": "nobody@example.org", "reason": "x"}
    bad = await api.responder.post(f"/api/v1/incidents/{ref}/page", json=unknown)
    assert bad.status_code == 422 and "nobody@example.org" in bad.text
    assert await _requested(api, ref) == []


async def test_paging_a_user_into_a_restricted_incident_makes_them_a_participant(api: Api) -> None:
    ref = await declare_security(api)
    hidden = await api.responder.get(f"/api/v1/incidents/{ref}")
    assert hidden.status_code == 404
    refused = await api.responder.post(
        f"/api/v1/incidents/{ref}/page", json={"kind": "user", "ref": api.emails["viewer"], "reason": "x"}
    )
    assert refused.status_code == 404  # a non-participant cannot page into it, nor learn it exists
    body = {"kind": "user", "ref": api.emails["responder"], "reason": "need forensics"}
    sent = await api.admin.post(f"/api/v1/incidents/{ref}/page", json=body)
    assert sent.status_code == 202, sent.text
    shown = await api.responder.get(f"/api/v1/incidents/{ref}")
    assert shown.status_code == 200, shown.text


async def test_the_incident_page_pages_someone_in_and_escalates(api: Api) -> None:
    from tests.integration.web_helpers import open_web, text_of

    made = await api.admin.post("/api/v1/incidents", json={"title": "Replica lag", "severity": "P3"})
    ref = made.json()["ref"]
    async with open_web(api) as web:
        no_commander = await web["responder"].post(
            f"/incidents/{ref}/escalate", {"reason": "decide failover"}
        )
        assert no_commander.status_code == 422 and "no commander to escalate to" in text_of(no_commander.text)
        paged = await web["responder"].post(
            f"/incidents/{ref}/page",
            {"kind": "user", "target": api.emails["admin"], "reason": "check replicas"},
        )
        assert paged.status_code == 303
        refused = await web["responder"].post(
            f"/incidents/{ref}/page", {"kind": "team", "target": "nope", "reason": "x"}
        )
        assert refused.status_code == 422 and "no team 'nope'" in text_of(refused.text)
        assert (await web["viewer"].post(f"/incidents/{ref}/escalate", {"reason": "x"})).status_code == 403
    timeline = (await api.admin.get(f"/api/v1/incidents/{ref}/timeline")).json()
    assert [e["data"]["target"] for e in timeline if e["kind"] == "page_requested"] == [
        f"user:{api.emails['admin']}"
    ]

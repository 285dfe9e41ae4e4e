"""Anyone signed in reports a problem (issue #14, item 8): a triage incident at the lowest severity, the
service's on-call paged, the reporter told what happens next; bad input refused; floods refused."""

from __future__ import annotations

import structlog

from tests.integration.conftest import Api
from warroom.wiring import new_worker


async def _service_with_on_call(api: Api) -> None:
    method = await api.responder.post(
        "/api/v1/me/contact-methods", json={"kind": "log", "address": api.emails["responder"]}
    )
    assert method.status_code == 201, method.text
    made = await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    assert made.status_code == 201, made.text
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    policy = {
        "slug": "checkout-oncall",
        "name": "Checkout on call",
        "services": ["checkout"],
        "steps": [step],
    }
    created = await api.admin.post("/api/v1/escalation-policies", json=policy)
    assert created.status_code == 201, created.text


async def test_a_stakeholder_reports_a_problem_and_the_on_call_is_paged(api: Api) -> None:
    await _service_with_on_call(api)
    body = {"what": "the site\x00 is  down", "service": "checkout", "seeing": "502 on checkout"}
    sent = await api.stakeholder.post("/api/v1/reports", json=body)
    assert sent.status_code == 201, sent.text
    answer = sent.json()
    assert answer["ref"].startswith("INC-") and answer["paged"] == "policy:checkout-oncall"
    assert "response target" in answer["next"]
    incident = (await api.admin.get(f"/api/v1/incidents/{answer['ref']}")).json()
    severities = api.context.procedure.procedure.severities
    assert incident["severity"] == answer["severity"] == severities[-1].id
    assert incident["title"] == "Reported: the site is down"
    worker = new_worker(api.context, periodic=())
    with structlog.testing.capture_logs() as logged:
        for _ in range(3):
            await worker.run_once()
    assert [line["to"] for line in logged if line["event"] == "PAGE"] == [api.emails["responder"]]


async def test_a_bad_report_is_refused_and_opens_nothing(api: Api) -> None:
    await _service_with_on_call(api)
    for body in ({"what": "down", "service": "nope"}, {"what": "  ", "service": "checkout"}):
        refused = await api.stakeholder.post("/api/v1/reports", json=body)
        assert refused.status_code == 422, refused.text
    assert (await api.admin.get("/api/v1/incidents")).json()["items"] == []
    assert (
        await api.anonymous.post("/api/v1/reports", json={"what": "x", "service": "checkout"})
    ).status_code == 401


async def test_a_stakeholder_cannot_flood_reports(api: Api) -> None:
    await _service_with_on_call(api)
    codes = [
        (
            await api.stakeholder.post("/api/v1/reports", json={"what": f"down {i}", "service": "checkout"})
        ).status_code
        for i in range(12)
    ]
    assert codes[0] == 201 and codes[-1] == 422

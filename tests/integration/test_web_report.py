"""Reporting a problem from the browser (issue #14, item 8): a stakeholder finds it in the navigation, says
what is wrong, and is told the incident, who was paged and what happens next; bad input is refused with the
form kept. Both databases."""

from __future__ import annotations

from tests.integration.conftest import Api
from tests.integration.web_helpers import field_error, open_web, text_of


async def test_a_stakeholder_reports_a_problem_and_is_told_what_happens_next(api: Api) -> None:
    assert (
        await api.admin.post("/api/v1/services", json={"slug": "checkout", "name": "Checkout"})
    ).status_code == 201
    step = {"delay_seconds": 0, "targets": [{"type": "user", "ref": api.emails["responder"]}]}
    policy = {"slug": "checkout-oncall", "name": "Checkout", "services": ["checkout"], "steps": [step]}
    assert (await api.admin.post("/api/v1/escalation-policies", json=policy)).status_code == 201
    async with open_web(api) as web:
        stakeholder = web["stakeholder"]
        assert 'href="/report"' in (await stakeholder.client.get("/")).text
        assert 'href="/report"' not in (await web["responder"].client.get("/")).text  # they have Declare
        empty = await stakeholder.post("/report", {"what": " ", "service": "checkout"})
        assert empty.status_code == 422 and field_error(empty.text, "report-what")
        unknown = await stakeholder.post("/report", {"what": "The site is down", "service": "nope"})
        assert unknown.status_code == 422 and "The site is down" in unknown.text
        done = await stakeholder.post(
            "/report", {"what": "The site is down", "service": "checkout", "seeing": "502"}
        )
        assert done.status_code == 200, text_of(done.text)[:600]
        said = text_of(done.text)
    listed = (await api.admin.get("/api/v1/incidents")).json()["items"]
    assert [(i["title"], i["severity"], i["services"]) for i in listed] == [
        ("Reported: The site is down", "P4", ["checkout"])
    ]
    ref = listed[0]["ref"]
    assert f"Thank you: it is {ref}" in said and "has been paged" in said

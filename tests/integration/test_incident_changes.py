"""Change events on incidents (issue #14, item 9): a deploy sent as a PagerDuty change event shortly before
an outage shows on the incident (API and page) and in its drafted review; one from long before does not; a
change arriving while the incident is open lands on its timeline. Both databases."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import START
from tests.integration.conftest import Api, fill_required_roles
from tests.integration.restricted_helpers import declare_security
from tests.integration.test_intake import integration
from tests.integration.web_helpers import open_web, text_of


async def _change(api: Api, key: str, summary: str, hours: float) -> None:
    at = (START + timedelta(hours=hours)).isoformat()
    change = {"routing_key": key, "payload": {"summary": summary, "source": "ci", "timestamp": at}}
    answer = await api.anonymous.post("/v2/change/enqueue", json=change)
    assert answer.status_code == 202, answer.text


async def test_a_deploy_before_the_outage_shows_on_the_incident_and_in_its_review(api: Api) -> None:
    key = (await integration(api, "pagerduty"))["key"]
    await _change(api, key, "Deployed v41", -6)  # outside the 4 h before impact
    await _change(api, key, "Deployed v42", -0.5)
    api.clock.advance(timedelta(minutes=20))
    body = {"title": "Checkout 502s", "severity": "P3", "services": ["checkout"],
            "impact_started_at": (START + timedelta(minutes=5)).isoformat()}  # fmt: skip
    ref = (await api.responder.post("/api/v1/incidents", json=body)).json()["ref"]
    changes = (await api.viewer.get(f"/api/v1/incidents/{ref}/changes")).json()
    assert [(c["summary"], c["service"], c["source"]) for c in changes] == [
        ("Deployed v42", "checkout", "ci")
    ]
    api.clock.advance(timedelta(minutes=10))
    await _change(api, key, "Feature flag new-checkout off", 25 / 60)  # while the incident is open
    timeline = (await api.viewer.get(f"/api/v1/incidents/{ref}/timeline")).json()
    arrived = [e for e in timeline if e["kind"] == "change_arrived"]
    assert [e["data"]["summary"] for e in arrived] == ["Feature flag new-checkout off"]
    async with open_web(api) as web:
        page = text_of((await web["viewer"].client.get(f"/incidents/{ref}")).text)
    assert "Recent changes" in page and "checkout Deployed v42" in page and "Deployed v41" not in page
    assert "Change: Feature flag new-checkout off" in page
    await fill_required_roles(api, ref)
    assert (
        await api.responder.post(f"/api/v1/incidents/{ref}/resolve", json={"reason": "rolled back"})
    ).status_code == 200
    review = (await api.viewer.get(f"/api/v1/incidents/{ref}/review")).json()
    factors = review["contributing_factors"]
    assert any("Deployed v42" in f for f in factors) and any("new-checkout off" in f for f in factors)
    assert not any("v41" in f for f in factors)


async def test_outsiders_get_404_on_a_restricted_incidents_changes(api: Api) -> None:
    ref = await declare_security(api)
    assert (await api.responder.get(f"/api/v1/incidents/{ref}/changes")).status_code == 404
    assert (await api.admin.get(f"/api/v1/incidents/{ref}/changes")).json() == []
